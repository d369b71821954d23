import { identityFromResult } from './auth-result.ts'
import { MalformedSaslMessage } from './errors.ts'
import type { Authenticate, ClientMechanism, ServerMechanism, ServerStep } from './mechanism.ts'
import { decodeUtf8, encodeUtf8 } from './utf8.ts'
import { checkCredentials } from './check-credentials.ts'

/** Credentials for {@link plain}. */
export interface PlainOptions {
  /** The authentication identity (authcid). Not empty, no NUL. */
  readonly username: string
  /** Not empty, no NUL. */
  readonly password: string
  /** The identity to act as (authzid); omitted or empty to act as `username`. No NUL. */
  readonly authorizationId?: string | undefined
}

const EMPTY = new Uint8Array(0)

/**
 * The client side of PLAIN (RFC 4616): one message, `authzid NUL authcid NUL passwd` in UTF-8,
 * sent as the initial response. The password travels in clear, so use it over TLS only.
 * Throws a TypeError for an empty username or password, or one containing NUL.
 */
export function plain(options: PlainOptions): ClientMechanism {
  checkCredentials('plain()', options, { username: 'string', password: 'string', authorizationId: 'string' })
  const { username, password, authorizationId = '' } = options
  // RFC 4616 §2: authcid and passwd are 1*SAFE, where SAFE is any UTF-8 character but NUL.
  checkField(username, 'PLAIN username', false)
  checkField(password, 'PLAIN password', false)
  checkField(authorizationId, 'PLAIN authorizationId', true)
  return new PlainClient(encodeUtf8(`${authorizationId}\0${username}\0${password}`, 'PLAIN credentials'))
}

function checkField(value: string, what: string, mayBeEmpty: boolean): void {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string`)
  if (!mayBeEmpty && value === '') throw new TypeError(`${what} must not be empty`)
  if (value.includes('\0')) throw new TypeError(`${what} must not contain NUL`)
}

class PlainClient implements ClientMechanism {
  readonly name = 'PLAIN'
  readonly sendsPasswordInClear = true
  readonly fresh: () => ClientMechanism
  #message: Uint8Array
  #sent = false

  constructor(message: Uint8Array) {
    this.#message = message
    this.fresh = () => new PlainClient(message)
  }

  get isComplete(): boolean {
    return this.#sent
  }

  start(): Uint8Array {
    if (this.#sent) throw new Error('PLAIN: start() called after the credentials were sent')
    this.#sent = true
    return this.#message
  }

  next(challenge: Uint8Array): Uint8Array {
    // RFC 4616 §2: a server given no initial response sends an empty challenge; nothing else.
    if (this.#sent) throw new MalformedSaslMessage('PLAIN: the server sent a challenge after the credentials')
    if (challenge.length !== 0) throw new MalformedSaslMessage('PLAIN: the server sent a non-empty challenge')
    this.#sent = true
    return this.#message
  }
}

/**
 * The server side of PLAIN (RFC 4616). Asks the hook with a `PlainAuthRequest`; an empty authzid
 * arrives as `authorizationId: undefined`. Without an initial response it sends one empty
 * challenge first.
 */
export function plainServer(authenticate: Authenticate): ServerMechanism {
  return new PlainServer(authenticate)
}

class PlainServer implements ServerMechanism {
  readonly name = 'PLAIN'
  #authenticate: Authenticate
  #state: 'initial' | 'waiting' | 'finished' = 'initial'

  constructor(authenticate: Authenticate) {
    this.#authenticate = authenticate
  }

  async next(response: Uint8Array | null): Promise<ServerStep> {
    if (this.#state === 'finished') throw new Error('PLAIN: the exchange is already finished')
    if (response === null) {
      if (this.#state !== 'initial') throw new TypeError('PLAIN: null response is only allowed as the initial response')
      this.#state = 'waiting'
      return { done: false, challenge: EMPTY }
    }
    this.#state = 'finished'
    const { authorizationId, username, password } = parsePlainMessage(response)
    const result = await this.#authenticate({ mechanism: 'PLAIN', authorizationId, username, password })
    return { done: true, identity: identityFromResult('PLAIN', result, username, authorizationId) }
  }
}

/**
 * Splits a PLAIN message into its three fields. Throws MalformedSaslMessage unless there are
 * exactly two NULs, the fields are UTF-8, and authcid and passwd are not empty (RFC 4616 §2).
 */
export function parsePlainMessage(message: Uint8Array): {
  authorizationId: string | undefined
  username: string
  password: string
} {
  const first = message.indexOf(0)
  const second = first === -1 ? -1 : message.indexOf(0, first + 1)
  if (second === -1) throw new MalformedSaslMessage('PLAIN: expected authzid NUL authcid NUL passwd')
  if (message.indexOf(0, second + 1) !== -1) throw new MalformedSaslMessage('PLAIN: more than two NUL separators')
  const authorizationId = decodeUtf8(message.subarray(0, first))
  const username = decodeUtf8(message.subarray(first + 1, second))
  const password = decodeUtf8(message.subarray(second + 1))
  if (authorizationId === undefined || username === undefined || password === undefined) {
    throw new MalformedSaslMessage('PLAIN: the message is not valid UTF-8')
  }
  if (username === '') throw new MalformedSaslMessage('PLAIN: empty authentication identity')
  if (password === '') throw new MalformedSaslMessage('PLAIN: empty password')
  return { authorizationId: authorizationId === '' ? undefined : authorizationId, username, password }
}
