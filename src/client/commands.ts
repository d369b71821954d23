import { formatPath } from '../protocol/address.ts'
import { formatCommand } from '../protocol/command.ts'
import { formatMailParams, formatRcptParams, type MailParams, type RcptParams } from '../protocol/params.ts'
import type { Reply } from '../protocol/reply.ts'
import type { CommandSpec } from './connection.ts'

// The transaction's commands, built in one place for the step methods and for send.

/** `MAIL FROM:<from>` with its parameters; an invalid address is a TypeError. */
export function mailCommand(from: string, params: MailParams, timeoutMs: number): CommandSpec {
  const address = known(from)
  const formatted = formatMailParams(params).join(' ')
  // A sender's messages mostly repeat the last parameters (the same SIZE for messages of one
  // size): that command is kept, as bytes, like a recipient's RCPT (a CommandSpec is never changed).
  const last = address.mail
  if (last !== undefined && last.params === formatted && last.spec.timeoutMs === timeoutMs) return last.spec
  const line = formatted === '' ? formatCommand('MAIL', `FROM:${address.path}`) : formatCommand('MAIL', `FROM:${address.path}`, formatted)
  const made: CommandSpec = { line: Buffer.from(line, 'utf8'), display: line.slice(0, -2), timeoutMs }
  address.mail = { params: formatted, spec: made }
  return made
}

/** `RCPT TO:<to>` with its parameters; an invalid address is a TypeError. */
export function rcptCommand(to: string, params: RcptParams, timeoutMs: number): CommandSpec {
  const address = known(to)
  const formatted = formatRcptParams(params)
  if (formatted.length > 0) return spec(formatCommand('RCPT', `TO:${address.path}`, ...formatted), timeoutMs)
  // Without parameters a recipient's command is the same every time: built once, as bytes, and
  // shared (a CommandSpec is never changed).
  if (address.rcpt?.timeoutMs !== timeoutMs) {
    const line = formatCommand('RCPT', `TO:${address.path}`)
    address.rcpt = { line: Buffer.from(line, 'utf8'), display: line.slice(0, -2), timeoutMs }
  }
  return address.rcpt
}

const DATA = Buffer.from('DATA\r\n')
const RSET = Buffer.from('RSET\r\n')
const DOT = Buffer.from('.\r\n')

// The same few timeouts serve every send: the last DATA command is kept (a CommandSpec is never changed).
let lastData: CommandSpec | undefined

/** `DATA`: the last command of its group (RFC 2920 §3.1). */
export function dataCommand(timeoutMs: number): CommandSpec {
  if (lastData?.timeoutMs !== timeoutMs) lastData = { line: DATA, display: 'DATA', timeoutMs, endsGroup: true }
  return lastData
}

/** `RSET`. */
export function resetCommand(timeoutMs: number): CommandSpec {
  return { line: RSET, display: 'RSET', timeoutMs }
}

/** The terminator of a DATA that got 354 although nothing is to be sent (RFC 2920 §3.1). */
export function emptyDataEnd(timeoutMs: number): CommandSpec {
  return { line: DOT, display: '.', timeoutMs, awaits: 'reply to the empty DATA' }
}

/** 250 and 251 accept a recipient (RFC 5321 §4.1.1.3). */
export function isRcptOk(reply: Reply): boolean {
  return reply.code === 250 || reply.code === 251
}

function spec(line: string, timeoutMs: number): CommandSpec {
  return { line, display: line.slice(0, -2), timeoutMs }
}

// A pool sends from and to the same few addresses over and over; each is checked once
// (formatPath parses it in full) and its path, its RCPT without parameters and its last MAIL
// remembered, up to a bound.
interface KnownAddress {
  readonly path: string
  rcpt: CommandSpec | undefined
  mail: { readonly params: string; readonly spec: CommandSpec } | undefined
}
const addresses = new Map<string, KnownAddress>()
const MAX_ADDRESSES = 256

function known(address: string): KnownAddress {
  let entry = addresses.get(address)
  if (entry === undefined) {
    entry = { path: formatPath(address), rcpt: undefined, mail: undefined }
    if (addresses.size >= MAX_ADDRESSES) addresses.clear()
    addresses.set(address, entry)
  }
  return entry
}
