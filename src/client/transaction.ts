import { needsSmtpUtf8, toAsciiAddress } from '../protocol/address.ts'
import { ProtocolError, SmtpError } from '../protocol/errors.ts'
import type { Extensions } from '../protocol/extensions.ts'
import type { MessageSource, RereadableSource } from '../protocol/message-source.ts'
import { extensionsForMailParams, type MailParams, type RcptParams } from '../protocol/params.ts'
import { replyToError, type Reply } from '../protocol/reply.ts'
import { dataCommand, isRcptOk, mailCommand, rcptCommand } from './commands.ts'
import type { CommandSpec } from './connection.ts'
import { unsupported } from './errors.ts'
import type { ClientTimeouts } from './options.ts'

/** One message for {@link Client.send}. */
export interface SendRequest {
  /** The envelope sender (reverse-path); `''` for the null path `<>` of bounces. */
  readonly from: string
  /** The envelope recipients. At least one. */
  readonly to: string | readonly string[]
  /** The message, headers and body, with CRLF (bare LF is converted). */
  readonly message: MessageSource | RereadableSource
  /**
   * MAIL FROM parameters. SIZE (for a string or bytes), BODY=8BITMIME (when a string or bytes has
   * 8-bit octets, or a composed message says `eightBit`) and SMTPUTF8 (when an address needs it,
   * or a composed message says `smtpUtf8`) are added for you; give `body` yourself for an 8-bit stream. Each needs the server's extension, or the send fails before anything is
   * written with `ClientError('ERR_SMTP_UNSUPPORTED')`.
   */
  readonly mailParams?: MailParams | undefined
  /** RCPT TO parameters (DSN NOTIFY/ORCPT), for every recipient or chosen per recipient. */
  readonly rcptParams?: RcptParams | ((recipient: string) => RcptParams | undefined) | undefined
  readonly signal?: AbortSignal | undefined
  /**
   * Told how far the transaction got, for callers that retry on their own (the `Pool`
   * does): `'data'` when the message data is about to be read and written (after 354, or before
   * the first BDAT chunk): a failure from here on has consumed the source; `'sent'` when the end
   * of the data (`CRLF.CRLF` or `BDAT ... LAST`) is about to be written: from then on a lost reply
   * means the message may have been delivered, and sending it again may duplicate it. Called
   * synchronously on the write path; it must not throw.
   */
  readonly onProgress?: ((stage: SendStage) => void) | undefined
}

/** See {@link SendRequest.onProgress}. */
export type SendStage = 'data' | 'sent'

/** A recipient the server refused, with its reply. */
export interface RecipientRejection {
  readonly recipient: string
  readonly error: SmtpError
}

/** One recipient's reply to the end of the data in LMTP (RFC 2033 §4.2). */
export interface LmtpRecipientReply {
  readonly recipient: string
  readonly reply: Reply
  /** Set when the reply is a refusal. */
  readonly error?: SmtpError
}

/** The reply to the end of DATA/BDAT; in LMTP, with each recipient's own reply. */
export interface DataReply extends Reply {
  readonly recipients?: readonly LmtpRecipientReply[]
}

/** What {@link Client.send} resolves with. */
export interface SendResult {
  /** Recipients that got the message (in LMTP, those whose data reply was a success). */
  readonly accepted: string[]
  /** Recipients refused at RCPT or, in LMTP, after the data. */
  readonly rejected: RecipientRejection[]
  /** The reply to the end of the data, which usually carries the queue id. */
  readonly reply: Reply
  /** LMTP only: each accepted recipient's data reply. */
  readonly lmtp?: readonly LmtpRecipientReply[]
  /** Octets of the message read from the source. */
  readonly bytes: number
}

/** What {@link planTransaction} settles before anything is written. */
export interface TransactionPlan {
  /** The recipients as the caller spelled them, for the result. */
  readonly recipients: readonly string[]
  /** `MAIL FROM` and one `RCPT TO` per recipient, in order. */
  readonly mail: CommandSpec
  readonly rcpts: readonly CommandSpec[]
  /** The pipelined group (RFC 2920 §3.1): MAIL, each RCPT, and DATA unless BDAT is used. */
  readonly commands: readonly CommandSpec[]
  /** BDAT (CHUNKING, RFC 3030) rather than DATA. */
  readonly useBdat: boolean
  /** BODY=BINARYMIME: the body goes out as it is. */
  readonly binary: boolean
}

/** What {@link planTransaction} needs to know of the connection. */
export interface PlanContext {
  readonly extensions: Extensions
  readonly timeouts: ClientTimeouts
  /** `options.chunking` is not false. */
  readonly chunking: boolean
  readonly serverName: string | undefined
}

/**
 * Checks everything a send can check before writing and builds its envelope commands: addresses
 * (TypeError), SIZE against the server's limit (RFC 1870 §6), and the extensions the parameters
 * need (`ERR_SMTP_UNSUPPORTED`). Without SMTPUTF8, an internationalized domain still goes out, as
 * A-labels (RFC 5890); only a non-ASCII local part has no ASCII form.
 */
export function planTransaction(request: SendRequest, ctx: PlanContext): TransactionPlan {
  const { extensions, timeouts } = ctx
  const recipients = typeof request.to === 'string' ? [request.to] : [...request.to]
  if (recipients.length === 0) throw new TypeError('send needs at least one recipient')
  const server = ctx.serverName ?? 'the server'
  const from = onWire(request.from, extensions, server)
  const wireRecipients: string[] = []
  for (const recipient of recipients) wireRecipients.push(onWire(recipient, extensions, server))
  const params = mailParamsFor(request, from, wireRecipients, extensions, server, ctx.chunking)
  const { rcptParams: given } = request
  const mail = mailCommand(from, params, timeouts.mail)
  const rcpts: CommandSpec[] = []
  const commands: CommandSpec[] = [mail]
  for (let i = 0; i < recipients.length; i++) {
    const rcptParams = (typeof given === 'function' ? given(recipients[i]!) : given) ?? NO_PARAMS
    if ((rcptParams.notify !== undefined || rcptParams.orcpt !== undefined) && !extensions.has('DSN')) {
      throw unsupported(`NOTIFY/ORCPT for ${recipients[i]!} need DSN (RFC 3461), which ${server} does not offer`)
    }
    const rcpt = rcptCommand(wireRecipients[i]!, rcptParams, timeouts.rcpt)
    rcpts.push(rcpt)
    commands.push(rcpt)
  }
  const useBdat = params.body === 'BINARYMIME' || (ctx.chunking && extensions.has('CHUNKING'))
  if (!useBdat) commands.push(dataCommand(timeouts.dataStart))
  return { recipients, mail, rcpts, commands, useBdat, binary: params.body === 'BINARYMIME' }
}

/**
 * `address` as it goes on the wire: as given, or with its domain as A-labels when the server
 * does not offer SMTPUTF8 (RFC 5890); an `ERR_SMTP_UNSUPPORTED` when its local part is not ASCII.
 */
function onWire(address: string, extensions: Extensions, server: string): string {
  if (extensions.has('SMTPUTF8') || !needsSmtpUtf8(address)) return address
  try {
    return toAsciiAddress(address)
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error
    throw unsupported(`the address ${address} has a non-ASCII local part, which needs SMTPUTF8 (RFC 6531), and ${server} does not offer it`)
  }
}

/**
 * The result of a transaction whose envelope was answered: the recipients split by their RCPT
 * replies (`replies` are the envelope's: MAIL's first, then each RCPT's), and the error to throw
 * when none was accepted (an AggregateError of every refusal).
 */
export function shapeRecipients(plan: TransactionPlan, replies: readonly (Reply | undefined)[], server: string): { accepted: string[]; rejected: RecipientRejection[]; error?: AggregateError } {
  const accepted: string[] = []
  const rejected: RecipientRejection[] = []
  for (let i = 0; i < plan.recipients.length; i++) {
    // replies[0] is MAIL's.
    const reply = replies[i + 1]!
    if (isRcptOk(reply)) accepted.push(plan.recipients[i]!)
    else rejected.push({ recipient: plan.recipients[i]!, error: replyToError(reply, plan.rcpts[i]!.display) })
  }
  if (accepted.length > 0) return { accepted, rejected }
  const errors = rejected.map((r) => r.error)
  return { accepted, rejected, error: new AggregateError(errors, `${server} refused every recipient: ${errors.map((e) => e.message).join('; ')}`) }
}

/** The send's result from the end-of-data reply (in LMTP, from each recipient's). */
export function shapeResult(accepted: string[], rejected: RecipientRejection[], final: DataReply, bytes: number): SendResult {
  if (!final.recipients) return { accepted, rejected, reply: final, bytes }
  const delivered = final.recipients.filter((r) => !r.error).map((r) => r.recipient)
  for (const r of final.recipients) if (r.error) rejected.push({ recipient: r.recipient, error: r.error })
  return { accepted: delivered, rejected, reply: final, lmtp: final.recipients, bytes }
}

/**
 * Waits for the replies to the end of the data. SMTP: the one reply, a refusal thrown as an
 * {@link SmtpError}. LMTP (`recipients` given): one reply per recipient, in RCPT order (RFC 2033
 * §4.2), returned in `recipients`; the call rejects with an AggregateError only when every
 * recipient was refused.
 */
export async function collectDataReplies(replies: readonly Promise<Reply>[], recipients: readonly string[] | undefined, verb: string): Promise<DataReply> {
  if (!recipients) {
    // One reply: awaited as it is, without a Promise.all around it.
    const reply = await replies[0]!
    if (reply.code !== 250) throw replyToError(reply, verb)
    return reply
  }
  const settled = await Promise.all(replies)
  const results: LmtpRecipientReply[] = recipients.map((recipient, i) => {
    const reply = settled[i]!
    return reply.code < 400 ? { recipient, reply } : { recipient, reply, error: replyToError(reply, `${verb} for <${recipient}>`) }
  })
  const first = results.find((r) => !r.error)
  if (!first) {
    const errors = results.map((r) => r.error!)
    throw new AggregateError(errors, `the message was refused for every recipient: ${errors.map((e) => e.message).join('; ')}`)
  }
  return { ...first.reply, recipients: results }
}

const NO_PARAMS: RcptParams = Object.freeze({})

function mailParamsFor(request: SendRequest, from: string, recipients: readonly string[], extensions: Extensions, server: string, chunking: boolean): MailParams {
  const params: { -readonly [K in keyof MailParams]: MailParams[K] } = { ...request.mailParams }
  // A composed message (smtpkit/message) says what it needs: UTF-8 headers, 8-bit parts.
  const composed = (typeof request.message === 'object' && request.message !== null ? request.message : undefined) as { smtpUtf8?: unknown; eightBit?: unknown } | undefined
  if (composed?.smtpUtf8 === true && params.smtpUtf8 === undefined) params.smtpUtf8 = true
  if (composed?.eightBit === true && params.body === undefined) params.body = '8BITMIME'
  // Still non-ASCII on the wire only when the server offers SMTPUTF8 (see planTransaction).
  if (needsSmtpUtf8(from) || recipients.some(needsSmtpUtf8)) params.smtpUtf8 = true
  const size = knownSize(request.message)
  if (size !== undefined) {
    const max = extensions.maxSize
    // RFC 1870 §6: refuse before sending rather than send a message the server will refuse.
    if (max !== undefined && max > 0 && size > max) {
      throw new SmtpError(552, '5.3.4', `message is ${size} octets, over the limit of ${max} octets that ${server} announced (SIZE ${max}); nothing was sent`)
    }
    if (params.size === undefined && extensions.has('SIZE')) params.size = size
    if (params.body === undefined && hasEightBit(request.message as string | Uint8Array, size)) params.body = '8BITMIME'
  }
  if (params.body === '8BITMIME' && !extensions.has('8BITMIME')) {
    throw unsupported(`the message has 8-bit octets (BODY=8BITMIME, RFC 6152), and ${server} does not offer 8BITMIME`)
  }
  if (params.body === 'BINARYMIME' && !(chunking && extensions.has('CHUNKING') && extensions.has('BINARYMIME'))) {
    throw unsupported(`BODY=BINARYMIME needs BINARYMIME and CHUNKING (RFC 3030), which ${server} does not offer or chunking is off`)
  }
  for (const keyword of extensionsForMailParams(params)) {
    if (keyword === 'BINARYMIME') continue
    if (!extensions.has(keyword)) throw unsupported(`the MAIL FROM parameters need ${keyword}, which ${server} does not offer`)
  }
  return params
}

function knownSize(message: MessageSource | RereadableSource): number | undefined {
  if (typeof message === 'string') return Buffer.byteLength(message, 'utf8')
  if (message instanceof Uint8Array) return message.length
  return undefined
}

function hasEightBit(message: string | Uint8Array, utf8Size: number): boolean {
  // Every character past U+007F takes more UTF-8 octets than UTF-16 units, so equal counts mean ASCII.
  if (typeof message === 'string') return utf8Size !== message.length
  for (let i = 0; i < message.length; i++) if (message[i]! >= 0x80) return true
  return false
}
