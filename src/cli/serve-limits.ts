// `smtpkit serve` flags for the server's limits: one per field of ServerLimits, named after it
// (a `...Ms` timeout becomes a duration flag without the unit), so a developer can set from the
// command line whatever the library lets a program set.
import { serverLimitDefaults, type ServerLimits } from '../server/limits.ts'
import { parseByteSize, parseDuration, parseInteger, UsageError } from './args.ts'

type LimitKind = 'count' | 'bytes' | 'duration' | 'switch'

interface LimitFlag {
  readonly limit: keyof ServerLimits
  readonly kind: LimitKind
  /** For --help: what the limit bounds. */
  readonly help: string
}

/** Every limit flag of `smtpkit serve`; test/cli/serve-limits.test.ts checks that none is missing. */
export const limitFlags: Readonly<Record<string, LimitFlag>> = {
  'max-connections': { limit: 'maxConnections', kind: 'count', help: 'open connections in all' },
  'max-connections-per-ip': { limit: 'maxConnectionsPerIp', kind: 'count', help: 'open connections from one IP address' },
  'count-loopback-per-ip': { limit: 'countLoopbackPerIp', kind: 'switch', help: 'hold loopback clients to --max-connections-per-ip too' },
  'max-recipients': { limit: 'maxRecipients', kind: 'count', help: 'recipients per message' },
  'max-message-bytes': { limit: 'maxMessageBytes', kind: 'bytes', help: 'largest message accepted' },
  'max-size': { limit: 'maxMessageBytes', kind: 'bytes', help: 'the same as --max-message-bytes' },
  'max-line-bytes': { limit: 'maxLineBytes', kind: 'bytes', help: 'a command line, CRLF included' },
  'max-text-line-bytes': { limit: 'maxTextLineBytes', kind: 'bytes', help: 'a line of message text' },
  'max-auth-line-bytes': { limit: 'maxAuthLineBytes', kind: 'bytes', help: 'an AUTH line' },
  'command-timeout': { limit: 'commandTimeoutMs', kind: 'duration', help: 'wait for the next command' },
  'data-timeout': { limit: 'dataTimeoutMs', kind: 'duration', help: 'wait for more message data' },
  'min-data-bytes-per-second': { limit: 'minDataBytesPerSecond', kind: 'count', help: 'slowest message data a client may send (0 allowed)' },
  'max-bad-commands': { limit: 'maxBadCommands', kind: 'count', help: 'protocol errors before the connection is closed' },
  'max-unauthenticated-commands': { limit: 'maxUnauthenticatedCommands', kind: 'count', help: 'commands before AUTH with --require-auth' },
  'max-transactions': { limit: 'maxTransactionsPerConnection', kind: 'count', help: 'messages per connection' },
  'max-auth-failures': { limit: 'maxAuthFailures', kind: 'count', help: 'failed logins before the connection is closed' },
  'max-auth-failures-per-ip': { limit: 'maxAuthFailuresPerIp', kind: 'count', help: 'failed logins from one IP address per window' },
  'auth-failure-window': { limit: 'authFailureWindowMs', kind: 'duration', help: 'the window of --max-auth-failures-per-ip' },
  'auth-failure-delay': { limit: 'authFailureDelayMs', kind: 'duration', help: 'pause before each failed-login reply (0 allowed)' },
  'max-pending-reply-bytes': { limit: 'maxPendingReplyBytes', kind: 'bytes', help: 'replies a client may leave unread' },
}

/** The `util.parseArgs` declarations of {@link limitFlags}. */
export const limitOptions = Object.fromEntries(
  Object.entries(limitFlags).map(([flag, { kind }]) => [flag, { type: kind === 'switch' ? 'boolean' : 'string' }]),
) as Record<string, { type: 'string' } | { type: 'boolean' }>

/** Reads the limit flags among parsed `values` into the server's `limits` option. */
export function limitsFromFlags(values: Readonly<Record<string, unknown>>): Partial<ServerLimits> {
  const limits: Partial<Record<keyof ServerLimits, unknown>> = {}
  const setBy = new Map<keyof ServerLimits, string>()
  for (const [flag, { limit, kind }] of Object.entries(limitFlags)) {
    const value = values[flag]
    if (value === undefined) continue
    const other = setBy.get(limit)
    if (other !== undefined) throw new UsageError(`--${other} and --${flag} set the same limit; give one`)
    setBy.set(limit, flag)
    const option = `--${flag}`
    limits[limit] =
      kind === 'switch' ? value === true
      : kind === 'count' ? parseInteger(String(value), option, { min: limit === 'minDataBytesPerSecond' ? 0 : 1 })
      : kind === 'bytes' ? parseByteSize(String(value), option)
      : parseDuration(String(value), option, limit === 'authFailureDelayMs' ? 0 : 1)
  }
  return limits as Partial<ServerLimits>
}

function formatDefault(flag: LimitFlag): string {
  const value = serverLimitDefaults[flag.limit] as unknown
  if (typeof value !== 'number') return String(value)
  if (value === Infinity) return 'none'
  if (flag.kind === 'duration') return value % 60_000 === 0 ? `${value / 60_000}m` : value % 1000 === 0 ? `${value / 1000}s` : `${value}ms`
  if (flag.kind === 'bytes' && value % 1024 === 0) return value % (1024 * 1024) === 0 ? `${value / (1024 * 1024)}M` : `${value / 1024}K`
  return String(value)
}

/** The --help lines of {@link limitFlags}, each with its library default. */
export function limitHelp(): string {
  const arg = { count: ' N', bytes: ' BYTES', duration: ' DURATION', switch: '' } as const
  return Object.entries(limitFlags)
    .map(([flag, spec]) => {
      const head = `  --${flag}${arg[spec.kind]}`
      const text = flag === 'max-size' ? spec.help : `${spec.help} (default ${formatDefault(spec)})`
      return `${head.padEnd(38)}${text}\n`
    })
    .join('')
}
