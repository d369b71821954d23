import { AuthenticationFailed } from './errors.ts'

/**
 * Turns the `authenticate` hook's verdict for a password-checking mechanism (PLAIN, LOGIN,
 * XOAUTH2, CRAM-MD5) into the authenticated identity, or throws. See `AuthResult` for the rules;
 * the one that matters for safety is that plain `true` never grants an authorization identity
 * other than the username.
 */
export function identityFromResult(
  mechanism: string,
  result: unknown,
  username: string,
  authorizationId: string | undefined,
): string {
  if (result === false) throw new AuthenticationFailed(`${mechanism}: credentials refused for ${JSON.stringify(username)}`)
  if (result === true) {
    if (authorizationId !== undefined && authorizationId !== username) throw refusedAuthorization(mechanism, username, authorizationId)
    return username
  }
  if (isIdentityResult(result)) return result.identity
  throw new TypeError(`authenticate returned ${describe(result)} for ${mechanism}; expected true, false or { identity: string }`)
}

/** The refusal for a client that asked to act as someone the hook did not explicitly allow. */
export function refusedAuthorization(mechanism: string, username: string, authorizationId: string): AuthenticationFailed {
  return new AuthenticationFailed(
    `${mechanism}: ${JSON.stringify(username)} may not act as ${JSON.stringify(authorizationId)} (authenticate must return { identity } to allow it)`,
  )
}

/** True for `{ identity: '<non-empty>' }` that is not also carrying SCRAM credentials by mistake. */
export function isIdentityResult(value: unknown): value is { identity: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { identity?: unknown }).identity === 'string' &&
    (value as { identity: string }).identity !== '' &&
    !('credentials' in value)
  )
}

/** A short description of an unexpected hook result, for TypeError messages (never the value: it may be a secret). */
export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object of the wrong shape' : `a ${typeof value}`
}
