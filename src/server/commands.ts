import { parseCommand } from '../protocol/command.ts'
import { SmtpError } from '../protocol/errors.ts'
import { auth, isAuthAllowed } from './auth.ts'
import type { ReadStop } from './byte-reader.ts'
import { replyWire } from './reply-wire.ts'
import type { ResolvedServerOptions } from './server-options.ts'
import type { Session } from './session.ts'
import type { ConnectionState, Wire } from './wire.ts'
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
  readonly run: (wire: Wire, state: ConnectionState, args: string, verb: string) => void | Promise<void>
  /**
   * Runs before the refusal is sent. BDAT uses it to read and discard its chunk (RFC 3030 §2);
   * anything but `'done'` closes the connection after the refusal.
   */
  readonly onRefused?: (wire: Wire, state: ConnectionState, args: string) => Promise<'done' | 'too-large' | ReadStop>
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

function helloFirst(state: ConnectionState): SmtpError {
  return badSequence(`Send ${state.options.lmtp ? 'LHLO' : 'EHLO/HELO'} first`)
}

function badSequence(text: string): SmtpError {
  return new SmtpError(503, '5.5.1', text)
}

/** The reply refusing a command whose needs are not met, or null when they all are. */
export function checkPreconditions(wire: Wire, state: ConnectionState, needs: readonly Need[]): SmtpError | null {
  const { phase, options, info } = state
  for (const need of needs) {
    switch (need) {
      case 'tls':
        if (options.requireTls && !info.isTls) return new SmtpError(530, '5.7.0', 'Must issue a STARTTLS command first')
        break
      case 'auth':
        if (options.requireAuth && info.authenticatedAs === undefined) return new SmtpError(530, '5.7.0', 'Authentication required')
        break
      case 'hello':
        if (phase === 'greeting') return helloFirst(state)
        break
      case 'idle':
        if (state.transaction !== null) return badSequence('Not allowed during a mail transaction')
        break
      case 'mail':
      case 'rcpt':
      case 'rcpt-or-bdat':
        if (phase === 'rcpt' || (phase === 'mail' && need === 'mail') || (phase === 'bdat' && need === 'rcpt-or-bdat')) break
        if (phase === 'bdat') return badSequence(need === 'rcpt' ? 'DATA not allowed after BDAT (RFC 3030 §2)' : 'Not allowed during BDAT')
        if (phase === 'mail') return badSequence('Need RCPT command first')
        return phase === 'greeting' ? helloFirst(state) : badSequence('Need MAIL command first')
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
        if (!isAuthAllowed(state)) return new SmtpError(530, '5.7.0', 'Must issue a STARTTLS command first')
        break
      case 'chunking':
        if (!options.chunking) return new SmtpError(502, '5.5.1', 'BDAT not available')
        break
      case 'not-authenticated':
        if (info.authenticatedAs !== undefined) return badSequence('Already authenticated')
        break
      case 'advertised-starttls':
        if (!state.advertised.has('STARTTLS')) return new SmtpError(502, '5.5.1', 'STARTTLS not available')
        break
      case 'advertised-auth':
        if (!state.advertised.has('AUTH')) return new SmtpError(502, '5.5.1', 'AUTH not available')
        break
      case 'advertised-chunking':
        if (!state.advertised.has('CHUNKING')) return new SmtpError(502, '5.5.1', 'BDAT not available')
        break
      case 'xclient-trusted':
        // Postfix's reply to a client not allowed to use XCLIENT.
        if (!state.xclientTrusted) return new SmtpError(550, '5.7.0', 'Insufficient authorization')
        break
      case 'ehlo':
        // RFC 5321 §2.2.1: extensions are what EHLO advertised; before it, or after a HELO, none
        // was (as Exim holds).
        if (!info.isEsmtp) return info.helo === undefined ? helloFirst(state) : badSequence('Not offered after HELO: send EHLO to use extensions')
        break
    }
  }
  return null
}

/**
 * Parses one command line and runs it: the line-length limit, the command table, the shutdown
 * and unauthenticated-command limits, then the command's preconditions.
 */
export function dispatchCommand(wire: Wire, state: ConnectionState, line: Buffer): void | Promise<void> {
  let verb: string
  let args: string
  try {
    ;({ verb, args } = parseCommand(line))
  } catch {
    wire.debugLine(`C: ${JSON.stringify(line.subarray(0, 80).toString('latin1'))}`)
    return wire.reply(500, '5.5.2', 'Syntax error, command unrecognized')
  }
  const { options } = state
  // RFC 4954 §4: AUTH data is a secret; log only the mechanism.
  if (options.debug) wire.debugLine(verb === 'AUTH' && args.includes(' ') ? `C: AUTH ${args.slice(0, args.indexOf(' '))} <redacted>` : `C: ${line.toString('utf8')}`)
  const { limits, hostname } = options
  if (line.length + 2 > (verb === 'AUTH' ? limits.maxAuthLineBytes : limits.maxLineBytes)) return wire.reply(500, '5.5.2', 'Line too long')
  const spec = commandsByVerb.get(verb)
  if (!spec || !isInMode(verb, options.lmtp)) return wire.reply(500, '5.5.2', 'Command unrecognized')
  if (wire.isShuttingDown && state.transaction === null) return wire.closeWith(421, '4.3.2', `${hostname} Service shutting down`)
  if (options.requireAuth && state.info.authenticatedAs === undefined && verb !== 'QUIT') {
    if (++state.unauthenticatedCommands > limits.maxUnauthenticatedCommands) {
      return wire.closeWith(421, '4.7.0', `${hostname} Error: too many commands without authentication`)
    }
  }
  const refusal = checkPreconditions(wire, state, spec.needs)
  if (refusal) return refuse(wire, state, spec, args, refusal)
  // Returned, not awaited: a command without a hook to wait for (NOOP, RSET) costs no promise.
  return spec.run(wire, state, args, verb)
}

async function refuse(wire: Wire, state: ConnectionState, spec: CommandSpec, args: string, refusal: SmtpError): Promise<void> {
  const outcome = spec.onRefused ? await spec.onRefused(wire, state, args) : 'done'
  // One reply per command. A read that timed out gets the 421 that says so instead of the
  // refusal; a chunk too large to read gets the refusal, then the connection closes.
  if (outcome === 'timeout') return wire.closeWith(421, '4.4.2', `${state.options.hostname} Error: timeout exceeded`)
  wire.replyError(refusal)
  if (outcome !== 'done') wire.close()
}

function isInMode(verb: string, lmtp: boolean): boolean {
  if (verb === 'LHLO') return lmtp
  if (verb === 'EHLO' || verb === 'HELO') return !lmtp
  return true
}

// RFC 5321 §4.1.1.1: "EHLO" SP ( Domain / address-literal ). We take any single token: many
// clients send a bare host name, and the name is only recorded, never trusted.
const HELLO_ARG = /^[^\s\x00-\x1f\x7f]+$/

function hello(wire: Wire, state: ConnectionState, args: string, verb: string): void | Promise<void> {
  const domain = args.trim()
  if (!HELLO_ARG.test(domain)) return wire.reply(501, '5.5.4', `Syntax: ${verb} <domain>`)
  // RFC 5321 §4.1.4: EHLO/HELO in a transaction resets it, as RSET would. Without one, nothing
  // is awaited: the common EHLO costs no promise.
  if (state.transaction !== null) return resetTransaction(wire, state).then(() => greetBack(wire, state, domain, verb))
  return greetBack(wire, state, domain, verb)
}

function greetBack(wire: Wire, state: ConnectionState, domain: string, verb: string): void | Promise<void> {
  state.info.helo = domain
  state.info.isEsmtp = verb !== 'HELO'
  state.advertised = NOTHING_ADVERTISED
  if (verb === 'HELO') return wire.replyRaw(250, state.options.hostname)
  if (state.session.extensions) return chooseExtensions(wire, state, state.session.extensions)
  const prepared = preparedEhlo(state)
  // Recorded once: every later check of an extension reads this set.
  state.advertised = prepared.advertised
  wire.replyPrepared(prepared.wire)
}

// A session's extensions hook picks from what the server would offer.
async function chooseExtensions(wire: Wire, state: ConnectionState, choose: NonNullable<Session['extensions']>): Promise<void> {
  const offered = ehloKeywords(state)
  const result = await wire.runHook(async () => {
    const value = await choose.call(state.session, offered)
    // A mistake in the hook is reported, not read as "offer nothing".
    if (!Array.isArray(value)) throw new TypeError(`the extensions hook must return an array of keywords, got ${value === null ? 'null' : typeof value}`)
    return value as readonly string[]
  })
  if (!result.ok) return wire.replyError(result.error)
  const chosen = new Set(result.value)
  const keywords = offered.filter((keyword) => chosen.has(keyword))
  state.advertised = advertisedBy(keywords)
  wire.replyRaw(250, [state.options.hostname, ...keywords])
}

function advertisedBy(keywords: readonly string[]): ReadonlySet<string> {
  return new Set(keywords.map((keyword) => keyword.split(' ', 1)[0]!))
}

const NOTHING_ADVERTISED: ReadonlySet<string> = new Set()

/** An EHLO reply in wire form, and the set of extensions it advertises. */
interface PreparedEhlo {
  readonly wire: string
  readonly advertised: ReadonlySet<string>
}

// Without an extensions hook the EHLO reply follows from the options and two facts about the
// connection (TLS, and whether XCLIENT is trusted), so it is built once per server and per
// combination of those, not per connection. Keyed by the options object, which a server owns.
const preparedEhlos = new WeakMap<ResolvedServerOptions, (PreparedEhlo | undefined)[]>()

function preparedEhlo(state: ConnectionState): PreparedEhlo {
  const { options } = state
  let byFacts = preparedEhlos.get(options)
  if (byFacts === undefined) preparedEhlos.set(options, (byFacts = []))
  const key = (state.info.isTls ? 1 : 0) + (state.xclientTrusted ? 2 : 0)
  let prepared = byFacts[key]
  if (prepared === undefined) {
    const keywords = ehloKeywords(state)
    prepared = { wire: replyWire(250, undefined, [options.hostname, ...keywords]), advertised: advertisedBy(keywords) }
    byFacts[key] = prepared
  }
  return prepared
}

/** The service extensions to advertise on this connection now (RFC 5321 §4.1.1.1). */
export function ehloKeywords(state: ConnectionState): string[] {
  const { options, info } = state
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
  if (options.auth && isAuthAllowed(state)) out.push(`AUTH ${options.authMechanisms.join(' ')}`)
  if (state.xclientTrusted) out.push('XCLIENT NAME ADDR PORT PROTO HELO LOGIN')
  return out
}

async function rset(wire: Wire, state: ConnectionState, args: string): Promise<void> {
  if (args !== '') return wire.reply(501, '5.5.4', 'Syntax: RSET (no parameters)')
  await resetTransaction(wire, state)
  wire.reply(250, '2.0.0', 'OK')
}

function noop(wire: Wire): void {
  // RFC 5321 §4.1.1.9: a NOOP argument is allowed and ignored.
  wire.reply(250, '2.0.0', 'OK')
}

function quit(wire: Wire, state: ConnectionState): void {
  wire.quit(`${state.options.hostname} closing connection`)
}

function help(wire: Wire, state: ConnectionState): void {
  const verbs = Object.keys(commands).filter((verb) => isInMode(verb, state.options.lmtp) && (verb !== 'XCLIENT' || state.xclientTrusted))
  wire.reply(214, '2.0.0', `Supported commands: ${verbs.join(' ')}`)
}

function expn(wire: Wire): void {
  // RFC 5321 §3.5.2: EXPN may be disabled; it hands out list membership to anyone who asks.
  wire.reply(502, '5.5.1', 'EXPN not available')
}

async function vrfy(wire: Wire, state: ConnectionState, args: string): Promise<void> {
  const argument = args.trim()
  if (argument === '') return wire.reply(501, '5.5.4', 'Syntax: VRFY <address>')
  const { vrfy: hook } = state.session
  if (hook) {
    const result = await wire.runHook(() => hook.call(state.session, argument))
    if (!result.ok) return wire.replyError(result.error)
    if (typeof result.value === 'string') return wire.reply(250, '2.1.5', result.value)
  }
  // RFC 5321 §3.5.3: 252 says "cannot verify, but will accept and try".
  wire.reply(252, '2.5.0', 'Cannot VRFY user, but will accept message and attempt delivery')
}
