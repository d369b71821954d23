import { ProtocolError } from '../protocol/errors.ts'
import type { Extensions } from '../protocol/extensions.ts'
import { replyToError, type Reply } from '../protocol/reply.ts'
import { unsupported } from './errors.ts'
import { canCarryAuthorizationId, clientMechanismPreference, fromPassword } from '../sasl/from-password.ts'
import { decodeBase64Strict } from '../sasl/base64.ts'
import type { ClientMechanism } from '../sasl/mechanism.ts'
import type { ClientConnection } from './connection.ts'
import { isPasswordAuth, type AuthOption } from './options.ts'

// RFC 4954 §4: an initial response that would make the command line longer than 512 octets
// (RFC 5321 §4.5.3.1.4) is sent after an empty 334 challenge instead.
const MAX_AUTH_LINE_OCTETS = 512

/**
 * Picks the mechanism for `auth`: a ready mechanism as given; for a username and password, the
 * named mechanism, or the strongest of `clientMechanismPreference` the server offers.
 */
export function chooseMechanism(auth: AuthOption, extensions: Extensions): ClientMechanism {
  if (!isPasswordAuth(auth)) return auth
  if (auth.mechanism !== undefined) {
    const mechanism = fromPassword(auth.mechanism, auth)
    if (!mechanism) throw new TypeError(`unknown password mechanism ${JSON.stringify(auth.mechanism)}; known: ${clientMechanismPreference.join(', ')}`)
    return mechanism
  }
  const offered = extensions.authMechanisms
  if (offered.length === 0) throw unsupported('the server does not offer AUTH (RFC 4954)')
  // With an authorization identity, only the mechanisms that can carry one (PLAIN, SCRAM).
  const name = clientMechanismPreference.find((name) => offered.includes(name) && (!auth.authorizationId || canCarryAuthorizationId(name)))
  if (name !== undefined) return fromPassword(name, auth)!
  throw unsupported(`the server offers AUTH ${offered.join(' ')}, none of which smtpkit can use with a password (${clientMechanismPreference.join(', ')})`)
}

// Mechanisms that have run an exchange: a mechanism is good for one (see ClientMechanism).
const used = new WeakSet<ClientMechanism>()

/**
 * The mechanism to run an exchange with: `mechanism` itself the first time, so the caller can
 * read what it kept (XOAUTH2's `serverError`); a `fresh()` one after that, for every other
 * connection of a pool, and always for a mechanism that fetches its credentials (`canRefresh`).
 */
export async function mechanismForExchange(mechanism: ClientMechanism, refresh: boolean, signal: AbortSignal | undefined): Promise<ClientMechanism> {
  const renew = mechanism.canRefresh === true || used.has(mechanism)
  const chosen = renew && mechanism.fresh ? await mechanism.fresh({ refresh, signal }) : mechanism
  used.add(chosen)
  return chosen
}


/**
 * Runs one AUTH exchange (RFC 4954): the command with the base64 initial response, then one
 * base64 line per `334` challenge until `235`. The caller holds the wire (`conn.exclusive`). A
 * mechanism that throws on a challenge is cancelled with `*` (RFC 4954 §4) and its error
 * rethrown; any other reply is an {@link SmtpError} naming `AUTH <mechanism>`. Payloads are
 * logged as `<redacted>`.
 */
export async function runAuthExchange(conn: ClientConnection, mechanism: ClientMechanism, timeoutMs: number, signal: AbortSignal | undefined): Promise<Reply> {
  const name = mechanism.name
  if (!/^[A-Z0-9_-]{1,20}$/.test(name)) throw new TypeError(`invalid SASL mechanism name ${JSON.stringify(name)}`)
  const command = `AUTH ${name}`
  const initial = mechanism.start()
  let line = command
  let held: Uint8Array | undefined
  if (initial !== null) {
    const encoded = initial.length === 0 ? '=' : Buffer.from(initial).toString('base64')
    if (command.length + 1 + encoded.length + 2 <= MAX_AUTH_LINE_OCTETS) line = `${command} ${encoded}`
    else held = initial
  }
  const display = initial !== null && line !== command ? `${command} <redacted>` : command
  let [reply] = conn.send([{ line: `${line}\r\n`, display, timeoutMs, endsGroup: true }], signal)
  for (;;) {
    const got = await reply!
    if (got.code === 235) {
      if (!mechanism.isComplete) {
        // RFC 5802 §9: a success without the server's proof (SCRAM) proves nothing about the server.
        throw new ProtocolError('ERR_SMTP_UNEXPECTED_REPLY', `the server accepted ${command} before the mechanism finished, so it did not prove itself; not trusting it`)
      }
      return got
    }
    if (got.code !== 334) throw replyToError(got, command)
    let response: Uint8Array
    try {
      if (held) {
        response = held
        held = undefined
      } else {
        response = mechanism.next(decodeChallenge(got))
      }
    } catch (err) {
      const [cancelled] = conn.send([{ line: '*\r\n', display: '*', timeoutMs, endsGroup: true, awaits: `reply to the cancelled ${command}` }], signal)
      await cancelled
      throw err
    }
    const encoded = response.length === 0 ? '' : Buffer.from(response).toString('base64')
    ;[reply] = conn.send([{ line: `${encoded}\r\n`, display: '<redacted>', timeoutMs, endsGroup: true, awaits: `reply to the ${command} response` }], signal)
  }
}

function decodeChallenge(reply: Reply): Uint8Array {
  const decoded = decodeBase64Strict((reply.lines[0] ?? '').trim())
  if (!decoded) throw new ProtocolError('ERR_SMTP_BAD_REPLY', 'the server sent a 334 challenge that is not base64 (RFC 4954 §4)')
  return decoded
}
