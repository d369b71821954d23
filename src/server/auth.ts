import type { EnhancedCode } from '../protocol/enhanced-code.ts'
import { SmtpError } from '../protocol/errors.ts'
import { decodeBase64Strict } from '../sasl/base64.ts'
import { AuthenticationFailed, createServerMechanism, MalformedSaslMessage } from '../sasl/index.ts'
import type { ConnectionState, Wire } from './wire.ts'

/** True when AUTH may be used on this connection now: over TLS, or with `insecureAuthWithoutTls`. */
export function isAuthAllowed(state: ConnectionState): boolean {
  return state.info.isTls || state.options.insecureAuthWithoutTls
}

const AUTH_ARGS = /^([A-Za-z0-9_-]{1,20})(?: ([^ ]+))?$/

/**
 * AUTH (RFC 4954): runs one SASL exchange through the `smtpkit/sasl` server mechanisms, framing
 * each challenge as `334 <base64>` and reading each response as a base64 line; `*` cancels
 * (`501 5.0.0`). An initial response may come with the command, `=` standing for an empty one.
 * Success is `235 2.7.0`; refused credentials `535 5.7.8` after `limits.authFailureDelayMs`, and
 * the `limits.maxAuthFailures`-th failed exchange (cancelled and malformed ones too) closes the
 * connection with `421 4.7.0`. A client address past `limits.maxAuthFailuresPerIp` gets that
 * `421` before any mechanism runs.
 */
export async function auth(wire: Wire, state: ConnectionState, args: string): Promise<void> {
  const { options } = state
  const match = AUTH_ARGS.exec(args)
  if (!match) return wire.reply(501, '5.5.4', 'Syntax: AUTH <mechanism> [initial-response]')
  const name = match[1]!.toUpperCase()
  if (!(options.authMechanisms as readonly string[]).includes(name)) return wire.reply(504, '5.5.4', 'Unrecognized authentication type')
  let response: Uint8Array | null = null
  if (match[2] !== undefined) {
    const decoded = match[2] === '=' ? Buffer.alloc(0) : decodeBase64Strict(match[2])
    if (!decoded) return wire.reply(501, '5.5.2', 'Invalid base64 data in initial response')
    response = decoded
  }
  // Checked before any mechanism runs: a SCRAM key derivation is work an attacker should not get.
  if (state.authFailuresByClient.isExhausted(state.info)) {
    return wire.closeWith(421, '4.7.0', `${options.hostname} Error: too many authentication failures from your address, try again later`)
  }
  const hook = options.auth!
  let mechanism
  let user: unknown
  try {
    // A `user` beside the identity is the application's account record, kept on the connection.
    mechanism = createServerMechanism(
      name,
      async (request) => {
        const result = await hook(request, state.info)
        user = typeof result === 'object' && result !== null && 'user' in result ? result.user : undefined
        return result
      },
      { hostname: options.hostname },
    )
  } catch (error) {
    wire.reportError(error)
  }
  if (!mechanism) return wire.reply(454, '4.7.0', 'Temporary authentication failure')
  for (;;) {
    let step
    try {
      step = await mechanism.next(response)
    } catch (error) {
      if (error instanceof AuthenticationFailed) {
        wire.debugLine(`authentication failed: ${error.message}`)
        return fail(wire, state, 535, '5.7.8', 'Authentication credentials invalid')
      }
      if (error instanceof MalformedSaslMessage) {
        wire.debugLine(`AUTH ${name}: ${error.message}`)
        return fail(wire, state, 501, '5.5.2', 'Malformed authentication response')
      }
      if (error instanceof SmtpError && error.code >= 400 && error.code < 600) return wire.replyError(error)
      wire.reportError(error)
      // RFC 4954 §6: 454 4.7.0 for a temporary failure of the authentication machinery.
      return wire.reply(454, '4.7.0', 'Temporary authentication failure')
    }
    if (step.done) {
      state.info.authenticatedAs = step.identity
      state.info.user = user
      return wire.reply(235, '2.7.0', 'Authentication successful')
    }
    wire.replyRaw(334, Buffer.from(step.challenge).toString('base64'))
    const next = await wire.nextLine()
    if (typeof next !== 'string') {
      wire.debugLine('C: <redacted>')
      if (next.length + 2 > options.limits.maxAuthLineBytes) return fail(wire, state, 500, '5.5.6', 'Authentication exchange line is too long')
      const text = next.toString('latin1')
      if (text === '*') return fail(wire, state, 501, '5.0.0', 'Authentication cancelled')
      const decoded = decodeBase64Strict(text)
      if (!decoded) return fail(wire, state, 501, '5.5.2', 'Invalid base64 data')
      response = decoded
      continue
    }
    switch (next) {
      case 'too-long':
        // RFC 4954 §6 registers 5.5.6 for exactly this.
        return fail(wire, state, 500, '5.5.6', 'Authentication exchange line is too long')
      case 'bare-line-ending':
        return fail(wire, state, 501, '5.5.2', 'Bare LF or CR in authentication response')
      case 'timeout':
        return wire.closeWith(421, '4.4.2', `${options.hostname} Error: timeout exceeded`)
      default:
        return wire.close()
    }
  }
}

/**
 * Ends an exchange that did not authenticate: refused credentials, and also a cancelled or
 * malformed one, since each may have cost a key derivation (SCRAM) that a client could otherwise
 * start and cancel for free. Counts it for the connection and the client address, waits
 * `limits.authFailureDelayMs`, and replies, or closes with `421 4.7.0` at the last allowed failure.
 */
async function fail(wire: Wire, state: ConnectionState, code: number, enhancedCode: EnhancedCode, text: string): Promise<void> {
  const { limits, hostname } = state.options
  state.authFailures++
  state.authFailuresByClient.record(state.info)
  // Slows down guessing; RFC 4954 §6 asks for the same reply whatever the reason.
  if (limits.authFailureDelayMs > 0) {
    wire.flush()
    await new Promise<void>((resolve) => wire.deadline.start(limits.authFailureDelayMs, resolve))
  }
  if (state.authFailures >= limits.maxAuthFailures) return wire.closeWith(421, '4.7.0', `${hostname} Error: too many authentication failures`)
  wire.reply(code, enhancedCode, text)
}
