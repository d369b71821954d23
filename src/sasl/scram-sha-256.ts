import { createHash, createHmac, pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'
import { AuthenticationFailed, MalformedSaslMessage } from './errors.ts'
import type { ClientMechanism, ScramCredentials } from './mechanism.ts'
import { saslPrep } from './saslprep.ts'
import {
  formatClientFinalWithoutProof,
  formatClientFirst,
  isNonce,
  parseServerFinal,
  parseServerFirst,
  type ClientFirst,
} from './scram-message.ts'
import { decodeUtf8, encodeUtf8 } from './utf8.ts'
import { checkCredentials } from './check-credentials.ts'

const NAME = 'SCRAM-SHA-256'
const KEY_BYTES = 32

/** Credentials for {@link scramSha256}. */
export interface ScramSha256Options {
  /** The authentication identity. Not empty after SASLprep. */
  readonly username: string
  readonly password: string
  /** The identity to act as; omitted or empty to act as `username`. */
  readonly authorizationId?: string | undefined
  /**
   * The highest iteration count accepted from the server, which bounds the PBKDF2 work (done
   * synchronously) a hostile server can demand. Default: 1,000,000.
   */
  readonly maxIterations?: number
}

/** Defaults of the SCRAM-SHA-256 options. */
export const scramDefaults = Object.freeze({
  /** Iterations for `deriveScramCredentials`, and the minimum RFC 7677 §4 recommends. */
  iterations: 4096,
  maxIterations: 1_000_000,
  saltBytes: 16,
})

/** HMAC-SHA-256. */
export function hmac(key: Uint8Array, data: string | Uint8Array): Buffer {
  return createHmac('sha256', key).update(data).digest()
}

/** SHA-256. */
export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest()
}

/** XOR of two equal-length byte strings. */
export function xor(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.alloc(a.length)
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!
  return out
}

/** ClientKey, StoredKey and ServerKey from SaltedPassword (RFC 5802 §3). */
export function keysFromSaltedPassword(saltedPassword: Uint8Array): { clientKey: Buffer; storedKey: Buffer; serverKey: Buffer } {
  const clientKey = hmac(saltedPassword, 'Client Key')
  return { clientKey, storedKey: sha256(clientKey), serverKey: hmac(saltedPassword, 'Server Key') }
}

function checkIterations(iterations: number, what: string): void {
  if (!Number.isSafeInteger(iterations) || iterations < 1) throw new RangeError(`${what} must be a positive integer`)
}

/**
 * Computes what a server stores for a SCRAM-SHA-256 user instead of the password (RFC 5802 §3):
 * `SaltedPassword = PBKDF2-HMAC-SHA-256(SASLprep(password), salt, iterations)`, then StoredKey and
 * ServerKey. Runs PBKDF2 off the main thread. The salt defaults to 16 random bytes and the count
 * to 4096 (RFC 7677 §4). Throws a TypeError for a password SASLprep prohibits, a RangeError for
 * a bad count or an empty salt.
 */
export async function deriveScramCredentials(
  password: string,
  options: { readonly salt?: Uint8Array; readonly iterations?: number } = {},
): Promise<ScramCredentials> {
  const { salt = randomBytes(scramDefaults.saltBytes), iterations = scramDefaults.iterations } = options
  checkIterations(iterations, 'SCRAM iterations')
  if (salt.length === 0) throw new RangeError('SCRAM salt must not be empty')
  const prepared = encodeUtf8(saslPrep(password, 'SCRAM password'), 'SCRAM password')
  const saltedPassword = await new Promise<Buffer>((resolve, reject) => {
    pbkdf2(prepared, salt, iterations, KEY_BYTES, 'sha256', (error, key) => (error ? reject(error) : resolve(key)))
  })
  const { storedKey, serverKey } = keysFromSaltedPassword(saltedPassword)
  return { salt: Uint8Array.from(salt), iterations, storedKey, serverKey }
}

/**
 * The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding: gs2 header
 * `n,,`, or `n,a=<authzid>,` with an authorization identity. Username, authzid and password go
 * through SASLprep; `=` and `,` in names are escaped as `=3D` and `=2C`. The password never
 * crosses the wire, and the server must prove it knows it: `next` throws AuthenticationFailed when
 * the server's signature does not match or it sends `e=...`. Throws a TypeError for an empty
 * username or one SASLprep prohibits, a RangeError for a bad `maxIterations`.
 */
export function scramSha256(options: ScramSha256Options): ClientMechanism {
  return scramSha256WithTestNonce(options, randomBytes(18).toString('base64'))
}

/**
 * {@link scramSha256} with a fixed client nonce, for reproducing the RFC 7677 test vector only:
 * a repeated nonce destroys SCRAM's replay protection. Not exported from the package.
 */
export function scramSha256WithTestNonce(options: ScramSha256Options, nonce: string): ClientMechanism {
  checkCredentials('scramSha256()', options, { username: 'string', password: 'string', authorizationId: 'string', maxIterations: 'number' })
  const { username, password, authorizationId, maxIterations = scramDefaults.maxIterations } = options
  if (typeof username !== 'string' || typeof password !== 'string') throw new TypeError('SCRAM-SHA-256 username and password must be strings')
  const preparedUsername = saslPrep(username, 'SCRAM-SHA-256 username')
  if (preparedUsername === '') throw new TypeError('SCRAM-SHA-256 username must not be empty')
  const preparedAuthzid = authorizationId ? saslPrep(authorizationId, 'SCRAM-SHA-256 authorizationId') : undefined
  checkIterations(maxIterations, 'SCRAM-SHA-256 maxIterations')
  if (!isNonce(nonce)) throw new TypeError('SCRAM-SHA-256 nonce must be printable ASCII without ","')
  const first = formatClientFirst(preparedUsername, preparedAuthzid || undefined, nonce)
  const preparedPassword = encodeUtf8(saslPrep(password, 'SCRAM-SHA-256 password'), 'SCRAM-SHA-256 password')
  // Each exchange needs a nonce of its own (RFC 5802 §5.1).
  return new ScramSha256Client(first, preparedPassword, maxIterations, () => scramSha256(options))
}

function malformed(what: string): MalformedSaslMessage {
  return new MalformedSaslMessage(`${NAME}: ${what}`)
}

class ScramSha256Client implements ClientMechanism {
  readonly name = NAME
  readonly sendsPasswordInClear = false
  readonly fresh: () => ClientMechanism
  #first: ClientFirst & { text: string }
  #password: Uint8Array
  #maxIterations: number
  #state: 'initial' | 'first-sent' | 'final-sent' | 'verified' | 'failed' = 'initial'
  #serverSignature: Buffer | undefined

  constructor(first: ClientFirst & { text: string }, password: Uint8Array, maxIterations: number, fresh: () => ClientMechanism) {
    this.fresh = fresh
    this.#first = first
    this.#password = password
    this.#maxIterations = maxIterations
  }

  get isComplete(): boolean {
    return this.#state === 'verified'
  }

  start(): Uint8Array {
    if (this.#state !== 'initial') throw new Error(`${NAME}: start() called twice`)
    this.#state = 'first-sent'
    return encodeUtf8(this.#first.text, 'client-first-message')
  }

  next(challenge: Uint8Array): Uint8Array {
    const state = this.#state
    this.#state = 'failed'
    switch (state) {
      case 'initial':
        // RFC 4954 §4: a server given no initial response asks for it with an empty challenge.
        if (challenge.length !== 0) throw malformed('the server sent a non-empty first challenge')
        this.#state = 'first-sent'
        return encodeUtf8(this.#first.text, 'client-first-message')
      case 'first-sent': {
        const message = this.#clientFinal(challenge)
        this.#state = 'final-sent'
        return message
      }
      case 'final-sent':
        this.#verifyServer(challenge)
        this.#state = 'verified'
        // RFC 4954 §4: the server-final-message comes as a challenge and gets an empty response.
        return new Uint8Array(0)
      case 'verified':
        throw malformed('the server sent a challenge after its final message')
      case 'failed':
        throw new Error(`${NAME}: the exchange already failed`)
    }
  }

  #clientFinal(challenge: Uint8Array): Uint8Array {
    const text = decodeUtf8(challenge)
    if (text === undefined) throw malformed('server-first-message is not valid UTF-8')
    const serverFirst = parseServerFirst(text)
    // RFC 5802 §5.1: the server's nonce must extend ours, or this is a replay or a confused server.
    if (!serverFirst.nonce.startsWith(this.#first.nonce) || serverFirst.nonce.length === this.#first.nonce.length) {
      throw malformed('the server nonce does not extend the client nonce')
    }
    if (serverFirst.salt.length === 0) throw malformed('the server sent an empty salt')
    // RFC 7677 §4: at least 4096. A lower count makes a captured exchange cheap to attack
    // offline, which is what a man in the middle asking for i=1 wants.
    if (serverFirst.iterations < scramDefaults.iterations) {
      throw new AuthenticationFailed(`${NAME}: the server asks for ${serverFirst.iterations} iterations, fewer than the ${scramDefaults.iterations} RFC 7677 §4 requires; refusing, since that would make the password cheap to recover from the exchange`)
    }
    if (serverFirst.iterations > this.#maxIterations) {
      throw malformed(`the server asks for ${serverFirst.iterations} iterations, more than maxIterations (${this.#maxIterations})`)
    }
    const saltedPassword = pbkdf2Sync(this.#password, serverFirst.salt, serverFirst.iterations, KEY_BYTES, 'sha256')
    const { clientKey, storedKey, serverKey } = keysFromSaltedPassword(saltedPassword)
    const withoutProof = formatClientFinalWithoutProof(this.#first.gs2Header, serverFirst.nonce)
    const authMessage = `${this.#first.bare},${text},${withoutProof}`
    const proof = xor(clientKey, hmac(storedKey, authMessage))
    this.#serverSignature = hmac(serverKey, authMessage)
    return encodeUtf8(`${withoutProof},p=${proof.toString('base64')}`, 'client-final-message')
  }

  #verifyServer(challenge: Uint8Array): void {
    const text = decodeUtf8(challenge)
    if (text === undefined) throw malformed('server-final-message is not valid UTF-8')
    const final = parseServerFinal(text)
    if ('error' in final) throw new AuthenticationFailed(`${NAME}: the server reported ${JSON.stringify(final.error)}`)
    const expected = this.#serverSignature!
    if (final.verifier.length !== expected.length || !timingSafeEqual(final.verifier, expected)) {
      throw new AuthenticationFailed(`${NAME}: the server's signature does not match; it does not know the password, or the exchange was tampered with`)
    }
  }
}
