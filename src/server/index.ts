// smtpkit/server: the SMTP and LMTP server, its session contract, limits and trace headers.
// Each name is listed on purpose; test/api.test.ts keeps the list.
export { Server, type HandleOptions, type ListenOptions, type ListenPathOptions } from './server.ts'
export type {
  AuthHook,
  ConnectionAddresses,
  ServerAuthMechanism,
  ServerAuthResult,
  ServerOptions,
} from './server-options.ts'
export type {
  ConnectionInfo,
  DataResult,
  Envelope,
  EnvelopeRecipient,
  RecipientResult,
  Session,
  TlsInfo,
} from './session.ts'
export {
  parseProxySslTlv,
  proxyTlvTypes,
  type ProxyHeader,
  type ProxyProtocolOptions,
  type ProxySslInfo,
  type ProxyTlv,
} from './proxy-protocol.ts'
export { serverLimitDefaults, type ServerLimits } from './limits.ts'
export {
  formatDateTime,
  formatReceivedHeader,
  formatReturnPathHeader,
  receivedProtocol,
  type ReceivedHeaderOptions,
} from './received-header.ts'
export { SmtpError } from '../protocol/errors.ts'
export type { MailParams, RcptParams, NotifyCondition } from '../protocol/params.ts'
export type { AuthRequest, AuthResult, ScramLookup, ScramCredentials } from '../sasl/index.ts'
