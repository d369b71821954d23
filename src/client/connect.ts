import { connect as netConnect, isIP, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type * as Tls from 'node:tls'
import type { CipherNameAndProtocol, ConnectionOptions, PeerCertificate, TLSSocket } from 'node:tls'
import type { SocketFactory, SocketFactoryOptions } from './options.ts'

/**
 * node:tls (and the crypto under it), loaded on first use: a client that never starts TLS (MX
 * delivery without STARTTLS, a local relay, a test catcher) does not load it.
 */
function tls(): typeof Tls {
  return process.getBuiltinModule('node:tls')
}

/** True for a TLS socket; asks node:tls only of a socket that says it is encrypted, as only a TLS socket does. */
export function isTlsSocket(socket: unknown): socket is TLSSocket {
  return (socket as { encrypted?: unknown } | null)?.encrypted === true && socket instanceof tls().TLSSocket
}

/**
 * How the client uses TLS:
 * - `'implicit'`: TLS from the first byte (port 465, RFC 8314 §3.3);
 * - `'starttls'`: plaintext, then STARTTLS, which the server must offer (RFC 3207), so an
 *   attacker who strips it gets an error, never a silent downgrade;
 * - `'opportunistic'`: STARTTLS when offered, plaintext otherwise (MX delivery, RFC 3207 §4);
 * - `'none'`: never TLS.
 */
export type TlsMode = 'implicit' | 'starttls' | 'opportunistic' | 'none'

/** TLS settings passed through to `tls.connect`; certificate verification is always on unless `insecureSkipTlsVerify`. */
export type TlsOptions = Pick<
  ConnectionOptions,
  | 'servername'
  | 'ca'
  | 'cert'
  | 'key'
  | 'passphrase'
  | 'pfx'
  | 'minVersion'
  | 'maxVersion'
  | 'ciphers'
  | 'checkServerIdentity'
  | 'secureContext'
  | 'session'
>

/** What {@link dial} needs. */
export interface DialOptions {
  readonly host: string
  readonly port: number
  /** TLS from the first byte (`'implicit'`) or plain TCP. */
  readonly implicitTls: boolean
  /** With `implicitTls`: the name the certificate must match (and the SNI name), when not `host`. */
  readonly serverName?: string | undefined
  readonly tlsOptions?: TlsOptions | undefined
  readonly insecureSkipTlsVerify?: boolean | undefined
  readonly localAddress?: string | undefined
  /** 4 or 6 to force an address family; default either (Happy Eyeballs). */
  readonly family?: 4 | 6 | undefined
  readonly timeoutMs: number
  readonly signal?: AbortSignal | undefined
}

/**
 * Opens a TCP connection, or a TLS one with `implicitTls`, and resolves once it is connected (and
 * the TLS handshake done). Rejects with the socket's error (`ECONNREFUSED`...), a TLS error that
 * names the host (see {@link describeTlsError}), a `TimeoutError` DOMException after `timeoutMs`,
 * or the signal's reason; the socket is destroyed in each case.
 */
export async function dial(options: DialOptions): Promise<Socket | TLSSocket> {
  const { host, port, localAddress, family } = options
  const base: { host: string; port: number; localAddress?: string; family?: number } = { host, port }
  if (localAddress) base.localAddress = localAddress
  if (family) base.family = family
  if (options.implicitTls) {
    // Connect to `host`, verify the certificate against the server name (as STARTTLS does).
    const name = options.serverName ?? host
    const socket = tls().connect({ ...tlsConnectOptions(name, options.tlsOptions, options.insecureSkipTlsVerify), ...base })
    socket.setNoDelay(true)
    await settle(socket, 'secureConnect', `TLS connection to ${host}:${port}`, options.timeoutMs, options.signal, name)
    return socket
  }
  const socket = netConnect(base)
  // Each write is a whole command group or a batch of message data that the server must see
  // before it answers; Nagle's algorithm would hold it back for the previous segment's ACK.
  socket.setNoDelay(true)
  await settle(socket, 'connect', `TCP connection to ${host}:${port}`, options.timeoutMs, options.signal, undefined)
  return socket
}

/**
 * Opens a connection with a caller's socket factory (a proxy), bounded by `timeoutMs` and the
 * signal, and starts TLS over it with `implicitTls`. A factory that fails or times out rejects
 * with its error, the signal's reason or a `TimeoutError`.
 */
export async function openThrough(
  factory: SocketFactory,
  target: SocketFactoryOptions,
  options: Omit<DialOptions, 'host' | 'port' | 'localAddress' | 'family'>,
): Promise<Duplex> {
  // A timer of our own, not AbortSignal.timeout(), which is unref'd: a connect in progress must
  // keep the process alive, as a TCP connect does.
  const timeout = new AbortController()
  const timer = setTimeout(() => timeout.abort(new DOMException(`connecting to ${target.host}:${target.port} through the socket option took more than ${options.timeoutMs} ms`, 'TimeoutError')), options.timeoutMs)
  const signal = options.signal ? AbortSignal.any([options.signal, timeout.signal]) : timeout.signal
  let socket: Duplex
  try {
    socket = await factory({ ...target }, signal)
  } finally {
    clearTimeout(timer)
  }
  if (signal.aborted) {
    socket.destroy()
    throw signal.reason
  }
  if ((socket as { setNoDelay?: unknown }).setNoDelay instanceof Function) (socket as Socket).setNoDelay(true)
  if (!options.implicitTls) return socket
  const name = options.serverName ?? target.host
  return upgradeToTls(socket, { host: name, tlsOptions: options.tlsOptions, insecureSkipTlsVerify: options.insecureSkipTlsVerify, timeoutMs: options.timeoutMs, signal: options.signal })
}

/** What {@link upgradeToTls} needs. */
export interface UpgradeOptions {
  /** The name the certificate must match (and the SNI name unless it is an IP address). */
  readonly host: string
  readonly tlsOptions?: TlsOptions | undefined
  readonly insecureSkipTlsVerify?: boolean | undefined
  readonly timeoutMs: number
  readonly signal?: AbortSignal | undefined
}

/**
 * Starts TLS on an open connection after a 220 reply to STARTTLS (RFC 3207) and resolves once
 * the handshake is done and the certificate verified. The caller must already have stopped
 * reading from `socket` and discarded what it buffered.
 */
export async function upgradeToTls(socket: Duplex, options: UpgradeOptions): Promise<TLSSocket> {
  const secure = tls().connect({ ...tlsConnectOptions(options.host, options.tlsOptions, options.insecureSkipTlsVerify), socket })
  await settle(secure, 'secureConnect', `TLS handshake with ${options.host}`, options.timeoutMs, options.signal, options.host)
  return secure
}

/** The TLS state of a connection, like Go's `tls.ConnectionState`. */
export interface TlsState {
  /** `'TLSv1.3'`, `'TLSv1.2'`. */
  readonly protocol: string | null
  readonly cipher: CipherNameAndProtocol
  /** True when the certificate was verified against the trusted CAs and the server's name. */
  readonly authorized: boolean
  readonly peerCertificate: PeerCertificate
}

/** The TLS state of `socket`, or undefined when it is not a TLS socket. */
export function tlsStateOf(socket: unknown): TlsState | undefined {
  if (!isTlsSocket(socket)) return undefined
  return { protocol: socket.getProtocol(), cipher: socket.getCipher(), authorized: socket.authorized, peerCertificate: socket.getPeerCertificate() }
}

function tlsConnectOptions(host: string, tlsOptions: TlsOptions = {}, insecure = false): ConnectionOptions {
  // SNI carries host names only (RFC 6066 §3); an IP address is still checked against the
  // certificate through `host`.
  const servername = tlsOptions.servername ?? (isIP(host) === 0 ? host : undefined)
  return { ...tlsOptions, host, ...(servername ? { servername } : {}), rejectUnauthorized: !insecure }
}

/**
 * Wraps a TLS error so its message says which host and why: certificate verification failures
 * (`DEPTH_ZERO_SELF_SIGNED_CERT`, `ERR_TLS_CERT_ALTNAME_INVALID`, ...) read
 * `TLS certificate verification failed for mx.example.test: self-signed certificate
 * (DEPTH_ZERO_SELF_SIGNED_CERT)`. The original is the `cause`, and its `code` is kept.
 */
export function describeTlsError(error: Error & { code?: string }, host: string): Error & { code?: string } {
  const code = error.code
  // Failing to reach the server at all (ECONNREFUSED, ENOTFOUND) happens before any TLS.
  const { syscall } = error as { syscall?: unknown }
  if (syscall === 'connect' || syscall === 'getaddrinfo') return error
  const isVerification = code !== undefined && /CERT|SIGNATURE|ISSUER|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)
  // OpenSSL's "wrong version number": the first bytes back were not TLS, most often a plain
  // SMTP greeting on a port that wants STARTTLS.
  const message = isVerification
    ? `TLS certificate verification failed for ${host}: ${error.message}${code ? ` (${code})` : ''}`
    : code === 'ERR_SSL_WRONG_VERSION_NUMBER'
      ? `TLS handshake with ${host} failed: the server did not start TLS (it answered in plain text); ports 25 and 587 usually want STARTTLS, implicit TLS is usually port 465`
      : `TLS handshake with ${host} failed: ${error.message}`
  const wrapped: Error & { code?: string } = new Error(message, { cause: error })
  if (code !== undefined) wrapped.code = code
  return wrapped
}

function settle(
  socket: Socket | TLSSocket,
  event: 'connect' | 'secureConnect',
  what: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  tlsHost: string | undefined,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const finish = (error?: unknown): void => {
      clearTimeout(timer)
      socket.off(event, onReady)
      socket.off('error', onError)
      socket.off('close', onClose)
      signal?.removeEventListener('abort', onAbort)
      if (error === undefined) return resolve()
      socket.destroy()
      reject(error)
    }
    const onReady = (): void => finish()
    const onError = (error: Error): void => finish(tlsHost !== undefined ? describeTlsError(error, tlsHost) : error)
    const onClose = (): void => finish(new Error(`${what} closed before it was established`))
    const onAbort = (): void => finish(signal?.reason)
    const timer = setTimeout(() => finish(new DOMException(`${what} not established within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs)
    socket.on(event, onReady)
    socket.on('error', onError)
    socket.on('close', onClose)
    signal?.addEventListener('abort', onAbort, { once: true })
    if (signal?.aborted) onAbort()
  })
}
