import { identityFromResult } from './auth-result.ts'
import { MalformedSaslMessage } from './errors.ts'
import type { Authenticate, ClientMechanism, ServerMechanism, ServerStep } from './mechanism.ts'
import { decodeUtf8, encodeUtf8 } from './utf8.ts'
import { checkCredentials } from './check-credentials.ts'

/** Credentials for {@link login}. */
export interface LoginOptions {
  /** Not empty. */
  readonly username: string
  readonly password: string
}

/**
 * The client side of LOGIN (draft-murchison-sasl-login): no initial response; the first challenge
 * is answered with the username and the second with the password, whatever the prompts say
 * (servers word them differently). The password travels in clear, so use it over TLS only.
 * Throws a TypeError for an empty username.
 */
export function login(options: LoginOptions): ClientMechanism {
  checkCredentials('login()', options, { username: 'string', password: 'string' })
  const { username, password } = options
  if (typeof username !== 'string' || username === '') throw new TypeError('LOGIN username must be a non-empty string')
  if (typeof password !== 'string') throw new TypeError('LOGIN password must be a string')
  return new LoginClient([encodeUtf8(username, 'LOGIN username'), encodeUtf8(password, 'LOGIN password')])
}

class LoginClient implements ClientMechanism {
  readonly name = 'LOGIN'
  readonly sendsPasswordInClear = true
  readonly fresh: () => ClientMechanism
  #answers: readonly Uint8Array[]
  #step = 0

  constructor(answers: readonly Uint8Array[]) {
    this.#answers = answers
    this.fresh = () => new LoginClient(answers)
  }

  get isComplete(): boolean {
    return this.#step === this.#answers.length
  }

  start(): null {
    return null
  }

  next(_challenge: Uint8Array): Uint8Array {
    const answer = this.#answers[this.#step]
    if (answer === undefined) throw new MalformedSaslMessage('LOGIN: the server sent a third challenge')
    this.#step++
    return answer
  }
}

const USERNAME_PROMPT = new TextEncoder().encode('Username:')
const PASSWORD_PROMPT = new TextEncoder().encode('Password:')

/**
 * The server side of LOGIN: challenges `Username:` then `Password:` (raw bytes; the SMTP layer
 * base64-encodes them), then asks the hook with a `LoginAuthRequest`. An initial response is taken
 * as the username (`AUTH LOGIN <base64 username>`, which many clients send), skipping the first
 * prompt.
 */
export function loginServer(authenticate: Authenticate): ServerMechanism {
  return new LoginServer(authenticate)
}

class LoginServer implements ServerMechanism {
  readonly name = 'LOGIN'
  #authenticate: Authenticate
  #state: 'initial' | 'username' | 'password' | 'finished' = 'initial'
  #username = ''

  constructor(authenticate: Authenticate) {
    this.#authenticate = authenticate
  }

  async next(response: Uint8Array | null): Promise<ServerStep> {
    const state = this.#state
    if (state === 'finished') throw new Error('LOGIN: the exchange is already finished')
    if (response === null) {
      if (state !== 'initial') throw new TypeError('LOGIN: null response is only allowed as the initial response')
      this.#state = 'username'
      return { done: false, challenge: USERNAME_PROMPT }
    }
    this.#state = 'finished'
    if (state === 'initial' || state === 'username') {
      const username = decodeUtf8(response)
      if (username === undefined) throw new MalformedSaslMessage('LOGIN: the username is not valid UTF-8')
      if (username === '') throw new MalformedSaslMessage('LOGIN: empty username')
      this.#username = username
      this.#state = 'password'
      return { done: false, challenge: PASSWORD_PROMPT }
    }
    const password = decodeUtf8(response)
    if (password === undefined) throw new MalformedSaslMessage('LOGIN: the password is not valid UTF-8')
    const username = this.#username
    const result = await this.#authenticate({ mechanism: 'LOGIN', username, password })
    return { done: true, identity: identityFromResult('LOGIN', result, username, undefined) }
  }
}
