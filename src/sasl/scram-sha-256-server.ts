import { randomBytes, timingSafeEqual } from 'node:crypto'
import { describe, refusedAuthorization } from './auth-result.ts'
import { AuthenticationFailed, MalformedSaslMessage } from './errors.ts'
import type { Authenticate, ScramCredentials, ScramLookup, ServerMechanism, ServerStep } from './mechanism.ts'
import { formatServerFirst, isNonce, parseClientFinal, parseClientFirst, type ClientFirst } from './scram-message.ts'
import { deriveScramCredentials, hmac, scramDefaults, sha256, xor } from './scram-sha-256.ts'
import { decodeUtf8, encodeUtf8 } from './utf8.ts'

const NAME = 'SCRAM-SHA-256'
const KEY_BYTES = 32

/** Options for {@link scramSha256Server}. */
export interface ScramSha256ServerOptions {
  /**
   * The iteration count used when the hook returns a password as a string, and for unknown users.
   * Keep it equal to the count of stored credentials, so unknown users look like known ones.
   */
  readonly iterations: number
  /** A fixed server nonce part, for reproducing the RFC 7677 test vector only. Not exported from the package. */
  readonly insecureTestNonce?: string
}

// A per-process key for the salts the server makes up (for unknown users, and for passwords the
// hook returns as strings): one username always gets the same salt, so probing it twice shows no
// difference between a user who exists and one who does not.
const SALT_KEY = randomBytes(32)

function madeUpSalt(username: string): Buffer {
  return hmac(SALT_KEY, `salt\0${username}`).subarray(0, scramDefaults.saltBytes)
}

function malformed(what: string): MalformedSaslMessage {
  return new MalformedSaslMessage(`${NAME}: ${what}`)
}

function failed(what: string): AuthenticationFailed {
  return new AuthenticationFailed(`${NAME}: ${what}`)
}

function isScramCredentials(value: unknown): value is ScramCredentials {
  if (typeof value !== 'object' || value === null) return false
  const { salt, iterations, storedKey, serverKey } = value as Partial<ScramCredentials>
  return (
    salt instanceof Uint8Array &&
    salt.length > 0 &&
    Number.isSafeInteger(iterations) &&
    iterations! >= 1 &&
    storedKey instanceof Uint8Array &&
    storedKey.length === KEY_BYTES &&
    serverKey instanceof Uint8Array &&
    serverKey.length === KEY_BYTES
  )
}

/**
 * The server side of SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding. Steps: the
 * client-first-message (as initial response, or after an empty challenge) is answered with the
 * server-first-message, after asking the hook with a `ScramSha256AuthRequest`; the
 * client-final-message is checked and answered with the server-final-message (`v=...`); the
 * client's empty response ends it. A wrong proof, an unknown user, mismatched nonce or channel
 * binding data, or an authzid the hook did not grant fail with AuthenticationFailed at the
 * client-final step; the `e=` attribute is not sent, since SMTP cannot carry data with a 535 reply.
 */
export function scramSha256Server(authenticate: Authenticate, options: ScramSha256ServerOptions): ServerMechanism {
  if (!Number.isSafeInteger(options.iterations) || options.iterations < 1) throw new RangeError('SCRAM-SHA-256 iterations must be a positive integer')
  if (options.insecureTestNonce !== undefined && !isNonce(options.insecureTestNonce)) throw new TypeError('SCRAM-SHA-256 nonce must be printable ASCII without ","')
  return new ScramSha256Server(authenticate, options)
}

interface Exchange {
  readonly first: ClientFirst
  readonly serverFirst: string
  readonly nonce: string
  readonly credentials: ScramCredentials
  readonly known: boolean
  readonly grantedIdentity: string | undefined
}

class ScramSha256Server implements ServerMechanism {
  readonly name = NAME
  #authenticate: Authenticate
  #options: ScramSha256ServerOptions
  #state: 'initial' | 'first' | 'final' | 'ack' | 'finished' = 'initial'
  #exchange: Exchange | undefined
  #identity = ''

  constructor(authenticate: Authenticate, options: ScramSha256ServerOptions) {
    this.#authenticate = authenticate
    this.#options = options
  }

  async next(response: Uint8Array | null): Promise<ServerStep> {
    const state = this.#state
    if (state === 'finished') throw new Error(`${NAME}: the exchange is already finished`)
    if (response === null) {
      if (state !== 'initial') throw new TypeError(`${NAME}: null response is only allowed as the initial response`)
      this.#state = 'first'
      return { done: false, challenge: new Uint8Array(0) }
    }
    this.#state = 'finished'
    switch (state) {
      case 'initial':
      case 'first': {
        const challenge = await this.#serverFirst(response)
        this.#state = 'final'
        return { done: false, challenge }
      }
      case 'final': {
        const challenge = this.#serverFinal(response)
        this.#state = 'ack'
        return { done: false, challenge }
      }
      case 'ack':
        if (response.length !== 0) throw malformed('expected an empty response to the server-final-message')
        return { done: true, identity: this.#identity }
    }
  }

  async #serverFirst(response: Uint8Array): Promise<Uint8Array> {
    const text = decodeUtf8(response)
    if (text === undefined) throw malformed('client-first-message is not valid UTF-8')
    const first = parseClientFirst(text)
    const lookup = await this.#authenticate({ mechanism: NAME, username: first.username, authorizationId: first.authorizationId })
    const { credentials, known, grantedIdentity } = await this.#resolve(lookup, first.username)
    const nonce = first.nonce + (this.#options.insecureTestNonce ?? randomBytes(18).toString('base64'))
    const serverFirst = formatServerFirst({ nonce, salt: credentials.salt, iterations: credentials.iterations })
    this.#exchange = { first, serverFirst, nonce, credentials, known, grantedIdentity }
    return encodeUtf8(serverFirst, 'server-first-message')
  }

  async #resolve(
    lookup: ScramLookup | boolean | { identity: string },
    username: string,
  ): Promise<{ credentials: ScramCredentials; known: boolean; grantedIdentity: string | undefined }> {
    const iterations = this.#options.iterations
    if (lookup === null) {
      // Unknown user: the same work and the same kind of answer as for a known one (RFC 5802 §9).
      const credentials = await deriveScramCredentials(randomBytes(16).toString('hex'), { salt: madeUpSalt(username), iterations })
      return { credentials, known: false, grantedIdentity: undefined }
    }
    if (typeof lookup === 'string') {
      return { credentials: await deriveScramCredentials(lookup, { salt: madeUpSalt(username), iterations }), known: true, grantedIdentity: undefined }
    }
    if (isScramCredentials(lookup)) return { credentials: lookup, known: true, grantedIdentity: undefined }
    if (typeof lookup === 'object' && 'credentials' in lookup && typeof lookup.identity === 'string' && lookup.identity !== '') {
      const inner = lookup.credentials
      if (typeof inner === 'string' || isScramCredentials(inner)) {
        const { credentials } = await this.#resolve(inner, username)
        return { credentials, known: true, grantedIdentity: lookup.identity }
      }
    }
    throw new TypeError(
      `authenticate returned ${describe(lookup)} for ${NAME}; expected a password, ScramCredentials, { credentials, identity } or null`,
    )
  }

  #serverFinal(response: Uint8Array): Uint8Array {
    const exchange = this.#exchange!
    const text = decodeUtf8(response)
    if (text === undefined) throw malformed('client-final-message is not valid UTF-8')
    const final = parseClientFinal(text)
    if (final.proof.length !== KEY_BYTES) throw malformed(`the proof is ${final.proof.length} bytes, not ${KEY_BYTES}`)
    // RFC 5802 §5.1: without channel binding, c= carries the gs2 header from the first message.
    const gs2Header = Buffer.from(exchange.first.gs2Header, 'utf8')
    if (final.channelBinding.length !== gs2Header.length || !timingSafeEqual(final.channelBinding, gs2Header)) {
      throw failed('the channel binding data does not match the gs2 header')
    }
    if (final.nonce !== exchange.nonce) throw failed('the nonce does not match the one the server sent')
    const { storedKey, serverKey } = exchange.credentials
    const authMessage = `${exchange.first.bare},${exchange.serverFirst},${final.withoutProof}`
    const clientKey = xor(final.proof, hmac(storedKey, authMessage))
    const proofMatches = timingSafeEqual(sha256(clientKey), storedKey)
    const { username, authorizationId } = exchange.first
    if (!exchange.known) throw failed(`unknown user ${JSON.stringify(username)}`)
    if (!proofMatches) throw failed(`wrong password for ${JSON.stringify(username)}`)
    if (exchange.grantedIdentity !== undefined) this.#identity = exchange.grantedIdentity
    else if (authorizationId !== undefined && authorizationId !== username) throw refusedAuthorization(NAME, username, authorizationId)
    else this.#identity = username
    return encodeUtf8(`v=${hmac(serverKey, authMessage).toString('base64')}`, 'server-final-message')
  }
}
