import { readFile } from 'node:fs/promises'
import { isIP } from 'node:net'

/** A mistake in the command line: the CLI prints it with a pointer to `--help` and exits with 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

/**
 * Turns the errors of `util.parseArgs` (unknown option, missing value, ...) into a
 * {@link UsageError}; anything else is passed through.
 */
export function toUsageError(error: unknown, hints: Readonly<Record<string, string>> = {}): unknown {
  const code = (error as { code?: unknown }).code
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_')) return error
  // parseArgs' own text for this one ends in an unbalanced quote and advice about positionals
  // that starting with '-' does not need here; name the option, and what to write instead.
  const unknown = code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /^Unknown option '([^']+)'/.exec((error as Error).message)?.[1] : undefined
  if (unknown !== undefined) {
    const hint = hints[unknown.replace(/^-+/, '').replace(/=.*$/, '')]
    return new UsageError(`unknown option ${unknown}${hint === undefined ? '' : `; ${hint}`}`)
  }
  return new UsageError((error as Error).message)
}

/** A host and port, as `--listen` and `--server` take them. */
export interface HostPort {
  readonly host: string
  readonly port: number
}

/**
 * Reads `HOST:PORT`, `[IPV6]:PORT` or, with a `defaultPort`, a bare `HOST` or `[IPV6]`. The host
 * comes back without brackets. A bare IPv6 address without brackets is refused, since its last
 * group cannot be told from a port.
 */
export function parseHostPort(text: string, option: string, defaultPort?: number): HostPort {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text)
  let host: string
  let portText: string | undefined
  if (bracketed) {
    host = bracketed[1]!
    portText = bracketed[2]
    if (isIP(host) !== 6) throw new UsageError(`${option}: ${JSON.stringify(host)} in brackets is not an IPv6 address`)
  } else {
    const colon = text.lastIndexOf(':')
    if (colon !== text.indexOf(':')) throw new UsageError(`${option}: write an IPv6 address in brackets, as in [::1]:2525`)
    host = colon === -1 ? text : text.slice(0, colon)
    portText = colon === -1 ? undefined : text.slice(colon + 1)
  }
  if (host === '') throw new UsageError(`${option}: missing host in ${JSON.stringify(text)}`)
  if (portText === undefined) {
    if (defaultPort === undefined) throw new UsageError(`${option}: missing port in ${JSON.stringify(text)}; use HOST:PORT`)
    return { host, port: defaultPort }
  }
  return { host, port: parseInteger(portText, option, { min: 0, max: 65535 }) }
}

/** Formats an address as `--listen` takes it: `127.0.0.1:2525`, `[::1]:2525`. */
export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`
}

/** Reads a decimal integer within bounds; a UsageError names the option otherwise. */
export function parseInteger(text: string, option: string, bounds: { min: number; max?: number }): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER
  if (!Number.isSafeInteger(value) || value < bounds.min || value > max) {
    const range = bounds.max === undefined ? `an integer of at least ${bounds.min}` : `an integer from ${bounds.min} to ${max}`
    throw new UsageError(`${option} must be ${range}, got ${JSON.stringify(text)}`)
  }
  return value
}

/** Reads a byte count: digits with an optional `K`, `M` or `G` suffix (powers of 1024). */
export function parseByteSize(text: string, option: string): number {
  const match = /^(\d+)([KMG]?)i?B?$/i.exec(text)
  const scale = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(match?.[2] ?? '').toUpperCase() as '' | 'K' | 'M' | 'G']
  const value = match ? Number(match[1]) * scale : NaN
  if (!Number.isSafeInteger(value) || value < 1) throw new UsageError(`${option} must be a positive number of bytes (such as 1048576 or 10M), got ${JSON.stringify(text)}`)
  return value
}

/** Reads the file an option names; a failure is a UsageError naming the option and the file. */
export async function readOptionFile(path: string, option: string): Promise<Buffer> {
  try {
    return await readFile(path)
  } catch (error) {
    throw new UsageError(`${option}: cannot read ${path}: ${(error as Error).message}`)
  }
}

const DURATION_UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const

/**
 * Reads a duration: digits with a unit, `ms`, `s`, `m` or `h` (`500ms`, `30s`, `5m`); bare digits
 * are seconds. Returns milliseconds, at least `min` (default 1).
 */
export function parseDuration(text: string, option: string, min = 1): number {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(text)
  const value = match ? Number(match[1]) * DURATION_UNITS_MS[(match[2] ?? 's') as keyof typeof DURATION_UNITS_MS] : NaN
  if (!Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`${option} must be a duration such as 30s, 5m or 500ms (bare digits are seconds)${min > 0 ? '' : ' or 0'}, got ${JSON.stringify(text)}`)
  }
  return value
}
