import { needsSmtpUtf8, parsePath, splitPathAndParams } from '../protocol/address.ts'
import { BdatDecoder, DotDecoder } from '../protocol/dot-stuffing.ts'
import { ProtocolError, SmtpError } from '../protocol/errors.ts'
import { extensionsForMailParams, parseMailParams, parseRcptParams, type MailParams, type RcptParams } from '../protocol/params.ts'
import type { ReadStop } from './byte-reader.ts'
import { bodyRuleFailure, tooBig } from './body-rules.ts'
import { Delivery, type DeliveryContext } from './delivery.ts'
import type { ConnectionState, Transaction, Wire } from './wire.ts'
import type { Envelope } from './session.ts'

/**
 * After a DATA message has failed, the rest of it is read and thrown away up to the terminator
 * so that the reply lines up with the client's next command. This caps that: once the body goes
 * past twice `maxMessageBytes` plus this margin, the connection is closed with `421` instead.
 */
const DISCARD_MARGIN_BYTES = 64 * 1024

// A SIZE parameter of 16 to 20 digits (RFC 1870 §3), which may not fit a double exactly.
const LONG_SIZE = /(?:^| )SIZE=(\d{16,20})(?: |$)/i

/**
 * Drops the transaction (if any), failing a BDAT message in progress, and tells the session.
 * Returns to `ready`, or to `greeting` before EHLO. For RSET, EHLO/HELO, STARTTLS and closing.
 */
export async function resetTransaction(wire: Wire, state: ConnectionState): Promise<void> {
  const tx = state.transaction
  state.transaction = null
  if (!tx) return
  tx.bdat?.abort(new SmtpError(451, '4.3.0', 'Transaction abandoned'))
  const { reset } = state.session
  if (reset) {
    const result = await wire.runHook(() => reset.call(state.session))
    if (!result.ok && result.error.code !== 451) wire.debugLine(`reset hook refused: ${result.error.message}`)
  }
}

function deliveryContext(wire: Wire, state: ConnectionState): DeliveryContext {
  return { session: state.session, timeoutMs: state.options.limits.dataTimeoutMs, deadline: wire.deadline, runHook: (call, isExpected) => wire.runHook(call, isExpected) }
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
function isOffered(wire: Wire, state: ConnectionState, extension: string): boolean {
  return state.advertised.has(extension)
}

function parseOrReply<T>(wire: Wire, parse: () => T): T | undefined {
  try {
    return parse()
  } catch (error) {
    if (error instanceof SmtpError) wire.replyError(error)
    else throw error
    return undefined
  }
}

// RFC 5321 §2.2.1 and §4.1.1.1: service extensions, and so their parameters, exist only after EHLO.
function refuseParamsAfterHelo(wire: Wire): void {
  wire.reply(555, '5.5.4', 'Parameters are not allowed after HELO; use EHLO')
}

/**
 * MAIL FROM (RFC 5321 §4.1.1.2): starts a transaction. Returns a promise only while a `mail` hook
 * runs, so a session without one costs no promise per command (nor does RCPT's).
 */
export function mail(wire: Wire, state: ConnectionState, args: string): void | Promise<void> {
  const { options } = state
  const { limits } = options
  const rest = afterKeyword(args, 'FROM:')
  if (rest === undefined) return wire.reply(501, '5.5.4', 'Syntax: MAIL FROM:<address> [parameters]')
  let split: { path: string; params: string }
  try {
    split = splitPathAndParams(rest)
  } catch (error) {
    return wire.reply(501, '5.1.7', `Bad sender address syntax: ${(error as Error).message}`)
  }
  const hasParams = split.params !== ''
  if (hasParams && !state.info.isEsmtp) return refuseParamsAfterHelo(wire)
  // RFC 1870 allows 20 digits, more than parseMailParams holds exactly: compare those exactly here
  // (leading zeros included, so SIZE=0000000000000100 is 100).
  const longSize = hasParams ? LONG_SIZE.exec(split.params) : null
  if (longSize && BigInt(longSize[1]!) > BigInt(options.limits.maxMessageBytes)) return wire.replyError(tooBig())
  let params = parseOrReply<MailParams>(wire, () => parseMailParams(split.params))
  if (!params) return
  // RFC 4954 §5: an AUTH= from a client we have not authenticated is an unverified claim about
  // who submitted the message; it is treated as AUTH=<>, so no hook or relay takes it for true.
  if (params.auth !== undefined && params.auth !== '<>' && state.info.authenticatedAs === undefined) params = { ...params, auth: '<>' }
  const missing = hasParams ? extensionsForMailParams(params).find((extension) => !isOffered(wire, state, extension)) : undefined
  if (missing) return wire.reply(555, '5.5.4', `Parameter not supported: it needs ${missing}, which is not offered`)
  // RFC 1870 §6.1: refuse a declared size over the limit before any data is sent.
  if (params.size !== undefined && params.size > limits.maxMessageBytes) return wire.replyError(tooBig())
  const smtpUtf8 = params.smtpUtf8 === true
  // RFC 6531 §3.5: a UTF-8 address without the SMTPUTF8 parameter.
  if (!smtpUtf8 && needsSmtpUtf8(split.path)) return wire.reply(553, '5.6.7', 'Non-ASCII address requires the SMTPUTF8 parameter')
  let from: string
  try {
    from = parsePath(split.path, { allowNull: true, allowUtf8: smtpUtf8 }).address
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error
    return wire.reply(501, '5.1.7', `Bad sender address syntax: ${error.message}`)
  }
  if (state.transactionCount >= limits.maxTransactionsPerConnection) {
    return wire.closeWith(421, '4.7.0', `${options.hostname} Error: too many messages in one connection`)
  }
  const hook = state.session.mail
  if (!hook) return startTransaction(wire, state, from, params, smtpUtf8)
  const accepted = params
  return wire.runHook(() => hook.call(state.session, from, accepted)).then((result) => {
    if (!result.ok) return wire.replyError(result.error)
    startTransaction(wire, state, from, accepted, smtpUtf8)
  })
}

function startTransaction(wire: Wire, state: ConnectionState, from: string, params: MailParams, smtpUtf8: boolean): void {
  state.transactionCount++
  state.transaction = { from, mailParams: params, recipients: [], bodyType: params.body ?? '7BIT', smtpUtf8, bdat: null }
  wire.reply(250, '2.1.0', 'Sender OK')
}

/** RCPT TO (RFC 5321 §4.1.1.3): adds a recipient. A promise only while a `rcpt` hook runs. */
export function rcpt(wire: Wire, state: ConnectionState, args: string): void | Promise<void> {
  const tx = state.transaction!
  const rest = afterKeyword(args, 'TO:')
  if (rest === undefined) return wire.reply(501, '5.5.4', 'Syntax: RCPT TO:<address> [parameters]')
  let split: { path: string; params: string }
  try {
    split = splitPathAndParams(rest)
  } catch (error) {
    return wire.reply(501, '5.1.3', `Bad recipient address syntax: ${(error as Error).message}`)
  }
  if (split.params !== '' && !state.info.isEsmtp) return refuseParamsAfterHelo(wire)
  const params = parseOrReply<RcptParams>(wire, () => parseRcptParams(split.params))
  if (!params) return
  if ((params.notify !== undefined || params.orcpt !== undefined) && !isOffered(wire, state, 'DSN')) {
    return wire.reply(555, '5.5.4', 'Parameter not supported: it needs DSN, which is not offered')
  }
  // RFC 5321 §4.5.3.1.10: 452 for too many recipients; the client may try the rest later.
  if (tx.recipients.length >= state.options.limits.maxRecipients) return wire.reply(452, '4.5.3', 'Too many recipients')
  if (!tx.smtpUtf8 && needsSmtpUtf8(split.path)) return wire.reply(553, '5.6.7', 'Non-ASCII address requires the SMTPUTF8 parameter')
  let to: string
  try {
    to = parsePath(split.path, { allowPostmaster: true, allowUtf8: tx.smtpUtf8 }).address
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error
    return wire.reply(501, '5.1.3', `Bad recipient address syntax: ${error.message}`)
  }
  const hook = state.session.rcpt
  if (!hook) return addRecipient(wire, tx, to, params)
  const address = to
  return wire.runHook(() => hook.call(state.session, address, params)).then((result) => {
    if (!result.ok) return wire.replyError(result.error)
    addRecipient(wire, tx, address, params)
  })
}

function addRecipient(wire: Wire, tx: Transaction, address: string, params: RcptParams): void {
  tx.recipients.push(Object.freeze({ address, params }))
  wire.reply(250, '2.1.5', 'Recipient OK')
}

/**
 * DATA (RFC 5321 §4.1.1.4): `354`, then the body up to CRLF.CRLF, unstuffed and streamed to the
 * data hook. Only CRLF.CRLF ends it (the DotDecoder's rule); a bare LF or CR rejects the message
 * unless `insecureAcceptBareLineEndings`, which normalises them instead.
 */
export async function data(wire: Wire, state: ConnectionState, args: string): Promise<void> {
  const tx = state.transaction!
  const { options } = state
  if (args !== '') return wire.reply(501, '5.5.4', 'Syntax: DATA (no parameters)')
  if (tx.bodyType === 'BINARYMIME') return wire.reply(503, '5.5.1', 'BODY=BINARYMIME requires BDAT (RFC 3030 §3)')
  wire.replyRaw(354, 'End data with <CR><LF>.<CR><LF>')
  const delivery = new Delivery(deliveryContext(wire, state), envelopeOf(tx, false))
  wire.startData()
  const { limits, insecureAcceptBareLineEndings } = options
  const { maxMessageBytes } = limits
  // One pass over each byte finds the end, unstuffs, and notes every content rule broken.
  const decoder = new DotDecoder({ maxLineBytes: limits.maxTextLineBytes, maxBytes: maxMessageBytes, normalizeLineEndings: insecureAcceptBareLineEndings })
  for (;;) {
    const chunk = await wire.readData()
    if (typeof chunk === 'string') return stopReading(wire, state, delivery, chunk)
    const { body, end } = decoder.decode(chunk)
    if (delivery.failure === undefined) {
      const failure = bodyRuleFailure(decoder, limits, insecureAcceptBareLineEndings, 'DATA')
      if (failure) delivery.abort(failure)
      else {
        // Every part goes on, then one wait if the consumer is behind: not a promise per part
        // (a stuffed dot splits the chunk at each dotted line).
        let wanted = true
        for (const part of body) if (!delivery.push(part)) wanted = false
        if (!wanted && !(await delivery.demand())) return stopReading(wire, state, delivery, 'timeout')
      }
    } else if (decoder.bytes > 2 * maxMessageBytes + DISCARD_MARGIN_BYTES) {
      return giveUpDiscarding(wire, state, delivery)
    }
    if (end !== -1) {
      wire.unreadData(chunk.subarray(end))
      break
    }
  }
  await complete(wire, state, tx, delivery)
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
export async function bdat(wire: Wire, state: ConnectionState, args: string): Promise<void> {
  const parsed = parseBdatArgs(args)
  // The chunk's length is unknown, so its bytes cannot be skipped: they will read as commands.
  if (!parsed) return wire.reply(501, '5.5.4', 'Syntax: BDAT <size> [LAST]')
  const tx = state.transaction!
  const max = state.options.limits.maxMessageBytes
  let delivery = tx.bdat
  if (!delivery) {
    delivery = tx.bdat = new Delivery(deliveryContext(wire, state), envelopeOf(tx, true))
    // The same content rules as DATA, but for BINARYMIME (RFC 3030 §3), which may carry anything.
    if (tx.bodyType !== 'BINARYMIME') {
      const { limits, insecureAcceptBareLineEndings } = state.options
      delivery.text = {
        decoder: new BdatDecoder({ maxLineBytes: limits.maxTextLineBytes, normalizeLineEndings: insecureAcceptBareLineEndings }),
        failure: (decoder) => bodyRuleFailure(decoder, limits, insecureAcceptBareLineEndings, 'BDAT'),
      }
    }
  }
  if (delivery.failure === undefined && delivery.bytes + parsed.size > max) delivery.abort(tooBig())
  if (delivery.failure !== undefined && parsed.size > max) {
    // One command, one reply: the 552 (a 421 would have the client retry a message that can
    // never fit), then the connection closes, as the chunk cannot be skipped.
    await complete(wire, state, tx, delivery)
    return wire.close()
  }
  const stop = await readChunk(wire, state, parsed.size, delivery)
  if (stop) return stopReading(wire, state, delivery, stop)
  delivery.bytes += parsed.size
  if (parsed.last && !delivery.endText() && !(await delivery.demand())) return stopReading(wire, state, delivery, 'timeout')
  if (parsed.last || delivery.failure !== undefined) return complete(wire, state, tx, delivery)
  wire.reply(250, '2.0.0', `${parsed.size} octets received`)
}

/**
 * For a refused BDAT: reads and discards its chunk (RFC 3030 §2: the data must be consumed
 * whatever the reply). Says why it could not: a chunk larger than `maxMessageBytes` is not worth
 * reading, or the read stopped.
 */
export async function discardBdatChunk(wire: Wire, state: ConnectionState, args: string): Promise<'done' | 'too-large' | ReadStop> {
  const parsed = parseBdatArgs(args)
  if (!parsed) return 'done'
  if (parsed.size > state.options.limits.maxMessageBytes) return 'too-large'
  return (await readChunk(wire, state, parsed.size)) ?? 'done'
}

// Reads `size` octets into `delivery` (or throws them away without one); a delivery whose
// consumer stalls past the data timeout is a 'timeout'.
async function readChunk(wire: Wire, state: ConnectionState, size: number, delivery?: Delivery): Promise<ReadStop | undefined> {
  let remaining = size
  wire.startData()
  while (remaining > 0) {
    const chunk = await wire.readData()
    if (typeof chunk === 'string') return chunk
    const take = Math.min(remaining, chunk.length)
    remaining -= take
    if (take < chunk.length) wire.unreadData(chunk.subarray(take))
    if (delivery && !delivery.pushChunkPart(take === chunk.length ? chunk : chunk.subarray(0, take)) && !(await delivery.demand())) return 'timeout'
  }
  return undefined
}

// RFC 5321 §3.8: closing the connection takes a 421; it keeps the reason the message failed.
async function giveUpDiscarding(wire: Wire, state: ConnectionState, delivery: Delivery): Promise<void> {
  const failure = delivery.failure instanceof SmtpError ? delivery.failure : tooBig()
  const enhanced = failure.enhancedCode === undefined ? '4.3.0' : (`4${failure.enhancedCode.slice(1)}` as `4.${number}.${number}`)
  wire.closeWith(421, enhanced, `${state.options.hostname} ${failure.lines.join(' ')}; closing connection`)
  await delivery.finish()
}

// The message cannot be finished: fail the stream, close, and let the data hook settle before
// the session hears of the reset and the close.
async function stopReading(wire: Wire, state: ConnectionState, delivery: Delivery, why: ReadStop): Promise<void> {
  const { hostname } = state.options
  if (why === 'timeout') {
    delivery.abort(new SmtpError(421, '4.4.2', `${hostname} Error: timeout exceeded`))
    wire.closeWith(421, '4.4.2', `${hostname} Error: timeout exceeded`)
  } else {
    delivery.abort(new ProtocolError('ERR_SMTP_CONNECTION_CLOSED', 'the client closed the connection before the end of the message'))
    wire.close()
  }
  await delivery.finish()
}

/**
 * End of message: waits for the data hook, sends the reply (LMTP: one per recipient, RFC 2033
 * §4.2), and ends the transaction. The reply follows both end-of-data and the hook settling.
 */
async function complete(wire: Wire, state: ConnectionState, tx: Transaction, delivery: Delivery): Promise<void> {
  // RFC 5321 §4.5.3.2.6: the client waits 10 minutes for this reply; a hook that never settles
  // must not hold the connection past the data timeout either.
  const result = await delivery.finish(state.options.limits.dataTimeoutMs)
  if (result === 'timeout') return stopReading(wire, state, delivery, 'timeout')
  const failure = delivery.failure instanceof SmtpError ? delivery.failure : undefined
  if (state.transaction === tx) state.transaction = null
  if (!state.options.lmtp) {
    if (failure) return wire.replyError(failure)
    if (!result.ok) return wire.replyError(result.error)
    const value = result.value
    if (Array.isArray(value)) {
      const refused = value.find((item) => item !== undefined && typeof item !== 'string')
      if (refused !== undefined) return wire.replyError(wire.toReplyError(refused))
      return wire.reply(250, '2.0.0', 'Message accepted')
    }
    return wire.reply(250, '2.0.0', typeof value === 'string' ? value : 'Message accepted')
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
        if (!reportedShort) wire.reportError(new TypeError(`data hook returned ${list.length} results for ${tx.recipients.length} recipients`))
        reportedShort = true
        outcome = new SmtpError(451, '4.3.0', 'Local error in processing')
      }
    } else outcome = result.value
    if (outcome === undefined || typeof outcome === 'string') wire.reply(250, '2.0.0', `<${recipient.address}> ${outcome ?? 'Delivered'}`)
    else wire.replyError(wire.toReplyError(outcome))
  }
}
