// smtpkit: the whole public API. Each layer is also published on its own subpath.
export * from './protocol/index.ts'
export * from './sasl/index.ts'
export * from './client/index.ts'
export * from './dkim/index.ts'
export * from './server/index.ts'
export * from './message/index.ts'
export * from './catcher/index.ts'
// sendMail and Pool that also take compose's fields, in place of smtpkit/client's bytes-only ones.
export { Pool, sendMail, type ComposeRequest, type MailRequest } from './mailer/index.ts'
