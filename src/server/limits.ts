import { MAX_COMMAND_LINE_OCTETS, MIN_RECIPIENTS, SERVER_COMMAND_TIMEOUT_MS } from '../protocol/limits.ts'

/**
 * The abuse protections of a {@link Server}: every number that bounds what one peer (or all
 * peers together) can make the server hold, wait for or retry. Override any of them through the
 * server's `limits` option; the rest keep {@link serverLimitDefaults}.
 */
export interface ServerLimits {
  /** Open connections across the server; one more gets `421 4.7.0` and is closed. Default 1000. */
  readonly maxConnections: number
  /** Open connections from one IP address; one more gets `421 4.7.0`. Default 20. */
  readonly maxConnectionsPerIp: number
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
  /** How long to wait for the next command (RFC 5321 §4.5.3.2.7); then `421 4.4.2` and close. Default 5 minutes. */
  readonly commandTimeoutMs: number
  /**
   * How long to wait for more message data (RFC 5321 §4.5.3.2.8 uses 10 minutes at the end), how
   * long a data hook may leave its stream unread while the socket is paused for it, and how long
   * it may take to settle after the end of data (RFC 5321 §4.5.3.2.6); then `421 4.4.2`, the
   * hook's stream is destroyed, and the connection closes. Default 10 minutes.
   */
  readonly dataTimeoutMs: number
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
  /** Failed AUTH attempts per connection; the last failure closes with `421 4.7.0`. Default 3. */
  readonly maxAuthFailures: number
  /** Delay before each `535` reply, to slow password guessing. Default 1000 ms. */
  readonly authFailureDelayMs: number
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
  maxRecipients: MIN_RECIPIENTS,
  maxMessageBytes: 25 * 1024 * 1024,
  maxLineBytes: MAX_COMMAND_LINE_OCTETS,
  maxTextLineBytes: Infinity,
  maxAuthLineBytes: 12_288,
  commandTimeoutMs: SERVER_COMMAND_TIMEOUT_MS,
  dataTimeoutMs: 10 * 60_000,
  maxBadCommands: 10,
  maxUnauthenticatedCommands: 50,
  maxTransactionsPerConnection: 1000,
  maxAuthFailures: 3,
  authFailureDelayMs: 1000,
  maxPendingReplyBytes: 256 * 1024,
})

/**
 * Merges `overrides` onto {@link serverLimitDefaults} and checks every value: a RangeError names
 * the first that is not a positive number (Infinity allowed for the text-line and timeout limits).
 */
export function resolveServerLimits(overrides: Partial<ServerLimits> = {}): ServerLimits {
  const limits: ServerLimits = { ...serverLimitDefaults, ...withoutUndefined(overrides) }
  for (const [key, value] of Object.entries(limits) as [keyof ServerLimits, number][]) {
    const zeroOk = key === 'authFailureDelayMs'
    const infinityOk = key === 'maxTextLineBytes'
    if (typeof value !== 'number' || Number.isNaN(value) || value < (zeroOk ? 0 : 1) || (value === Infinity && !infinityOk)) {
      throw new RangeError(`limits.${key} must be a ${zeroOk ? 'non-negative' : 'positive'} number${infinityOk ? ' or Infinity' : ''}, got ${String(value)}`)
    }
  }
  if (limits.maxLineBytes < 16) throw new RangeError(`limits.maxLineBytes must be at least 16, got ${limits.maxLineBytes}`)
  return Object.freeze(limits)
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}
