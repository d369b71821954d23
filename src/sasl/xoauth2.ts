import { identityFromResult } from './auth-result.ts'
import { AuthenticationFailed, MalformedSaslMessage } from './errors.ts'
import type { Authenticate, ClientMechanism, FreshMechanismOptions, ServerMechanism, ServerStep } from './mechanism.ts'
import { decodeUtf8, encodeUtf8 } from './utf8.ts'
import { checkCredentials } from './check-credentials.ts'

/** Credentials for {@link xoauth2}. */
export interface Xoauth2Options {
  /** The account, usually an email address. Not empty; no control characters. */
  readonly username: string
  /**
   * An OAuth 2.0 access token (RFC 6750 bearer token; not empty, no spaces or controls), or a
   * function that returns one. A function is asked before every exchange, with `refresh: true`
   * after the server refused the last token, so it can fetch a new one from the provider.
   */
  readonly accessToken: string | AccessTokenSource
}

/** Gets an access token: from a cache, or from the provider when `refresh` says the last one was refused. */
export type AccessTokenSource = (options: { readonly refresh: boolean; readonly signal?: AbortSignal | undefined }) => string | Promise<string>

/**
 * The error a server reports in an XOAUTH2 error challenge: the decoded JSON object, such as
 * `{ status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' }`.
 */
export type Xoauth2ServerError = { readonly status?: string; readonly schemes?: string; readonly scope?: string } & Readonly<
  Record<string, unknown>
>

/** The XOAUTH2 client mechanism, which keeps the server's error challenge for the caller's error message. */
export interface Xoauth2ClientMechanism extends ClientMechanism {
  /** The server's error, once it sent one; the exchange then ends in failure. */
  readonly serverError: Xoauth2ServerError | undefined
  fresh(options: FreshMechanismOptions): Xoauth2ClientMechanism | Promise<Xoauth2ClientMechanism>
}

const CONTROL = /[\x00-\x1f\x7f]/
const BEARER_TOKEN = /^[\x21-\x7e]+$/

/**
 * The client side of XOAUTH2 (Google's and Microsoft's format): the initial response is
 * `user=<username>^Aauth=Bearer <token>^A^A`. On failure the server sends a base64 JSON error as a
 * challenge; this mechanism answers it with an empty response, as Google documents, keeps it in
 * `serverError`, and the server then fails the command. The token travels in clear, so use it
 * over TLS only. Throws a TypeError for an empty or ill-formed username or token.
 *
 * With a token function, the token is fetched by `fresh()`, which the client calls before each
 * exchange (so a pool gets a current token for every connection, and one new token after a
 * refusal); calling `start()` on the mechanism returned here is then a TypeError.
 */
export function xoauth2(options: Xoauth2Options): Xoauth2ClientMechanism {
  checkCredentials('xoauth2()', options, { username: 'string', accessToken: ['string', 'function'] })
  const { username, accessToken } = options
  if (typeof username !== 'string' || username === '' || CONTROL.test(username)) {
    throw new TypeError('XOAUTH2 username must be a non-empty string without control characters')
  }
  if (typeof accessToken === 'function') return new Xoauth2Client(username, accessToken, undefined)
  return new Xoauth2Client(username, undefined, formatMessage(username, accessToken))
}

function formatMessage(username: string, accessToken: unknown): Uint8Array {
  if (typeof accessToken !== 'string' || !BEARER_TOKEN.test(accessToken)) {
    throw new TypeError('XOAUTH2 accessToken must be a non-empty string of printable ASCII without spaces')
  }
  return encodeUtf8(`user=${username}\x01auth=Bearer ${accessToken}\x01\x01`, 'XOAUTH2 username')
}

class Xoauth2Client implements Xoauth2ClientMechanism {
  readonly name = 'XOAUTH2'
  readonly sendsPasswordInClear = true
  readonly #username: string
  readonly #source: AccessTokenSource | undefined
  #message: Uint8Array | undefined
  #sent = false
  #serverError: Xoauth2ServerError | undefined

  constructor(username: string, source: AccessTokenSource | undefined, message: Uint8Array | undefined) {
    this.#username = username
    this.#source = source
    this.#message = message
  }

  get canRefresh(): boolean {
    return this.#source !== undefined
  }

  get isComplete(): boolean {
    return this.#sent
  }

  get serverError(): Xoauth2ServerError | undefined {
    return this.#serverError
  }

  fresh(options: FreshMechanismOptions): Xoauth2ClientMechanism | Promise<Xoauth2ClientMechanism> {
    const source = this.#source
    if (!source) return new Xoauth2Client(this.#username, undefined, this.#message)
    return (async () => {
      const token = await source({ refresh: options.refresh, signal: options.signal })
      const message = formatMessage(this.#username, token)
      return new Xoauth2Client(this.#username, source, message)
    })()
  }

  #takeMessage(): Uint8Array {
    if (this.#sent) throw new Error('XOAUTH2: start() called after the credentials were sent')
    if (this.#message === undefined) throw new TypeError('XOAUTH2 with an accessToken function: call fresh() to fetch the token first')
    this.#sent = true
    return this.#message
  }

  start(): Uint8Array {
    return this.#takeMessage()
  }

  next(challenge: Uint8Array): Uint8Array {
    if (!this.#sent) {
      // RFC 4954 §4: a server given no initial response asks for it with an empty challenge.
      if (challenge.length !== 0) throw new MalformedSaslMessage('XOAUTH2: the server sent a non-empty first challenge')
      return this.#takeMessage()
    }
    if (this.#serverError !== undefined) throw new MalformedSaslMessage('XOAUTH2: the server sent another challenge after its error')
    this.#serverError = parseServerError(challenge)
    return new Uint8Array(0)
  }
}

function parseServerError(challenge: Uint8Array): Xoauth2ServerError {
  const text = decodeUtf8(challenge)
  let value: unknown
  try {
    value = text === undefined ? undefined : JSON.parse(text)
  } catch {
    value = undefined
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MalformedSaslMessage('XOAUTH2: the server sent a challenge that is not a JSON error object')
  }
  return value as Xoauth2ServerError
}

/** The JSON error challenge the server sends when the token is refused, in Google's format. */
const ERROR_CHALLENGE = new TextEncoder().encode(JSON.stringify({ status: '401', schemes: 'bearer' }))

/**
 * The server side of XOAUTH2. Asks the hook with an `Xoauth2AuthRequest`. When the hook refuses
 * (returns false or throws AuthenticationFailed), it sends the JSON error as a challenge, waits for
 * the client's empty response, and then fails, as Google's and Microsoft's servers do. Without an
 * initial response it first sends an empty challenge.
 */
export function xoauth2Server(authenticate: Authenticate): ServerMechanism {
  return new Xoauth2Server(authenticate)
}

class Xoauth2Server implements ServerMechanism {
  readonly name = 'XOAUTH2'
  #authenticate: Authenticate
  #state: 'initial' | 'waiting' | 'failing' | 'finished' = 'initial'
  #failure: AuthenticationFailed | undefined

  constructor(authenticate: Authenticate) {
    this.#authenticate = authenticate
  }

  async next(response: Uint8Array | null): Promise<ServerStep> {
    const state = this.#state
    if (state === 'finished') throw new Error('XOAUTH2: the exchange is already finished')
    if (response === null) {
      if (state !== 'initial') throw new TypeError('XOAUTH2: null response is only allowed as the initial response')
      this.#state = 'waiting'
      return { done: false, challenge: new Uint8Array(0) }
    }
    this.#state = 'finished'
    if (state === 'failing') {
      if (response.length !== 0) throw new MalformedSaslMessage('XOAUTH2: expected an empty response to the error challenge')
      throw this.#failure
    }
    const { username, token } = parseXoauth2Message(response)
    try {
      const result = await this.#authenticate({ mechanism: 'XOAUTH2', username, token })
      return { done: true, identity: identityFromResult('XOAUTH2', result, username, undefined) }
    } catch (error) {
      if (!(error instanceof AuthenticationFailed)) throw error
      this.#failure = error
      this.#state = 'failing'
      return { done: false, challenge: ERROR_CHALLENGE }
    }
  }
}

/**
 * Reads `user=<username>^Aauth=Bearer <token>^A^A`. Keys may come in any order; unknown keys are
 * ignored, repeated ones are not. The scheme name is case-insensitive (RFC 7235 §2.1). Throws
 * MalformedSaslMessage for anything else.
 */
export function parseXoauth2Message(message: Uint8Array): { username: string; token: string } {
  const text = decodeUtf8(message)
  if (text === undefined) throw new MalformedSaslMessage('XOAUTH2: the message is not valid UTF-8')
  if (!text.endsWith('\x01\x01')) throw new MalformedSaslMessage('XOAUTH2: the message does not end with ^A^A')
  const fields = new Map<string, string>()
  for (const field of text.slice(0, -2).split('\x01')) {
    const equals = field.indexOf('=')
    if (equals <= 0) throw new MalformedSaslMessage('XOAUTH2: expected key=value fields separated by ^A')
    const key = field.slice(0, equals)
    if (fields.has(key)) throw new MalformedSaslMessage(`XOAUTH2: repeated field ${JSON.stringify(key)}`)
    fields.set(key, field.slice(equals + 1))
  }
  const username = fields.get('user')
  const auth = /^bearer +(\S+)$/i.exec(fields.get('auth') ?? '')
  if (username === undefined || username === '') throw new MalformedSaslMessage('XOAUTH2: missing user=')
  if (auth === null) throw new MalformedSaslMessage('XOAUTH2: missing auth=Bearer <token>')
  return { username, token: auth[1]! }
}
