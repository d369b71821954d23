import { Pool as BytesPool, type PoolSendOptions } from '../client/pool.ts'
import type { SendResult } from '../client/transaction.ts'
import { composeRequest, type MailRequest } from './compose-request.ts'

/**
 * The Pool of smtpkit/client, whose `send` also takes the message as compose's fields
 * (`pool.send({ from, to, subject, text })`), as {@link sendMail} does.
 */
export class Pool extends BytesPool {
  override send(mail: MailRequest, options: PoolSendOptions = {}): Promise<SendResult> {
    let request
    try {
      request = composeRequest(mail)
    } catch (err) {
      return Promise.reject(err)
    }
    return super.send(request, options)
  }
}
