import { cramMd5Server } from './cram-md5.ts'
import { loginServer } from './login.ts'
import type { Authenticate, ServerMechanism } from './mechanism.ts'
import { plainServer } from './plain.ts'
import { scramSha256Server } from './scram-sha-256-server.ts'
import { scramDefaults } from './scram-sha-256.ts'
import { xoauth2Server } from './xoauth2.ts'

/**
 * The mechanisms {@link createServerMechanism} implements, strongest first. Which ones a server
 * offers is its own choice: CRAM-MD5 needs passwords stored in clear, XOAUTH2 an OAuth token check.
 */
export const serverMechanismNames = ['SCRAM-SHA-256', 'CRAM-MD5', 'PLAIN', 'LOGIN', 'XOAUTH2'] as const

/** A name from {@link serverMechanismNames}. */
export type ServerMechanismName = (typeof serverMechanismNames)[number]

/** Options for {@link createServerMechanism}. */
export interface ServerMechanismOptions {
  /** CRAM-MD5: the host name written into the challenge. Default: `'localhost'`. */
  readonly hostname?: string
  /**
   * SCRAM-SHA-256: the iteration count for passwords the hook returns as strings and for unknown
   * users; keep it equal to the count of stored credentials. Default: 4096 (RFC 7677 §4).
   */
  readonly scramIterations?: number
}

/** Defaults of {@link ServerMechanismOptions}. */
export const serverMechanismDefaults = Object.freeze({ hostname: 'localhost', scramIterations: scramDefaults.iterations })

/**
 * Creates the server side of one SASL exchange for the mechanism `name` (matched without regard to
 * case, as clients vary), or undefined when smtpkit has no such mechanism. Create one per AUTH
 * command: a mechanism serves one exchange. Every credential check goes through `authenticate`.
 * Throws a TypeError or RangeError for bad options.
 */
export function createServerMechanism(
  name: string,
  authenticate: Authenticate,
  options: ServerMechanismOptions = {},
): ServerMechanism | undefined {
  if (typeof authenticate !== 'function') throw new TypeError('authenticate must be a function')
  switch (name.toUpperCase()) {
    case 'PLAIN':
      return plainServer(authenticate)
    case 'LOGIN':
      return loginServer(authenticate)
    case 'CRAM-MD5':
      return cramMd5Server(authenticate, { hostname: options.hostname ?? serverMechanismDefaults.hostname })
    case 'XOAUTH2':
      return xoauth2Server(authenticate)
    case 'SCRAM-SHA-256':
      return scramSha256Server(authenticate, { iterations: options.scramIterations ?? serverMechanismDefaults.scramIterations })
    default:
      return undefined
  }
}
