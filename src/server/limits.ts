import { checkOptions, type OptionHints, type OptionKinds } from '../options/check-options.ts'
import { MAX_COMMAND_LINE_OCTETS, MIN_RECIPIENTS, SERVER_COMMAND_TIMEOUT_MS } from '../protocol/limits.ts'

/**
 * The abuse protections of a {@link Server}: every number that bounds what one peer (or all
 * peers together) can make the server hold, wait for or retry. Override any of them through the
 * server's `limits` option; the rest keep {@link serverLimitDefaults}.
 */
export interface ServerLimits {
  /** Open connections across the server; one more gets `421 4.7.0` and is closed. Default 1000. */
  readonly maxConnections: number
  /**
   * Open connections from one IP address; one more gets `421 4.7.0`. Loopback is not counted
   * unless `countLoopbackPerIp`; every client behind a PROXY header's Unix socket counts as one.
   * Default 20.
   */
  readonly maxConnectionsPerIp: number
  /**
   * Count loopback clients (127.0.0.0/8, ::1) towards `maxConnectionsPerIp` too. Default false: a
   * parallel test suite or a load generator on the same machine is not an abusive peer.
   */
  readonly countLoopbackPerIp: boolean
  /** Recipients per transaction; one more gets `452 4.5.3` (RFC 5321 §4.5.3.1.8 asks for at least 100). Default 100. */
  readonly maxRecipients: number
  /**
   * Message size in octets, advertised with SIZE (RFC 1870); larger gets `552 5.3.4`. The rest of
   * a refused DATA message is read and thrown away so the client stays in step, but only up to
   * twice this plus 64 KiB: past that the connection is closed with `421 4.3.4`. Default 25 MiB.
   */
  readonly maxMessageBytes: number
  /** A command line, CRLF included (RFC 5321 §4.5.3.1.4); longer gets `500 5.5.2`. Default 512. */
  readonly maxLineBytes: number
  /**
   * A line of message text, CRLF included. RFC 5321 §4.5.3.1.6 sets 1000 for senders but lets
   * receivers take more; longer lines get `554 5.6.0` when this is finite. Default Infinity.
   */
  readonly maxTextLineBytes: number
  /** An AUTH line (command with initial response, or a response), CRLF included (RFC 4954 §4). Default 12288. */
  readonly maxAuthLineBytes: number
  /**
   * How long a whole command may take to arrive, from the first wait for it to its CRLF (RFC
   * 5321 §4.5.3.2.7; Postfix's `smtpd_per_request_deadline`): bytes that trickle in do not extend
   * it. Then `421 4.4.2` and close. The same holds for each line of an AUTH exchange. Default 5 minutes.
   */
  readonly commandTimeoutMs: number
  /**
   * How long to wait for more message data (RFC 5321 §4.5.3.2.8 uses 10 minutes at the end), how
   * long a data hook may leave its stream unread while the socket is paused for it, and how long
   * it may take to settle after the end of data (RFC 5321 §4.5.3.2.6); then `421 4.4.2`, the
   * hook's stream is destroyed, and the connection closes. Default 10 minutes.
   */
  readonly dataTimeoutMs: number
  /**
   * The slowest a DATA body or BDAT chunk may arrive, in bytes per second (Postfix's
   * `smtpd_min_data_rate`). Message data gets `dataTimeoutMs` to start, each read spends the
   * time it waited and earns `bytes / minDataBytesPerSecond` seconds, never above
   * `dataTimeoutMs`; when the budget runs out, `421 4.4.2` and close. So a peer that trickles a
   * byte now and then cannot hold a connection for ever. 0: the whole body within `dataTimeoutMs`.
   * Default 500.
   */
  readonly minDataBytesPerSecond: number
  /**
   * Protocol errors (500, 501, 502, 504 and 555 replies) a connection may make; the next gets
   * `421 4.7.0`. Default 10. Out-of-sequence commands (503) do not count: after a refused MAIL a
   * pipelining client's RCPTs and DATA all get one.
   */
  readonly maxBadCommands: number
  /** Commands before authenticating when `requireAuth` is set; the next gets `421 4.7.0`. Default 50. */
  readonly maxUnauthenticatedCommands: number
  /** Transactions (accepted MAIL commands) per connection; the next MAIL gets `421 4.7.0`. Default 1000. */
  readonly maxTransactionsPerConnection: number
  /**
   * Failed AUTH exchanges per connection; the last failure closes with `421 4.7.0`. A cancelled
   * (`*`) or malformed exchange counts as a failure: each may have cost a SCRAM key derivation.
   * Default 3.
   */
  readonly maxAuthFailures: number
  /** Delay before each `535` reply (and each refused exchange), to slow password guessing. Default 1000 ms. */
  readonly authFailureDelayMs: number
  /**
   * Failed AUTH exchanges from one client address, across all its connections, within
   * `authFailureWindowMs`; past it, AUTH gets `421 4.7.0` and the connection closes without
   * running a mechanism (Postfix's `smtpd_client_auth_rate_limit`). Loopback counts too. Default 10.
   */
  readonly maxAuthFailuresPerIp: number
  /** The window of `maxAuthFailuresPerIp`. Default 60000 ms. */
  readonly authFailureWindowMs: number
  /**
   * Reply bytes the peer may leave unread before the server stops reading its commands
   * (a pipelining client that never reads replies, RFC 2920 §3.1). Default 256 KiB.
   */
  readonly maxPendingReplyBytes: number
}

/** The defaults of {@link ServerLimits}. Frozen. */
export const serverLimitDefaults: ServerLimits = Object.freeze({
  maxConnections: 1000,
  maxConnectionsPerIp: 20,
  countLoopbackPerIp: false,
  maxRecipients: MIN_RECIPIENTS,
  maxMessageBytes: 25 * 1024 * 1024,
  maxLineBytes: MAX_COMMAND_LINE_OCTETS,
  maxTextLineBytes: Infinity,
  maxAuthLineBytes: 12_288,
  commandTimeoutMs: SERVER_COMMAND_TIMEOUT_MS,
  dataTimeoutMs: 10 * 60_000,
  minDataBytesPerSecond: 500,
  maxBadCommands: 10,
  maxUnauthenticatedCommands: 50,
  maxTransactionsPerConnection: 1000,
  maxAuthFailures: 3,
  authFailureDelayMs: 1000,
  maxAuthFailuresPerIp: 10,
  authFailureWindowMs: 60_000,
  maxPendingReplyBytes: 256 * 1024,
})

// Every limit is a number but countLoopbackPerIp; checkOptions refuses unknown keys and other types.
const LIMIT_KINDS: OptionKinds = Object.fromEntries(
  Object.entries(serverLimitDefaults).map(([key, value]) => [key, typeof value === 'boolean' ? 'boolean' : 'number']),
)

const LIMIT_HINTS: OptionHints = {
  maxMessageSize: 'use maxMessageBytes',
  size: 'use maxMessageBytes',
  maxClients: 'use maxConnections',
  socketTimeout: 'use commandTimeoutMs (and dataTimeoutMs for message data)',
  closeTimeout: 'there is no close timeout: Server.close({ signal }) destroys what is left when the signal aborts',
  maxAllowedUnauthenticatedCommands: 'use maxUnauthenticatedCommands',
}

// Limits that may be 0 (no delay; no data-rate credit); the rest must be at least 1.
const ZERO_OK = new Set(['authFailureDelayMs', 'minDataBytesPerSecond'])

/**
 * Merges `overrides` onto {@link serverLimitDefaults} and checks every value: a TypeError names an
 * unknown key or a value of the wrong type, a RangeError the first number that is not positive
 * (Infinity allowed for the text-line limit).
 */
export function resolveServerLimits(overrides: Partial<ServerLimits> = {}): ServerLimits {
  checkOptions('limits', overrides, LIMIT_KINDS, LIMIT_HINTS)
  const limits: ServerLimits = { ...serverLimitDefaults, ...withoutUndefined(overrides) }
  for (const [key, value] of Object.entries(limits) as [keyof ServerLimits, number | boolean][]) {
    if (typeof value !== 'number') continue
    const zeroOk = ZERO_OK.has(key)
    const infinityOk = key === 'maxTextLineBytes'
    if (Number.isNaN(value) || value < (zeroOk ? 0 : 1) || (value === Infinity && !infinityOk)) {
      throw new RangeError(`limits.${key} must be a ${zeroOk ? 'non-negative' : 'positive'} number${infinityOk ? ' or Infinity' : ''}, got ${String(value)}`)
    }
  }
  if (limits.maxLineBytes < 16) throw new RangeError(`limits.maxLineBytes must be at least 16, got ${limits.maxLineBytes}`)
  return Object.freeze(limits)
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}
