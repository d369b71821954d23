/**
 * SASL authentication failed: the server refused the credentials, or (client side) the server
 * failed to prove itself (a SCRAM server signature that does not match, an `e=` error).
 *
 * The message says why, for logs; it never contains a password or token, but it may say
 * "unknown user", so a server must not send it to the peer (RFC 4954 §6: reply `535 5.7.8` alike
 * for every refusal).
 */
export class AuthenticationFailed extends Error {
  readonly code = 'ERR_SASL_AUTHENTICATION_FAILED'

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'AuthenticationFailed'
  }
}

/**
 * A SASL message that does not parse: a client response the server cannot read (reply
 * `501 5.5.2`), or a server challenge the client cannot read or did not expect (the client cancels
 * with `*`). The message says what was wrong, never what the secret was.
 */
export class MalformedSaslMessage extends Error {
  readonly code = 'ERR_SASL_MALFORMED_MESSAGE'

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'MalformedSaslMessage'
  }
}
