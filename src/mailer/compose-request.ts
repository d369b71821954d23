import type { EnvelopedMessage, SendMailRequest } from '../client/envelope.ts'
import type { SendRequest } from '../client/transaction.ts'
import { compose, type MessageInput } from '../message/index.ts'

/**
 * A message given as compose's fields (`from`, `to`, `subject`, `text`, `html`, `attachments`,
 * ...: see `compose` in smtpkit/message) instead of `message`, with the send's own options. The
 * envelope is the message's: `from` and every `to`, `cc` and `bcc` address, unless `envelope`
 * says otherwise.
 */
export type ComposeRequest = MessageInput & {
  /** The envelope, when it differs from the headers (a bounce address, a list expansion). */
  readonly envelope?: { readonly from: string; readonly to: string | readonly string[] } | undefined
  readonly mailParams?: SendRequest['mailParams']
  readonly rcptParams?: SendRequest['rcptParams']
  readonly signal?: AbortSignal | undefined
  readonly onProgress?: SendRequest['onProgress']
}

/** What `sendMail` and `Pool.send` from `smtpkit` take: a request with `message`, a composed message, or compose's fields. */
export type MailRequest = SendMailRequest | EnvelopedMessage | ComposeRequest

/**
 * The request with its message composed when it came as compose's fields; anything with
 * `message`, or a message on its own, is returned as it is.
 */
export function composeRequest(mail: MailRequest): SendMailRequest | EnvelopedMessage {
  if (mail === null || typeof mail !== 'object' || 'message' in mail || typeof (mail as EnvelopedMessage).stream === 'function') {
    return mail as SendMailRequest | EnvelopedMessage
  }
  const { envelope, mailParams, rcptParams, signal, onProgress, ...fields } = mail as ComposeRequest
  const message = compose(fields)
  const { from, to } = envelope ?? message.envelope()
  return {
    from,
    to,
    message,
    ...(mailParams !== undefined ? { mailParams } : {}),
    ...(rcptParams !== undefined ? { rcptParams } : {}),
    ...(signal !== undefined ? { signal } : {}),
    ...(onProgress !== undefined ? { onProgress } : {}),
  }
}
