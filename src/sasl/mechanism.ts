/**
 * The client's half of a SASL mechanism (RFC 4422): a step machine over raw bytes. It knows
 * nothing of SMTP: the client base64-encodes what it returns, decodes each `334` challenge
 * before handing it over (RFC 4954 §4), and sends `*` to cancel when `next` throws.
 *
 * Contract: call `start` once, first; then `next` once per challenge. A client that sends no
 * initial response may skip `start`: the mechanism then answers the server's empty first challenge
 * with what `start` would have returned. A mechanism is good for one exchange only.
 */
export interface ClientMechanism {
  /** The registered mechanism name, upper case: `'PLAIN'`, `'SCRAM-SHA-256'`, ... */
  readonly name: string
  /**
   * True when the exchange carries the password (or bearer token) itself, readable by anyone who
   * sees the bytes: PLAIN, LOGIN and XOAUTH2. The client refuses every mechanism without TLS
   * (unless told `insecureAuthWithoutTls`): CRAM-MD5 and SCRAM do not send the password, but a
   * captured exchange still allows an offline dictionary attack on it.
   */
  readonly sendsPasswordInClear: boolean
  /**
   * True once the mechanism has sent its last message and, where it authenticates the server
   * (SCRAM-SHA-256), has verified the server's proof. A success reply (`235`) that arrives while
   * this is false means the server skipped steps; for SCRAM it never proved that it knows the
   * password, so the client must treat that success as a failure.
   */
  readonly isComplete: boolean
  /**
   * The initial response, sent with the command (`AUTH PLAIN <ir>`), or null when the mechanism
   * has none and waits for the server's first challenge (LOGIN, CRAM-MD5). An empty array is an
   * empty initial response (`=` on the wire, RFC 4954 §4).
   */
  start(): Uint8Array | null
  /**
   * Answers one server challenge. Throws `MalformedSaslMessage` when the challenge cannot be
   * parsed or comes when none is expected, and `AuthenticationFailed` when the server fails
   * to prove itself (a SCRAM server signature that does not match, or an `e=` error).
   */
  next(challenge: Uint8Array): Uint8Array
  /**
   * A new, unstarted mechanism with the same credentials. A mechanism is good for one exchange,
   * and a client that opens many connections (a pool) authenticates each of them: the client
   * calls this before every exchange when it is there, and uses the mechanism as given otherwise.
   * With `refresh`, the mechanism fetches new credentials where it can (XOAUTH2 asks its token
   * function again); see {@link canRefresh}. Every mechanism of this module has it.
   */
  fresh?(options: FreshMechanismOptions): ClientMechanism | Promise<ClientMechanism>
  /**
   * True when `fresh({ refresh: true })` gets new credentials (XOAUTH2 with a token function), so
   * a refused exchange is worth one more try with them.
   */
  readonly canRefresh?: boolean
}

/** What {@link ClientMechanism.fresh} is told. */
export interface FreshMechanismOptions {
  /** True after the server refused the last exchange: fetch new credentials (a new token). */
  readonly refresh: boolean
  /** Aborts fetching credentials. */
  readonly signal?: AbortSignal | undefined
}

/**
 * One step of a server-side exchange: either a challenge to send (`334`, base64-encoded by the
 * server) and wait for the client's response to, or the end of a successful exchange with the
 * identity the client is now authenticated (and authorized) as.
 */
export type ServerStep =
  | { readonly done: false; readonly challenge: Uint8Array }
  | { readonly done: true; readonly identity: string }

/**
 * The server's half of a SASL mechanism: an async step machine over raw bytes.
 *
 * Contract: the first call passes the initial response, or null when the client gave none (the
 * mechanism then answers with its first challenge, empty for mechanisms that expect the client
 * to speak first). Each later call passes the client's response to the last challenge; null is
 * then a TypeError. Failures reject: `AuthenticationFailed` when the credentials are
 * refused (reply `535 5.7.8`), `MalformedSaslMessage` when the client's message is not
 * well formed (reply `501 5.5.2`); any other error comes from the `authenticate` hook or is a bug
 * (reply `454 4.7.0`). After `done` or a rejection the mechanism is spent and `next` throws.
 */
export interface ServerMechanism {
  /** The registered mechanism name, upper case. */
  readonly name: string
  next(response: Uint8Array | null): Promise<ServerStep>
}

/** PLAIN (RFC 4616) credentials. The hook checks the password and decides on the authzid. */
export interface PlainAuthRequest {
  readonly mechanism: 'PLAIN'
  /** The identity to act as, or undefined when the client asked for none (empty authzid). */
  readonly authorizationId: string | undefined
  readonly username: string
  readonly password: string
}

/** LOGIN credentials. */
export interface LoginAuthRequest {
  readonly mechanism: 'LOGIN'
  readonly username: string
  readonly password: string
}

/** XOAUTH2 credentials: the `user=` value and the bearer token from `auth=Bearer <token>`. */
export interface Xoauth2AuthRequest {
  readonly mechanism: 'XOAUTH2'
  readonly username: string
  readonly token: string
}

/**
 * A CRAM-MD5 (RFC 2195) lookup: the hook finds the user's password and returns
 * `request.verify(password)`. Success needs a `verify` call that returned true, so a hook that
 * returns true without checking cannot let anyone in.
 */
export interface CramMd5AuthRequest {
  readonly mechanism: 'CRAM-MD5'
  readonly username: string
  /** True when `password` produces the digest the client sent. */
  verify(password: string): boolean
}

/**
 * A SCRAM-SHA-256 (RFC 5802, RFC 7677) lookup: the hook returns what the server needs to check
 * the client's proof (see {@link ScramLookup}). It is asked before the proof arrives, so it
 * cannot see the password.
 */
export interface ScramSha256AuthRequest {
  readonly mechanism: 'SCRAM-SHA-256'
  /** The authentication identity, unescaped (`=2C` and `=3D` decoded). */
  readonly username: string
  /** The identity to act as, or undefined when the client asked for none. */
  readonly authorizationId: string | undefined
}

/** What the server's `authenticate` hook is asked, discriminated by `mechanism`. */
export type AuthRequest =
  | PlainAuthRequest
  | LoginAuthRequest
  | Xoauth2AuthRequest
  | CramMd5AuthRequest
  | ScramSha256AuthRequest

/**
 * The hook's verdict for PLAIN, LOGIN, XOAUTH2 and CRAM-MD5.
 * - `true`: the credentials are good and the identity is the username. When the client asked to
 *   act as a different authorization identity, `true` is not enough: authentication fails.
 * - `{ identity }`: the credentials are good and the client is authenticated as `identity`
 *   (return `{ identity: request.authorizationId }` to grant an authzid).
 * - `false`: refused.
 */
export type AuthResult = boolean | { readonly identity: string }

/**
 * What the server keeps for a SCRAM-SHA-256 user instead of the password (RFC 5802 §3): salt,
 * iteration count, `StoredKey = H(ClientKey)` and `ServerKey`, each key 32 bytes. Build them with
 * `deriveScramCredentials`.
 */
export interface ScramCredentials {
  readonly salt: Uint8Array
  readonly iterations: number
  readonly storedKey: Uint8Array
  readonly serverKey: Uint8Array
}

/**
 * The hook's answer to a SCRAM-SHA-256 lookup.
 * - a string: the user's password (the server derives the keys with a salt of its own);
 * - {@link ScramCredentials}: precomputed keys;
 * - `{ credentials, identity }`: either of those, and the client is authenticated as `identity`
 *   (use it to grant an authzid; without it an authzid other than the username fails);
 * - null: unknown user, or a user who may not log in. The exchange still runs to the end with a
 *   made-up salt and fails there, so the wire does not tell unknown users from wrong passwords.
 */
export type ScramLookup =
  | string
  | ScramCredentials
  | { readonly credentials: string | ScramCredentials; readonly identity: string }
  | null

/**
 * The server's one authentication hook. It may throw: `AuthenticationFailed` refuses with
 * that reason; anything else is a local failure (the server replies `454 4.7.0`). Returning a value
 * of the wrong kind for the mechanism (a string for PLAIN, say) is a TypeError.
 */
export type Authenticate = (request: AuthRequest) => AuthResult | ScramLookup | Promise<AuthResult | ScramLookup>
