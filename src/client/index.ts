// smtpkit/client: the SMTP/LMTP client, step by step (Client), in one call (sendMail), or over reused connections (Pool).
export { Client } from './client.ts'
export { ClientError, type ClientErrorCode } from './errors.ts'
export { describeTlsError, type TlsMode, type TlsOptions, type TlsState } from './connect.ts'
export {
  clientDefaults,
  type AuthOption,
  type BdatOptions,
  type ClientOptions,
  type ClientTimeouts,
  type ConnectOptions,
  type PasswordAuth,
  type SocketFactory,
  type SocketFactoryOptions,
  type StepOptions,
} from './options.ts'
export { Pool, poolDefaults, type PoolOptions, type PoolSendOptions } from './pool.ts'
export type { RateLimit } from './rate-limiter.ts'
export type { EnvelopedMessage, SendMailRequest } from './envelope.ts'
export { parseSmtpUrl, sendMail, type SendMailResult } from './send-mail.ts'
export { verify, type VerifyResult } from './verify.ts'
export type { DataReply, LmtpRecipientReply, RecipientRejection, SendRequest, SendResult, SendStage } from './transaction.ts'
