import { isRereadable, type RereadableSource } from '../protocol/message-source.ts'
import type { SendRequest } from './transaction.ts'

/**
 * A send request whose envelope may be left out when `message` carries an `envelope()` (a
 * composed message); its `smtpUtf8` and `eightBit` flags, when present, set the SMTPUTF8 and
 * BODY=8BITMIME parameters.
 */
export interface SendMailRequest extends Omit<SendRequest, 'from' | 'to'> {
  readonly from?: string | undefined
  readonly to?: string | readonly string[] | undefined
}

/**
 * A message that knows its own envelope, such as one from `smtpkit/message`'s `compose()`: it can
 * be sent on its own.
 */
export interface EnvelopedMessage extends RereadableSource {
  envelope(): { readonly from: string; readonly to: readonly string[] }
}

/** True when `value` is a message with an `envelope()` given on its own, not a request. */
export function isEnvelopedMessage(value: SendMailRequest | EnvelopedMessage): value is EnvelopedMessage {
  return !('message' in value) && typeof (value as EnvelopedMessage).envelope === 'function' && isRereadable(value)
}

/**
 * The request with `from` and `to` filled in from the message's `envelope()` where they were left
 * out; a TypeError naming `where` when neither gives them.
 */
export function withEnvelope(request: SendMailRequest | EnvelopedMessage, where: string): SendRequest {
  const mail: SendMailRequest = isEnvelopedMessage(request) ? { message: request } : request
  if (mail.from !== undefined && mail.to !== undefined) return mail as SendRequest
  const composed = (typeof mail.message === 'object' && mail.message !== null ? mail.message : {}) as Partial<EnvelopedMessage>
  const envelope = typeof composed.envelope === 'function' ? composed.envelope() : undefined
  const from = mail.from ?? envelope?.from
  const to = mail.to ?? envelope?.to
  if (from === undefined || to === undefined) throw new TypeError(`${where} needs from and to, or a message with an envelope() (a composed message)`)
  return { ...mail, from, to }
}
