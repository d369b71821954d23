/**
 * smtpkit: what most applications need, from every layer: the client (Client, Pool, sendMail),
 * the server (Server and its session contract), the composer, DKIM, the SASL mechanisms, a test
 * inbox, and the errors with their codes. Each layer's full API is published on its own subpath
 * (`smtpkit/client`, `smtpkit/server`, `smtpkit/message`, `smtpkit/dkim`, `smtpkit/sasl`,
 * `smtpkit/catcher`); the wire layer for people building their own peers is `smtpkit/protocol`.
 *
 * Every name is listed on purpose, so internals never leak through `export *`; test/api.test.ts
 * compares this surface with a committed snapshot.
 */

// Errors, shared by both sides.
export { SmtpError, ProtocolError, type ProtocolErrorCode } from './protocol/errors.ts'
export type { EnhancedCode } from './protocol/enhanced-code.ts'
export type { Reply } from './protocol/reply.ts'
export type { Extensions } from './protocol/extensions.ts'
export type { MessageSource, RereadableSource } from './protocol/message-source.ts'
export type { MailParams, RcptParams, NotifyCondition } from './protocol/params.ts'

// Client.
export {
  Client,
  ClientError,
  parseSmtpUrl,
  verify,
  type AuthOption,
  type ClientErrorCode,
  type BdatOptions,
  type ClientOptions,
  type ClientTimeouts,
  type ConnectOptions,
  type DataReply,
  type EnvelopedMessage,
  type LmtpRecipientReply,
  type PasswordAuth,
  type PoolOptions,
  type PoolSendOptions,
  type RateLimit,
  type RecipientRejection,
  type SendMailRequest,
  type SendMailResult,
  type SendRequest,
  type SendResult,
  type SendStage,
  type SocketFactory,
  type StepOptions,
  type TlsMode,
  type TlsOptions,
  type TlsState,
  type VerifyResult,
} from './client/index.ts'
// sendMail and Pool that also take compose's fields, in place of smtpkit/client's bytes-only ones.
export { Pool, sendMail, type ComposeRequest, type MailRequest } from './mailer/index.ts'

// Server.
export {
  Server,
  type AuthHook,
  type ConnectionInfo,
  type DataResult,
  type Envelope,
  type EnvelopeRecipient,
  type HandleOptions,
  type ListenOptions,
  type ListenPathOptions,
  type RecipientResult,
  type ServerAuthMechanism,
  type ServerLimits,
  type ServerOptions,
  type Session,
  type TlsInfo,
} from './server/index.ts'

// Message composition and parsing.
export {
  compose,
  parseMessage,
  parseParts,
  safeFilename,
  MessageParseError,
  type MessagePart,
  type ParsedAttachment,
  type ParsedMessage,
  type ParseMessageOptions,
  type AddressInput,
  type AddressListInput,
  type Attachment,
  type HeaderEntry,
  type Message,
  type MessageEnvelope,
  type MessageInput,
} from './message/index.ts'

// DKIM.
export {
  dkimSign,
  dkimVerify,
  type DkimResult,
  type DkimSignOptions,
  type DkimStatus,
  type DkimVerifyOptions,
  type SignedMessage,
} from './dkim/index.ts'

// Catching mail in tests.
export {
  createTestInbox,
  type CaughtEnvelope,
  type CaughtMessage,
  type MessageMatch,
  type TestInbox,
  type TestInboxOptions,
} from './catcher/index.ts'

// SASL mechanisms and what a server's auth hook receives and returns.
export {
  plain,
  login,
  cramMd5,
  xoauth2,
  scramSha256,
  deriveScramCredentials,
  AuthenticationFailed,
  MalformedSaslMessage,
  type AuthRequest,
  type AuthResult,
  type ClientMechanism,
  type ScramCredentials,
  type ScramLookup,
} from './sasl/index.ts'
