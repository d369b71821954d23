import { formatPath } from '../protocol/address.ts'
import { formatCommand } from '../protocol/command.ts'
import { formatMailParams, formatRcptParams, type MailParams, type RcptParams } from '../protocol/params.ts'
import type { Reply } from '../protocol/reply.ts'
import type { CommandSpec } from './connection.ts'

// The transaction's commands, built in one place for the step methods and for send.

/** `MAIL FROM:<from>` with its parameters; an invalid address is a TypeError. */
export function mailCommand(from: string, params: MailParams, timeoutMs: number): CommandSpec {
  return spec(formatCommand('MAIL', `FROM:${pathOf(from)}`, ...formatMailParams(params)), timeoutMs)
}

/** `RCPT TO:<to>` with its parameters; an invalid address is a TypeError. */
export function rcptCommand(to: string, params: RcptParams, timeoutMs: number): CommandSpec {
  return spec(formatCommand('RCPT', `TO:${pathOf(to)}`, ...formatRcptParams(params)), timeoutMs)
}

const DATA = Buffer.from('DATA\r\n')
const RSET = Buffer.from('RSET\r\n')
const DOT = Buffer.from('.\r\n')

/** `DATA`: the last command of its group (RFC 2920 §3.1). */
export function dataCommand(timeoutMs: number): CommandSpec {
  return { line: DATA, display: 'DATA', timeoutMs, endsGroup: true }
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
// (formatPath parses it in full) and its path remembered, up to a bound.
const paths = new Map<string, string>()
const MAX_PATHS = 256

function pathOf(address: string): string {
  let path = paths.get(address)
  if (path === undefined) {
    path = formatPath(address)
    if (paths.size >= MAX_PATHS) paths.clear()
    paths.set(address, path)
  }
  return path
}
