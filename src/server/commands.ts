import { parseCommand } from '../protocol/command.ts'
import { SmtpError } from '../protocol/errors.ts'
import { auth, isAuthAllowed } from './auth.ts'
import type { ReadStop } from './byte-reader.ts'
import type { Connection } from './connection.ts'
import { startTls } from './starttls.ts'
import { xclient } from './xclient.ts'
import { bdat, data, discardBdatChunk, mail, rcpt, resetTransaction } from './transaction.ts'

/**
 * A state a command needs. Each is checked by {@link checkPreconditions}, the one place that
 * turns an unmet need into its reply (mostly `503 5.5.1`, RFC 5321 §4.3.2).
 */
export type Need =
  | 'tls' // requireTls: TLS before mail commands
  | 'auth' // requireAuth: AUTH before mail commands (RFC 6409 §4.3)
  | 'hello' // EHLO/HELO/LHLO done
  | 'idle' // no mail transaction
  | 'mail' // after MAIL, before any BDAT chunk
  | 'rcpt' // after an accepted RCPT, before any BDAT chunk
  | 'rcpt-or-bdat' // after an accepted RCPT, BDAT chunks included
  | 'tls-offered' // STARTTLS is configured
  | 'not-tls' // not yet encrypted
  | 'auth-enabled' // an auth hook is configured
  | 'auth-allowed' // encrypted, or insecureAuthWithoutTls
  | 'not-authenticated'
  | 'chunking' // CHUNKING is offered
  | 'ehlo' // EHLO/LHLO done: a plain HELO offers no extensions
  | 'advertised-starttls' // the last EHLO advertised STARTTLS (a session may leave it out)
  | 'advertised-auth'
  | 'advertised-chunking'
  | 'xclient-trusted' // the client may use XCLIENT

/** One command: what it needs, what it does, and (BDAT) what it must still do when refused. */
export interface CommandSpec {
  readonly needs: readonly Need[]
  readonly run: (conn: Connection, args: string, verb: string) => void | Promise<void>
  /**
   * Runs before the refusal is sent. BDAT uses it to read and discard its chunk (RFC 3030 §2);
   * anything but `'done'` closes the connection after the refusal.
   */
  readonly onRefused?: (conn: Connection, args: string) => Promise<'done' | 'too-large' | ReadStop>
}

const MAIL_GATES: readonly Need[] = ['tls', 'auth']

/** The command table. LHLO exists only in LMTP mode, EHLO and HELO only outside it. */
export const commands: Readonly<Record<string, CommandSpec>> = Object.freeze({
  EHLO: { needs: [], run: hello },
  HELO: { needs: [], run: hello },
  LHLO: { needs: [], run: hello },
  MAIL: { needs: [...MAIL_GATES, 'hello', 'idle'], run: mail },
  RCPT: { needs: [...MAIL_GATES, 'mail'], run: rcpt },
  DATA: { needs: [...MAIL_GATES, 'rcpt'], run: data },
  BDAT: { needs: ['chunking', 'ehlo', 'advertised-chunking', ...MAIL_GATES, 'rcpt-or-bdat'], run: bdat, onRefused: discardBdatChunk },
  RSET: { needs: [], run: rset },
  NOOP: { needs: [], run: noop },
  QUIT: { needs: [], run: quit },
  HELP: { needs: [], run: help },
  VRFY: { needs: MAIL_GATES, run: vrfy },
  EXPN: { needs: [], run: expn },
  STARTTLS: { needs: ['tls-offered', 'ehlo', 'not-tls', 'idle', 'advertised-starttls'], run: startTls },
  AUTH: { needs: ['auth-enabled', 'ehlo', 'auth-allowed', 'idle', 'not-authenticated', 'advertised-auth'], run: auth },
  XCLIENT: { needs: ['xclient-trusted', 'ehlo', 'idle'], run: xclient },
})

// A Map, not the frozen record: one monomorphic lookup per command, and no prototype to guard.
const commandsByVerb: ReadonlyMap<string, CommandSpec> = new Map(Object.entries(commands))

function helloFirst(conn: Connection): SmtpError {
  return badSequence(`Send ${conn.options.lmtp ? 'LHLO' : 'EHLO/HELO'} first`)
}

function badSequence(text: string): SmtpError {
  return new SmtpError(503, '5.5.1', text)
}

/** The reply refusing a command whose needs are not met, or null when they all are. */
export function checkPreconditions(conn: Connection, needs: readonly Need[]): SmtpError | null {
  const { phase, options, info } = conn
  for (const need of needs) {
    switch (need) {
      case 'tls':
        if (options.requireTls && !info.isTls) return new SmtpError(530, '5.7.0', 'Must issue a STARTTLS command first')
        break
      case 'auth':
        if (options.requireAuth && info.authenticatedAs === undefined) return new SmtpError(530, '5.7.0', 'Authentication required')
        break
      case 'hello':
        if (phase === 'greeting') return helloFirst(conn)
        break
      case 'idle':
        if (conn.transaction !== null) return badSequence('Not allowed during a mail transaction')
        break
      case 'mail':
      case 'rcpt':
      case 'rcpt-or-bdat':
        if (phase === 'rcpt' || (phase === 'mail' && need === 'mail') || (phase === 'bdat' && need === 'rcpt-or-bdat')) break
        if (phase === 'bdat') return badSequence(need === 'rcpt' ? 'DATA not allowed after BDAT (RFC 3030 §2)' : 'Not allowed during BDAT')
        if (phase === 'mail') return badSequence('Need RCPT command first')
        return phase === 'greeting' ? helloFirst(conn) : badSequence('Need MAIL command first')
      case 'tls-offered':
        if (!options.secureContext) return new SmtpError(502, '5.5.1', 'STARTTLS not available')
        break
      case 'not-tls':
        if (info.isTls) return badSequence('Already using TLS')
        break
      case 'auth-enabled':
        if (!options.auth) return new SmtpError(502, '5.5.1', 'AUTH not available')
        break
      case 'auth-allowed':
        if (!isAuthAllowed(conn)) return new SmtpError(530, '5.7.0', 'Must issue a STARTTLS command first')
        break
      case 'chunking':
        if (!options.chunking) return new SmtpError(502, '5.5.1', 'BDAT not available')
        break
      case 'not-authenticated':
        if (info.authenticatedAs !== undefined) return badSequence('Already authenticated')
        break
      case 'advertised-starttls':
        if (!conn.advertised.has('STARTTLS')) return new SmtpError(502, '5.5.1', 'STARTTLS not available')
        break
      case 'advertised-auth':
        if (!conn.advertised.has('AUTH')) return new SmtpError(502, '5.5.1', 'AUTH not available')
        break
      case 'advertised-chunking':
        if (!conn.advertised.has('CHUNKING')) return new SmtpError(502, '5.5.1', 'BDAT not available')
        break
      case 'xclient-trusted':
        // Postfix's reply to a client not allowed to use XCLIENT.
        if (!conn.xclientTrusted) return new SmtpError(550, '5.7.0', 'Insufficient authorization')
        break
      case 'ehlo':
        // RFC 5321 §2.2.1: extensions are what EHLO advertised; before it, or after a HELO, none
        // was (as Exim holds).
        if (!info.isEsmtp) return info.helo === undefined ? helloFirst(conn) : badSequence('Not offered after HELO: send EHLO to use extensions')
        break
    }
  }
  return null
}

/**
 * Parses one command line and runs it: the line-length limit, the command table, the shutdown
 * and unauthenticated-command limits, then the command's preconditions.
 */
export function dispatchCommand(conn: Connection, line: Buffer): void | Promise<void> {
  let verb: string
  let args: string
  try {
    ;({ verb, args } = parseCommand(line))
  } catch {
    conn.debugLine(`C: ${JSON.stringify(line.subarray(0, 80).toString('latin1'))}`)
    return conn.reply(500, '5.5.2', 'Syntax error, command unrecognized')
  }
  const { options } = conn
  // RFC 4954 §4: AUTH data is a secret; log only the mechanism.
  if (options.debug) conn.debugLine(verb === 'AUTH' && args.includes(' ') ? `C: AUTH ${args.slice(0, args.indexOf(' '))} <redacted>` : `C: ${line.toString('utf8')}`)
  const { limits, hostname } = options
  if (line.length + 2 > (verb === 'AUTH' ? limits.maxAuthLineBytes : limits.maxLineBytes)) return conn.reply(500, '5.5.2', 'Line too long')
  const spec = commandsByVerb.get(verb)
  if (!spec || !isInMode(verb, options.lmtp)) return conn.reply(500, '5.5.2', 'Command unrecognized')
  if (conn.isShuttingDown && conn.transaction === null) return conn.closeWith(421, '4.3.2', `${hostname} Service shutting down`)
  if (options.requireAuth && conn.info.authenticatedAs === undefined && verb !== 'QUIT') {
    if (++conn.unauthenticatedCommands > limits.maxUnauthenticatedCommands) {
      return conn.closeWith(421, '4.7.0', `${hostname} Error: too many commands without authentication`)
    }
  }
  const refusal = checkPreconditions(conn, spec.needs)
  if (refusal) return refuse(conn, spec, args, refusal)
  // Returned, not awaited: a command without a hook to wait for (NOOP, RSET) costs no promise.
  return spec.run(conn, args, verb)
}

async function refuse(conn: Connection, spec: CommandSpec, args: string, refusal: SmtpError): Promise<void> {
  const outcome = spec.onRefused ? await spec.onRefused(conn, args) : 'done'
  // One reply per command. A read that timed out gets the 421 that says so instead of the
  // refusal; a chunk too large to read gets the refusal, then the connection closes.
  if (outcome === 'timeout') return conn.closeWith(421, '4.4.2', `${conn.options.hostname} Error: timeout exceeded`)
  conn.replyError(refusal)
  if (outcome !== 'done') conn.close()
}

function isInMode(verb: string, lmtp: boolean): boolean {
  if (verb === 'LHLO') return lmtp
  if (verb === 'EHLO' || verb === 'HELO') return !lmtp
  return true
}

// RFC 5321 §4.1.1.1: "EHLO" SP ( Domain / address-literal ). We take any single token: many
// clients send a bare host name, and the name is only recorded, never trusted.
const HELLO_ARG = /^[^\s\x00-\x1f\x7f]+$/

async function hello(conn: Connection, args: string, verb: string): Promise<void> {
  const domain = args.trim()
  if (!HELLO_ARG.test(domain)) return conn.reply(501, '5.5.4', `Syntax: ${verb} <domain>`)
  // RFC 5321 §4.1.4: EHLO/HELO in a transaction resets it, as RSET would.
  await resetTransaction(conn)
  conn.info.helo = domain
  conn.info.isEsmtp = verb !== 'HELO'
  conn.advertised = new Set()
  const { hostname } = conn.options
  if (verb === 'HELO') return conn.replyRaw(250, hostname)
  let keywords = ehloKeywords(conn)
  const choose = conn.session.extensions
  if (choose) {
    const offered = keywords
    const result = await conn.runHook(() => choose.call(conn.session, offered))
    if (!result.ok) return conn.replyError(result.error)
    const chosen = new Set(Array.isArray(result.value) ? result.value : [])
    keywords = offered.filter((keyword) => chosen.has(keyword))
  }
  // Recorded once: every later check of an extension reads this set.
  conn.advertised = new Set(keywords.map((keyword) => keyword.split(' ', 1)[0]!))
  conn.replyRaw(250, [hostname, ...keywords])
}

/** The service extensions to advertise on this connection now (RFC 5321 §4.1.1.1). */
export function ehloKeywords(conn: Connection): string[] {
  const { options, info } = conn
  const out: string[] = []
  if (options.pipelining) out.push('PIPELINING')
  out.push(`SIZE ${options.limits.maxMessageBytes}`)
  if (options.eightBitMime) out.push('8BITMIME')
  if (options.binaryMime) out.push('BINARYMIME')
  if (options.chunking) out.push('CHUNKING')
  if (options.smtpUtf8) out.push('SMTPUTF8')
  if (options.dsn) out.push('DSN')
  if (options.enhancedStatusCodes) out.push('ENHANCEDSTATUSCODES')
  if (options.secureContext && !info.isTls) out.push('STARTTLS')
  if (options.auth && isAuthAllowed(conn)) out.push(`AUTH ${options.authMechanisms.join(' ')}`)
  if (conn.xclientTrusted) out.push('XCLIENT NAME ADDR PORT PROTO HELO LOGIN')
  return out
}

async function rset(conn: Connection, args: string): Promise<void> {
  if (args !== '') return conn.reply(501, '5.5.4', 'Syntax: RSET (no parameters)')
  await resetTransaction(conn)
  conn.reply(250, '2.0.0', 'OK')
}

function noop(conn: Connection): void {
  // RFC 5321 §4.1.1.9: a NOOP argument is allowed and ignored.
  conn.reply(250, '2.0.0', 'OK')
}

function quit(conn: Connection): void {
  conn.quit(`${conn.options.hostname} closing connection`)
}

function help(conn: Connection): void {
  const verbs = Object.keys(commands).filter((verb) => isInMode(verb, conn.options.lmtp) && (verb !== 'XCLIENT' || conn.xclientTrusted))
  conn.reply(214, '2.0.0', `Supported commands: ${verbs.join(' ')}`)
}

function expn(conn: Connection): void {
  // RFC 5321 §3.5.2: EXPN may be disabled; it hands out list membership to anyone who asks.
  conn.reply(502, '5.5.1', 'EXPN not available')
}

async function vrfy(conn: Connection, args: string): Promise<void> {
  const argument = args.trim()
  if (argument === '') return conn.reply(501, '5.5.4', 'Syntax: VRFY <address>')
  const { vrfy: hook } = conn.session
  if (hook) {
    const result = await conn.runHook(() => hook.call(conn.session, argument))
    if (!result.ok) return conn.replyError(result.error)
    if (typeof result.value === 'string') return conn.reply(250, '2.1.5', result.value)
  }
  // RFC 5321 §3.5.3: 252 says "cannot verify, but will accept and try".
  conn.reply(252, '2.5.0', 'Cannot VRFY user, but will accept message and attempt delivery')
}
