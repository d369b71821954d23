import { hostname } from 'node:os'
import { isIPv4, isIPv6 } from 'node:net'
import type { Duplex } from 'node:stream'
import type { ClientMechanism } from '../sasl/mechanism.ts'
import { CLIENT_TIMEOUTS } from '../protocol/limits.ts'
import type { TlsMode, TlsOptions } from './connect.ts'

/** Per-step timeouts in milliseconds: RFC 5321 §4.5.3.2's, plus `connect` (TCP and TLS handshake). */
export type ClientTimeouts = { readonly [K in keyof typeof CLIENT_TIMEOUTS]: number } & { readonly connect: number }

/** A username and password; the mechanism is the strongest both sides know unless named. */
export interface PasswordAuth {
  readonly username: string
  readonly password: string
  /** A mechanism name such as `'PLAIN'`; default the strongest of `clientMechanismPreference` the server offers. */
  readonly mechanism?: string | undefined
  /** The identity to act as (PLAIN, SCRAM-SHA-256 only). */
  readonly authorizationId?: string | undefined
}

/** What `auth` accepts: a ready mechanism (`sasl.xoauth2(...)`) or a username and password. */
export type AuthOption = ClientMechanism | PasswordAuth

/** True when `auth` is a username and password rather than a ready mechanism. */
export function isPasswordAuth(auth: AuthOption): auth is PasswordAuth {
  return typeof (auth as ClientMechanism).start !== 'function'
}

/** Options shared by {@link Client.connect} and {@link Client.fromSocket}: how to talk, not where. */
export interface ClientOptions {
  /** The name sent with EHLO. Default `os.hostname()` when it is a domain with a dot, else an address literal of the local address (RFC 5321 §4.1.4). */
  readonly localName?: string | undefined
  /** Speak LMTP (RFC 2033): LHLO instead of EHLO, one reply per recipient after the data. Default false. */
  readonly lmtp?: boolean | undefined
  /** Overrides of the per-step timeouts; default {@link clientDefaults}.timeouts. */
  readonly timeouts?: Partial<ClientTimeouts> | undefined
  /** Receives `C: ...` / `S: ...` wire lines, AUTH data redacted and message data summarised. Default none. */
  readonly debug?: ((line: string) => void) | undefined
  /** Allow AUTH without TLS, with any mechanism (PLAIN, LOGIN and XOAUTH2 send the secret itself; a captured CRAM-MD5 or SCRAM exchange allows an offline attack on the password). Default false. */
  readonly insecureAuthWithoutTls?: boolean | undefined
  /** Send the message with BDAT when the server offers CHUNKING (RFC 3030). Default true. */
  readonly chunking?: boolean | undefined
  /** Pipeline commands when the server offers PIPELINING (RFC 2920). Default true. */
  readonly pipelining?: boolean | undefined
  /** Bytes per BDAT chunk (at least this much is gathered before a chunk is sent). Default 256 KiB. */
  readonly chunkBytes?: number | undefined
  /** The server's name, for TLS certificate checks after STARTTLS and for messages. Default the host connected to. */
  readonly serverName?: string | undefined
  /** TLS settings for STARTTLS. */
  readonly tlsOptions?: TlsOptions | undefined
  /** Skip certificate verification. Default false; only for tests. */
  readonly insecureSkipTlsVerify?: boolean | undefined
}

/** Options of {@link Client.connect}. */
export interface ConnectOptions extends ClientOptions {
  /** The server's host name or IP address. */
  readonly host: string
  /** Default 25, or 465 with `tls: 'implicit'`. */
  readonly port?: number | undefined
  /** See {@link TlsMode}. Default by port, the same rule as `smtp://` URLs: see {@link resolvePortAndTls}. */
  readonly tls?: TlsMode | undefined
  /** Authenticate after EHLO (and STARTTLS). Default none. */
  readonly auth?: AuthOption | undefined
  /** The local address to connect from. */
  readonly localAddress?: string | undefined
  /** 4 or 6 to force an address family. Default either. */
  readonly family?: 4 | 6 | undefined
  /** Aborts connecting and the handshake. */
  readonly signal?: AbortSignal | undefined
  /**
   * Opens the connection instead of a TCP connect to `host:port`: for SOCKS or HTTP CONNECT
   * proxies, or any transport. It gets where to go and a signal (the caller's, plus the connect
   * timeout) and resolves with an open Duplex; the client then runs TLS over it as `tls` says
   * (the certificate is checked against `serverName` or `host`). Default: TCP.
   */
  readonly socket?: SocketFactory | undefined
}

/** What a {@link SocketFactory} is asked to connect to. */
export interface SocketFactoryOptions {
  readonly host: string
  readonly port: number
  readonly localAddress?: string | undefined
  readonly family?: 4 | 6 | undefined
}

/** Opens a connection to `options.host:options.port` (through a proxy, say); see {@link ConnectOptions.socket}. */
export type SocketFactory = (options: SocketFactoryOptions, signal: AbortSignal) => Promise<Duplex>

/** The last argument of every step method. */
export interface StepOptions {
  /** Aborts the step; the connection is then destroyed, since its replies cannot be resynchronised. */
  readonly signal?: AbortSignal | undefined
}

/** Options of `Client.bdat`. */
export interface BdatOptions extends StepOptions {
  /** Send the bytes unchanged (BODY=BINARYMIME given to MAIL). Default false: bare CR and LF become CRLF. */
  readonly binary?: boolean | undefined
}

/** Defaults of the client's options. */
export const clientDefaults = Object.freeze({
  port: 25,
  implicitTlsPort: 465,
  submissionPort: 587,
  chunkBytes: 256 * 1024,
  timeouts: Object.freeze({ ...CLIENT_TIMEOUTS, connect: 60_000 }) as ClientTimeouts,
})

const TLS_MODES: readonly string[] = ['implicit', 'starttls', 'opportunistic', 'none']

/**
 * The port and TLS mode a connection uses: the one rule shared by connect options and
 * `smtp://` URLs.
 * - `tls` given: as given; the port defaults to 465 for `'implicit'`, else 25.
 * - `tls` left out: by port. 465 is `'implicit'` (RFC 8314 §3.3); 587 is `'starttls'`, which
 *   requires STARTTLS (submission, RFC 8314 §3.3 and RFC 6409); any other port (25, 2525, a local
 *   catcher) is `'opportunistic'`: STARTTLS when offered, as MX delivery does (RFC 3207 §4).
 *   Credentials are safe either way: without TLS the client refuses AUTH (unless
 *   `insecureAuthWithoutTls`). Give `tls: 'starttls'` to require TLS on any port.
 */
export function resolvePortAndTls(options: { readonly port?: number | undefined; readonly tls?: TlsMode | undefined }): { port: number; tls: TlsMode } {
  const { tls, port } = options
  if (tls !== undefined && !TLS_MODES.includes(tls)) {
    throw new TypeError(`unknown tls mode ${JSON.stringify(tls)}: use 'implicit', 'starttls', 'opportunistic' or 'none'`)
  }
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) throw new RangeError(`port must be an integer from 1 to 65535, got ${port}`)
  if (tls !== undefined) return { tls, port: port ?? (tls === 'implicit' ? clientDefaults.implicitTlsPort : clientDefaults.port) }
  const resolved = port ?? clientDefaults.port
  return { port: resolved, tls: resolved === clientDefaults.implicitTlsPort ? 'implicit' : resolved === clientDefaults.submissionPort ? 'starttls' : 'opportunistic' }
}

/** The timeouts with the caller's overrides applied; each must be a positive finite number. */
export function resolveTimeouts(overrides?: Partial<ClientTimeouts>): ClientTimeouts {
  // Most connections override nothing: the frozen defaults serve them all.
  if (overrides === undefined) return clientDefaults.timeouts
  const out: Record<string, number> = { ...clientDefaults.timeouts }
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue
    if (!(key in out)) throw new TypeError(`unknown timeout ${JSON.stringify(key)}`)
    if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) throw new RangeError(`timeouts.${key} must be a positive number of milliseconds`)
    out[key] = value
  }
  return out as ClientTimeouts
}

/**
 * The EHLO name when none is given: the host name when it looks like a domain (RFC 5321 §4.1.4
 * wants the FQDN), else the local address as an address literal (`[192.0.2.1]`,
 * `[IPv6:2001:db8::1]`), else `[127.0.0.1]`.
 */
export function defaultLocalName(localAddress: string | undefined): string {
  const name = hostname()
  if (/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/.test(name)) return name
  if (localAddress) {
    const mapped = localAddress.startsWith('::ffff:') && isIPv4(localAddress.slice(7)) ? localAddress.slice(7) : localAddress
    if (isIPv4(mapped)) return `[${mapped}]`
    if (isIPv6(mapped)) return `[IPv6:${mapped}]`
  }
  return '[127.0.0.1]'
}

/** Checks an EHLO name: printable ASCII or UTF-8 without spaces or controls, so it cannot inject a command. */
export function checkLocalName(name: string): string {
  if (typeof name !== 'string' || name === '' || /[\x00-\x20\x7f]/.test(name)) {
    throw new TypeError(`invalid EHLO name ${JSON.stringify(name)}: it must be a domain or address literal without spaces or control characters`)
  }
  return name
}
