import { sendMail as sendBytes, type SendMailResult } from '../client/send-mail.ts'
import type { ConnectOptions } from '../client/options.ts'
import { composeRequest, type MailRequest } from './compose-request.ts'

/**
 * Sends one message in one call, as `sendMail` from smtpkit/client does, and also takes the
 * message as compose's fields, as nodemailer users write it:
 * `sendMail('smtp://127.0.0.1:2525', { from, to, subject, text })`.
 */
export function sendMail(server: ConnectOptions | string | URL, mail: MailRequest): Promise<SendMailResult> {
  let request
  try {
    request = composeRequest(mail)
  } catch (err) {
    return Promise.reject(err)
  }
  return sendBytes(server, request)
}
