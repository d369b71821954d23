import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { identityFromResult } from './auth-result.ts'
import { MalformedSaslMessage } from './errors.ts'
import type { Authenticate, ClientMechanism, ServerMechanism, ServerStep } from './mechanism.ts'
import { decodeUtf8, encodeUtf8 } from './utf8.ts'
import { checkCredentials } from './check-credentials.ts'

/** Credentials for {@link cramMd5}. */
export interface CramMd5Options {
  /** Not empty. */
  readonly username: string
  readonly password: string
}

/**
 * The client side of CRAM-MD5 (RFC 2195): no initial response; the server's challenge is answered
 * with `username SP hex(HMAC-MD5(password, challenge))`. The password does not cross the wire,
 * but the server must store it in clear, and a captured exchange allows an offline dictionary
 * attack, so prefer SCRAM-SHA-256. Throws a TypeError for an empty username.
 */
export function cramMd5(options: CramMd5Options): ClientMechanism {
  checkCredentials('cramMd5()', options, { username: 'string', password: 'string' })
  const { username, password } = options
  if (typeof username !== 'string' || username === '') throw new TypeError('CRAM-MD5 username must be a non-empty string')
  if (typeof password !== 'string') throw new TypeError('CRAM-MD5 password must be a string')
  encodeUtf8(username, 'CRAM-MD5 username')
  return new CramMd5Client(username, encodeUtf8(password, 'CRAM-MD5 password'))
}

function digest(password: Uint8Array, challenge: Uint8Array): Buffer {
  return createHmac('md5', password).update(challenge).digest()
}

class CramMd5Client implements ClientMechanism {
  readonly name = 'CRAM-MD5'
  readonly sendsPasswordInClear = false
  readonly fresh: () => ClientMechanism
  #username: string
  #password: Uint8Array
  #answered = false

  constructor(username: string, password: Uint8Array) {
    this.#username = username
    this.#password = password
    this.fresh = () => new CramMd5Client(username, password)
  }

  get isComplete(): boolean {
    return this.#answered
  }

  start(): null {
    return null
  }

  next(challenge: Uint8Array): Uint8Array {
    if (this.#answered) throw new MalformedSaslMessage('CRAM-MD5: the server sent a second challenge')
    if (challenge.length === 0) throw new MalformedSaslMessage('CRAM-MD5: the server sent an empty challenge')
    this.#answered = true
    // RFC 2195 §2: the digest is written as 32 lowercase hex digits after a single space.
    return encodeUtf8(`${this.#username} ${digest(this.#password, challenge).toString('hex')}`, 'CRAM-MD5 response')
  }
}

/** Options for {@link cramMd5Server}. */
export interface CramMd5ServerOptions {
  /** The server's host name, written into the challenge. */
  readonly hostname: string
}

const HOSTNAME = /^[\x21-\x3b\x3d\x3f-\x7e]+$/
const RESPONSE_DIGEST = /^[0-9a-f]{32}$/i

/**
 * The server side of CRAM-MD5 (RFC 2195). Sends `<random.timestamp@hostname>` (the random part
 * unpredictable, so a captured response cannot be replayed), then asks the hook with a
 * `CramMd5AuthRequest`. CRAM-MD5 has no initial response; one is a MalformedSaslMessage.
 * Throws a TypeError for a hostname with spaces, controls or angle brackets.
 */
export function cramMd5Server(authenticate: Authenticate, options: CramMd5ServerOptions): ServerMechanism {
  if (!HOSTNAME.test(options.hostname)) throw new TypeError(`CRAM-MD5 hostname ${JSON.stringify(options.hostname)} is not usable in a challenge`)
  return new CramMd5Server(authenticate, options.hostname)
}

class CramMd5Server implements ServerMechanism {
  readonly name = 'CRAM-MD5'
  #authenticate: Authenticate
  #hostname: string
  #challenge: Uint8Array | undefined
  #finished = false

  constructor(authenticate: Authenticate, hostname: string) {
    this.#authenticate = authenticate
    this.#hostname = hostname
  }

  async next(response: Uint8Array | null): Promise<ServerStep> {
    if (this.#finished) throw new Error('CRAM-MD5: the exchange is already finished')
    const challenge = this.#challenge
    if (challenge === undefined) {
      if (response !== null) {
        this.#finished = true
        throw new MalformedSaslMessage('CRAM-MD5: the mechanism takes no initial response')
      }
      // RFC 2195 §2: "presumptively arbitrary string of random digits, a timestamp, and the
      // fully-qualified primary host name of the server", in msg-id form.
      const random = randomBytes(8).readBigUInt64BE()
      this.#challenge = encodeUtf8(`<${random}.${Date.now()}@${this.#hostname}>`, 'CRAM-MD5 challenge')
      return { done: false, challenge: this.#challenge }
    }
    if (response === null) throw new TypeError('CRAM-MD5: null response is only allowed as the initial response')
    this.#finished = true
    const { username, sent } = parseCramMd5Response(response)
    let verified = false
    const verify = (password: string): boolean => {
      if (typeof password !== 'string') throw new TypeError('CRAM-MD5 verify() takes the password as a string')
      const ok = timingSafeEqual(digest(encodeUtf8(password, 'CRAM-MD5 password'), challenge), sent)
      verified ||= ok
      return ok
    }
    const result = await this.#authenticate({ mechanism: 'CRAM-MD5', username, verify })
    const identity = identityFromResult('CRAM-MD5', result, username, undefined)
    if (!verified) throw new TypeError('authenticate accepted CRAM-MD5 credentials without a successful verify(password) call')
    return { done: true, identity }
  }
}

/**
 * Splits a CRAM-MD5 response at its last space into username and the 16-byte digest. Throws
 * MalformedSaslMessage for anything else. Hex case is not enforced: RFC 2195 asks for lowercase,
 * but the digest's meaning does not depend on it.
 */
export function parseCramMd5Response(response: Uint8Array): { username: string; sent: Buffer } {
  const text = decodeUtf8(response)
  if (text === undefined) throw new MalformedSaslMessage('CRAM-MD5: the response is not valid UTF-8')
  const space = text.lastIndexOf(' ')
  const hex = text.slice(space + 1)
  if (space <= 0 || !RESPONSE_DIGEST.test(hex)) throw new MalformedSaslMessage('CRAM-MD5: expected "username digest" with a 32-digit hex digest')
  return { username: text.slice(0, space), sent: Buffer.from(hex, 'hex') }
}
