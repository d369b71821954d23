import { cramMd5 } from './cram-md5.ts'
import { login } from './login.ts'
import type { ClientMechanism } from './mechanism.ts'
import { plain } from './plain.ts'
import { scramSha256 } from './scram-sha-256.ts'

/**
 * The password mechanisms a client may pick from what a server offers, strongest first.
 * XOAUTH2 is not among them: it needs a token, so it is used only when asked for by name.
 */
export const clientMechanismPreference = ['SCRAM-SHA-256', 'CRAM-MD5', 'PLAIN', 'LOGIN'] as const

/** A name from {@link clientMechanismPreference}. */
export type PasswordMechanismName = (typeof clientMechanismPreference)[number]

/** True when mechanism `name` can carry an authorization identity (PLAIN, SCRAM-SHA-256). */
export function canCarryAuthorizationId(name: string): boolean {
  const upper = name.toUpperCase()
  return upper !== 'LOGIN' && upper !== 'CRAM-MD5'
}

/** What {@link fromPassword} needs. */
export interface PasswordCredentials {
  readonly username: string
  readonly password: string
  /** The identity to act as. Only PLAIN and SCRAM-SHA-256 can carry one. */
  readonly authorizationId?: string | undefined
}

/**
 * Creates the client mechanism `name` (matched without regard to case) for a username and
 * password, or returns undefined when `name` is not a password mechanism smtpkit implements.
 * Throws a TypeError for credentials the mechanism cannot carry, such as an authorizationId with
 * LOGIN or CRAM-MD5.
 */
export function fromPassword(name: string, credentials: PasswordCredentials): ClientMechanism | undefined {
  const { username, password, authorizationId } = credentials
  const upper = name.toUpperCase()
  if (authorizationId && !canCarryAuthorizationId(upper)) {
    throw new TypeError(`${upper} cannot carry an authorization identity; use PLAIN or SCRAM-SHA-256`)
  }
  switch (upper) {
    case 'SCRAM-SHA-256':
      return scramSha256({ username, password, authorizationId })
    case 'CRAM-MD5':
      return cramMd5({ username, password })
    case 'PLAIN':
      return plain({ username, password, authorizationId })
    case 'LOGIN':
      return login({ username, password })
    default:
      return undefined
  }
}
