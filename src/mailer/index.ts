// Where the client meets the composer: sendMail and Pool that also take compose's fields. The
// client layer itself takes bytes only (STYLE §2.2); this layer composes, then hands them on.
export type { ComposeRequest, MailRequest } from './compose-request.ts'
export { Pool } from './pool.ts'
export { sendMail } from './send-mail.ts'
