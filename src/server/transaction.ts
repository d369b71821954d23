import { needsSmtpUtf8, parsePath, splitPathAndParams } from '../protocol/address.ts'
import { CrlfNormalizer, DotDecoder } from '../protocol/dot-stuffing.ts'
import { ProtocolError, SmtpError } from '../protocol/errors.ts'
import { extensionsForMailParams, parseMailParams, parseRcptParams, type MailParams, type RcptParams } from '../protocol/params.ts'
import type { ReadStop } from './byte-reader.ts'
import type { Connection, Transaction } from './connection.ts'
import type { Deadline } from './deadline.ts'
import { MessageStream } from './message-stream.ts'
import { bareLineEndingError, longLineError, nulError, TextBodyCheck } from './text-body-check.ts'
import type { DataResult, Envelope } from './session.ts'

function tooBig(): SmtpError {
  return new SmtpError(552, '5.3.4', 'Message size exceeds fixed maximum message size')
}

/**
 * After a DATA message has failed, the rest of it is read and thrown away up to the terminator
 * so that the reply lines up with the client's next command. This caps that: once the body goes
 * past twice `maxMessageBytes` plus this margin, the connection is closed with `421` instead.
 */
const DISCARD_MARGIN_BYTES = 64 * 1024

// A SIZE parameter of 16 to 20 digits (RFC 1870 §3), which may not fit a double exactly.
const LONG_SIZE = /(?:^| )SIZE=(\d{16,20})(?: |$)/i

/**
 * One message on its way to `Session.data()`: the stream, the hook's promise, and the failure
 * (if any) that decides the reply whatever the hook returns.
 */
export class Delivery {
  readonly stream = new MessageStream()
  /** Octets received so far (BDAT: declared chunk sizes read). */
  bytes = 0
  #failure: Error | undefined
  readonly #timeoutMs: number
  readonly #deadline: Deadline
  readonly #hook: Promise<{ ok: true; value: DataResult } | { ok: false; error: SmtpError }>

  constructor(conn: Connection, envelope: Envelope) {
    const { session } = conn
    this.#timeoutMs = conn.options.limits.dataTimeoutMs
    this.#deadline = conn.deadline
    const hook = session.data
    if (hook) {
      // An error we destroyed the stream with, coming back out of the hook, is not the hook's fault.
      const isOurs = (error: unknown): boolean =>
        this.#failure !== undefined && (error === this.#failure || (error as { cause?: unknown } | null)?.cause === this.#failure)
      this.#hook = conn.runHook(() => hook.call(session, this.stream, envelope), isOurs)
      void this.#hook.then(() => this.stream.drain())
    } else {
      this.stream.drain()
      this.#hook = Promise.resolve({ ok: true, value: undefined })
    }
  }

  /**
   * For a BDAT message that is not BINARYMIME: the content rules its chunks are held to, and the
   * normaliser of bare line endings when `insecureAcceptBareLineEndings` lets them through.
   */
  text: { readonly check: TextBodyCheck; readonly normalizer: CrlfNormalizer | undefined } | undefined

  /** The error that ended delivery early (size, bare line ending, abort), if any. */
  get failure(): Error | undefined {
    return this.#failure
  }

  /**
   * Passes body bytes on without waiting; ignored after a failure. False when the consumer is
   * behind: the caller passes on the rest of what it read, then waits for {@link Delivery.demand}
   * once, before it reads more.
   */
  push(chunk: Buffer): boolean {
    if (this.#failure !== undefined || chunk.length === 0) return true
    return this.stream.write(chunk)
  }

  /**
   * Waits until the consumer wants more. False when it read nothing for `limits.dataTimeoutMs`:
   * the socket is not being read meanwhile, so this is the only place that timeout can fire.
   */
  demand(): Promise<boolean> {
    return this.stream.demand(this.#timeoutMs, this.#deadline)
  }

  /** {@link Delivery.push} for BDAT: holds the bytes to the content rules of {@link Delivery.text} first. */
  pushChunkPart(chunk: Buffer): boolean {
    const text = this.text
    if (text === undefined || this.#failure !== undefined) return this.push(chunk)
    text.check.scan(chunk)
    const failure = text.check.failure(text.normalizer !== undefined)
    if (failure) {
      this.abort(failure)
      return true
    }
    return this.push(text.normalizer ? text.normalizer.encode(chunk) : chunk)
  }

  /** The last BDAT chunk has been read: a final bare CR, and the normaliser's final CRLF. */
  endText(): boolean {
    const text = this.text
    if (text === undefined || this.#failure !== undefined) return true
    text.check.end()
    const failure = text.check.failure(text.normalizer !== undefined)
    if (failure) {
      this.abort(failure)
      return true
    }
    return text.normalizer ? this.push(text.normalizer.end()) : true
  }

  /** Ends delivery with `error`: the stream is destroyed with it, and nothing is delivered. */
  abort(error: Error): void {
    if (this.#failure !== undefined) return
    this.#failure = error
    this.stream.destroy(error)
  }

  /**
   * Ends the stream (unless it failed) and waits for the hook to settle; with `timeoutMs`, gives
   * up waiting after that long with `'timeout'` (the hook is still running then).
   */
  finish(timeoutMs?: number): Promise<{ ok: true; value: DataResult } | { ok: false; error: SmtpError } | 'timeout'> {
    if (this.#failure === undefined) this.stream.finish()
    if (timeoutMs === undefined) return this.#hook
    // The connection's shared timer, not one of our own: this wait comes once per message.
    const deadline = this.#deadline
    return new Promise((resolve) => {
      const onTimeout = (): void => resolve('timeout')
      deadline.start(timeoutMs, onTimeout)
      void this.#hook.then((result) => {
        deadline.stop(onTimeout)
        resolve(result)
      })
    })
  }
}

/**
 * Drops the transaction (if any), failing a BDAT message in progress, and tells the session.
 * Returns to `ready`, or to `greeting` before EHLO. For RSET, EHLO/HELO, STARTTLS and closing.
 */
export async function resetTransaction(conn: Connection): Promise<void> {
  const tx = conn.transaction
  conn.transaction = null
  if (!tx) return
  tx.bdat?.abort(new SmtpError(451, '4.3.0', 'Transaction abandoned'))
  const { reset } = conn.session
  if (reset) {
    const result = await conn.runHook(() => reset.call(conn.session))
    if (!result.ok && result.error.code !== 451) conn.debugLine(`reset hook refused: ${result.error.message}`)
  }
}

function envelopeOf(tx: Transaction, isBdat: boolean): Envelope {
  return Object.freeze({
    from: tx.from,
    mailParams: tx.mailParams,
    recipients: Object.freeze([...tx.recipients]),
    bodyType: tx.bodyType,
    smtpUtf8: tx.smtpUtf8,
    isBdat,
  })
}

// RFC 5321 §4.1.1.2 has no space after the colon; enough clients send one that we allow it.
function afterKeyword(args: string, keyword: string): string | undefined {
  if (args.length < keyword.length || (!args.startsWith(keyword) && args.slice(0, keyword.length).toUpperCase() !== keyword)) return undefined
  let start = keyword.length
  while (args.charCodeAt(start) === 0x20) start++
  return args.slice(start)
}

// RFC 5321 §2.2.1: a parameter is allowed only when the last EHLO advertised its extension.
function isOffered(conn: Connection, extension: string): boolean {
  return conn.advertised.has(extension)
}

function parseOrReply<T>(conn: Connection, parse: () => T): T | undefined {
  try {
    return parse()
  } catch (error) {
    if (error instanceof SmtpError) conn.replyError(error)
    else throw error
    return undefined
  }
}

// RFC 5321 §2.2.1 and §4.1.1.1: service extensions, and so their parameters, exist only after EHLO.
function refuseParamsAfterHelo(conn: Connection): void {
  conn.reply(555, '5.5.4', 'Parameters are not allowed after HELO; use EHLO')
}

/** MAIL FROM (RFC 5321 §4.1.1.2): starts a transaction. */
export async function mail(conn: Connection, args: string): Promise<void> {
  const { options } = conn
  const { limits } = options
  const rest = afterKeyword(args, 'FROM:')
  if (rest === undefined) return conn.reply(501, '5.5.4', 'Syntax: MAIL FROM:<address> [parameters]')
  let split: { path: string; params: string }
  try {
    split = splitPathAndParams(rest)
  } catch (error) {
    return conn.reply(501, '5.1.7', `Bad sender address syntax: ${(error as Error).message}`)
  }
  const hasParams = split.params !== ''
  if (hasParams && !conn.info.isEsmtp) return refuseParamsAfterHelo(conn)
  // RFC 1870 allows 20 digits, more than parseMailParams holds exactly: compare those exactly here
  // (leading zeros included, so SIZE=0000000000000100 is 100).
  const longSize = hasParams ? LONG_SIZE.exec(split.params) : null
  if (longSize && BigInt(longSize[1]!) > BigInt(options.limits.maxMessageBytes)) return conn.replyError(tooBig())
  let params = parseOrReply<MailParams>(conn, () => parseMailParams(split.params))
  if (!params) return
  // RFC 4954 §5: an AUTH= from a client we have not authenticated is an unverified claim about
  // who submitted the message; it is treated as AUTH=<>, so no hook or relay takes it for true.
  if (params.auth !== undefined && params.auth !== '<>' && conn.info.authenticatedAs === undefined) params = { ...params, auth: '<>' }
  const missing = hasParams ? extensionsForMailParams(params).find((extension) => !isOffered(conn, extension)) : undefined
  if (missing) return conn.reply(555, '5.5.4', `Parameter not supported: it needs ${missing}, which is not offered`)
  // RFC 1870 §6.1: refuse a declared size over the limit before any data is sent.
  if (params.size !== undefined && params.size > limits.maxMessageBytes) return conn.replyError(tooBig())
  const smtpUtf8 = params.smtpUtf8 === true
  // RFC 6531 §3.5: a UTF-8 address without the SMTPUTF8 parameter.
  if (!smtpUtf8 && needsSmtpUtf8(split.path)) return conn.reply(553, '5.6.7', 'Non-ASCII address requires the SMTPUTF8 parameter')
  let from: string
  try {
    from = parsePath(split.path, { allowNull: true, allowUtf8: smtpUtf8 }).address
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error
    return conn.reply(501, '5.1.7', `Bad sender address syntax: ${error.message}`)
  }
  if (conn.transactionCount >= limits.maxTransactionsPerConnection) {
    return conn.closeWith(421, '4.7.0', `${options.hostname} Error: too many messages in one connection`)
  }
  const hook = conn.session.mail
  if (hook) {
    const result = await conn.runHook(() => hook.call(conn.session, from, params))
    if (!result.ok) return conn.replyError(result.error)
  }
  conn.transactionCount++
  conn.transaction = { from, mailParams: params, recipients: [], bodyType: params.body ?? '7BIT', smtpUtf8, bdat: null }
  conn.reply(250, '2.1.0', 'Sender OK')
}

/** RCPT TO (RFC 5321 §4.1.1.3): adds a recipient. */
export async function rcpt(conn: Connection, args: string): Promise<void> {
  const tx = conn.transaction!
  const rest = afterKeyword(args, 'TO:')
  if (rest === undefined) return conn.reply(501, '5.5.4', 'Syntax: RCPT TO:<address> [parameters]')
  let split: { path: string; params: string }
  try {
    split = splitPathAndParams(rest)
  } catch (error) {
    return conn.reply(501, '5.1.3', `Bad recipient address syntax: ${(error as Error).message}`)
  }
  if (split.params !== '' && !conn.info.isEsmtp) return refuseParamsAfterHelo(conn)
  const params = parseOrReply<RcptParams>(conn, () => parseRcptParams(split.params))
  if (!params) return
  if ((params.notify !== undefined || params.orcpt !== undefined) && !isOffered(conn, 'DSN')) {
    return conn.reply(555, '5.5.4', 'Parameter not supported: it needs DSN, which is not offered')
  }
  // RFC 5321 §4.5.3.1.10: 452 for too many recipients; the client may try the rest later.
  if (tx.recipients.length >= conn.options.limits.maxRecipients) return conn.reply(452, '4.5.3', 'Too many recipients')
  if (!tx.smtpUtf8 && needsSmtpUtf8(split.path)) return conn.reply(553, '5.6.7', 'Non-ASCII address requires the SMTPUTF8 parameter')
  let to: string
  try {
    to = parsePath(split.path, { allowPostmaster: true, allowUtf8: tx.smtpUtf8 }).address
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error
    return conn.reply(501, '5.1.3', `Bad recipient address syntax: ${error.message}`)
  }
  const hook = conn.session.rcpt
  if (hook) {
    const result = await conn.runHook(() => hook.call(conn.session, to, params))
    if (!result.ok) return conn.replyError(result.error)
  }
  tx.recipients.push(Object.freeze({ address: to, params }))
  conn.reply(250, '2.1.5', 'Recipient OK')
}

/**
 * DATA (RFC 5321 §4.1.1.4): `354`, then the body up to CRLF.CRLF, unstuffed and streamed to the
 * data hook. Only CRLF.CRLF ends it (the DotDecoder's rule); a bare LF or CR rejects the message
 * unless `insecureAcceptBareLineEndings`, which normalises them instead.
 */
export async function data(conn: Connection, args: string): Promise<void> {
  const tx = conn.transaction!
  const { options } = conn
  if (args !== '') return conn.reply(501, '5.5.4', 'Syntax: DATA (no parameters)')
  if (tx.bodyType === 'BINARYMIME') return conn.reply(503, '5.5.1', 'BODY=BINARYMIME requires BDAT (RFC 3030 §3)')
  conn.replyRaw(354, 'End data with <CR><LF>.<CR><LF>')
  const delivery = new Delivery(conn, envelopeOf(tx, false))
  conn.startData()
  const { maxMessageBytes, maxTextLineBytes } = options.limits
  const decoder = new DotDecoder({ maxLineBytes: maxTextLineBytes })
  const normalizer = options.insecureAcceptBareLineEndings ? new CrlfNormalizer() : undefined
  for (;;) {
    const chunk = await conn.readData()
    if (typeof chunk === 'string') return stopReading(conn, delivery, chunk)
    const { body, end } = decoder.decode(chunk)
    if (delivery.failure === undefined) {
      if (decoder.bytes > maxMessageBytes) delivery.abort(tooBig())
      else if (decoder.sawBareLineEnding && !normalizer) delivery.abort(bareLineEndingError())
      else if (decoder.sawLongLine) delivery.abort(longLineError(maxTextLineBytes))
      else if (hasNul(body)) delivery.abort(nulError('DATA cannot'))
      else {
        // Every part goes on, then one wait if the consumer is behind: not a promise per part
        // (a stuffed dot splits the chunk at each dotted line).
        let wanted = true
        for (const part of body) if (!delivery.push(normalizer ? normalizer.encode(part) : part)) wanted = false
        if (!wanted && !(await delivery.demand())) return stopReading(conn, delivery, 'timeout')
      }
    } else if (decoder.bytes > 2 * maxMessageBytes + DISCARD_MARGIN_BYTES) {
      return giveUpDiscarding(conn, delivery)
    }
    if (end !== -1) {
      conn.unreadData(chunk.subarray(end))
      break
    }
  }
  if (normalizer && !delivery.push(normalizer.end()) && !(await delivery.demand())) return stopReading(conn, delivery, 'timeout')
  await complete(conn, tx, delivery)
}

function hasNul(parts: readonly Buffer[]): boolean {
  for (const part of parts) if (part.includes(0)) return true
  return false
}

const BDAT_ARGS = /^(\d{1,20})(?: +(LAST))? *$/i

function parseBdatArgs(args: string): { size: number; last: boolean } | undefined {
  const match = BDAT_ARGS.exec(args)
  // Precision is lost past 2^53, but such a size is far beyond any maxMessageBytes anyway.
  return match ? { size: Number(match[1]), last: match[2] !== undefined } : undefined
}

/**
 * BDAT (RFC 3030): reads exactly the declared octets, streaming them to the data hook as they
 * arrive; nothing is allocated from the declared size. A chunk that would take the message over
 * `maxMessageBytes` is read and discarded, and the transaction fails with `552`; one declared
 * larger than `maxMessageBytes` by itself is not worth reading: `552`, then the connection closes.
 */
export async function bdat(conn: Connection, args: string): Promise<void> {
  const parsed = parseBdatArgs(args)
  // The chunk's length is unknown, so its bytes cannot be skipped: they will read as commands.
  if (!parsed) return conn.reply(501, '5.5.4', 'Syntax: BDAT <size> [LAST]')
  const tx = conn.transaction!
  const max = conn.options.limits.maxMessageBytes
  let delivery = tx.bdat
  if (!delivery) {
    delivery = tx.bdat = new Delivery(conn, envelopeOf(tx, true))
    // The same content rules as DATA, but for BINARYMIME (RFC 3030 §3), which may carry anything.
    if (tx.bodyType !== 'BINARYMIME') {
      delivery.text = {
        check: new TextBodyCheck(conn.options.limits.maxTextLineBytes),
        normalizer: conn.options.insecureAcceptBareLineEndings ? new CrlfNormalizer() : undefined,
      }
    }
  }
  if (delivery.failure === undefined && delivery.bytes + parsed.size > max) delivery.abort(tooBig())
  if (delivery.failure !== undefined && parsed.size > max) {
    // One command, one reply: the 552 (a 421 would have the client retry a message that can
    // never fit), then the connection closes, as the chunk cannot be skipped.
    await complete(conn, tx, delivery)
    return conn.close()
  }
  const stop = await readChunk(conn, parsed.size, delivery)
  if (stop) return stopReading(conn, delivery, stop)
  delivery.bytes += parsed.size
  if (parsed.last && !delivery.endText() && !(await delivery.demand())) return stopReading(conn, delivery, 'timeout')
  if (parsed.last || delivery.failure !== undefined) return complete(conn, tx, delivery)
  conn.reply(250, '2.0.0', `${parsed.size} octets received`)
}

/**
 * For a refused BDAT: reads and discards its chunk (RFC 3030 §2: the data must be consumed
 * whatever the reply). Says why it could not: a chunk larger than `maxMessageBytes` is not worth
 * reading, or the read stopped.
 */
export async function discardBdatChunk(conn: Connection, args: string): Promise<'done' | 'too-large' | ReadStop> {
  const parsed = parseBdatArgs(args)
  if (!parsed) return 'done'
  if (parsed.size > conn.options.limits.maxMessageBytes) return 'too-large'
  return (await readChunk(conn, parsed.size)) ?? 'done'
}

// Reads `size` octets into `delivery` (or throws them away without one); a delivery whose
// consumer stalls past the data timeout is a 'timeout'.
async function readChunk(conn: Connection, size: number, delivery?: Delivery): Promise<ReadStop | undefined> {
  let remaining = size
  conn.startData()
  while (remaining > 0) {
    const chunk = await conn.readData()
    if (typeof chunk === 'string') return chunk
    const take = Math.min(remaining, chunk.length)
    remaining -= take
    if (take < chunk.length) conn.unreadData(chunk.subarray(take))
    if (delivery && !delivery.pushChunkPart(take === chunk.length ? chunk : chunk.subarray(0, take)) && !(await delivery.demand())) return 'timeout'
  }
  return undefined
}

// RFC 5321 §3.8: closing the connection takes a 421; it keeps the reason the message failed.
async function giveUpDiscarding(conn: Connection, delivery: Delivery): Promise<void> {
  const failure = delivery.failure instanceof SmtpError ? delivery.failure : tooBig()
  const enhanced = failure.enhancedCode === undefined ? '4.3.0' : (`4${failure.enhancedCode.slice(1)}` as `4.${number}.${number}`)
  conn.closeWith(421, enhanced, `${conn.options.hostname} ${failure.lines.join(' ')}; closing connection`)
  await delivery.finish()
}

// The message cannot be finished: fail the stream, close, and let the data hook settle before
// the session hears of the reset and the close.
async function stopReading(conn: Connection, delivery: Delivery, why: ReadStop): Promise<void> {
  const { hostname } = conn.options
  if (why === 'timeout') {
    delivery.abort(new SmtpError(421, '4.4.2', `${hostname} Error: timeout exceeded`))
    conn.closeWith(421, '4.4.2', `${hostname} Error: timeout exceeded`)
  } else {
    delivery.abort(new ProtocolError('ERR_SMTP_CONNECTION_CLOSED', 'the client closed the connection before the end of the message'))
    conn.close()
  }
  await delivery.finish()
}

/**
 * End of message: waits for the data hook, sends the reply (LMTP: one per recipient, RFC 2033
 * §4.2), and ends the transaction. The reply follows both end-of-data and the hook settling.
 */
async function complete(conn: Connection, tx: Transaction, delivery: Delivery): Promise<void> {
  // RFC 5321 §4.5.3.2.6: the client waits 10 minutes for this reply; a hook that never settles
  // must not hold the connection past the data timeout either.
  const result = await delivery.finish(conn.options.limits.dataTimeoutMs)
  if (result === 'timeout') return stopReading(conn, delivery, 'timeout')
  const failure = delivery.failure instanceof SmtpError ? delivery.failure : undefined
  if (conn.transaction === tx) conn.transaction = null
  if (!conn.options.lmtp) {
    if (failure) return conn.replyError(failure)
    if (!result.ok) return conn.replyError(result.error)
    const value = result.value
    if (Array.isArray(value)) {
      const refused = value.find((item) => item !== undefined && typeof item !== 'string')
      if (refused !== undefined) return conn.replyError(conn.toReplyError(refused))
      return conn.reply(250, '2.0.0', 'Message accepted')
    }
    return conn.reply(250, '2.0.0', typeof value === 'string' ? value : 'Message accepted')
  }
  let reportedShort = false
  for (const [i, recipient] of tx.recipients.entries()) {
    let outcome: unknown
    if (failure) outcome = failure
    else if (!result.ok) outcome = result.error
    else if (Array.isArray(result.value)) {
      const list = result.value as readonly unknown[]
      if (i < list.length) outcome = list[i]
      else {
        if (!reportedShort) conn.reportError(new TypeError(`data hook returned ${list.length} results for ${tx.recipients.length} recipients`))
        reportedShort = true
        outcome = new SmtpError(451, '4.3.0', 'Local error in processing')
      }
    } else outcome = result.value
    if (outcome === undefined || typeof outcome === 'string') conn.reply(250, '2.0.0', `<${recipient.address}> ${outcome ?? 'Delivered'}`)
    else conn.replyError(conn.toReplyError(outcome))
  }
}
