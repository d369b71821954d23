// smtpkit/client: the SMTP/LMTP client, step by step (Client) or in one call (sendMail).
export { Client } from './client.ts'
export { describeTlsError, type TlsMode, type TlsOptions, type TlsState } from './connect.ts'
export {
  clientDefaults,
  type AuthOption,
  type BdatOptions,
  type ClientOptions,
  type ClientTimeouts,
  type ConnectOptions,
  type PasswordAuth,
  type StepOptions,
} from './options.ts'
export { parseSmtpUrl, sendMail, type SendMailRequest, type SendMailResult } from './send-mail.ts'
export type { DataReply, LmtpRecipientReply, RecipientRejection, SendRequest, SendResult } from './transaction.ts'
