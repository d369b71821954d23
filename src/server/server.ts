import { createServer, Socket, type AddressInfo, type Server as NetServer } from 'node:net'
import type { Duplex } from 'node:stream'
import { checkOptions, type OptionHints, type OptionKinds } from '../options/check-options.ts'
import { formatReply } from '../protocol/reply.ts'
import { Connection } from './connection.ts'
import { Deadline } from './deadline.ts'
import { AuthFailures } from './auth-failures.ts'
import { clientKey, type ClientOrigin } from './client-key.ts'
import { isTrustedProxy } from './proxy-protocol.ts'
import { resolveServerOptions, type ConnectionAddresses, type ResolvedServerOptions, type ServerOptions } from './server-options.ts'

/** Options of {@link Server.listen} on TCP. */
export interface ListenOptions {
  /** The address to bind, such as `'127.0.0.1'` or `'::1'`. Default: all interfaces. */
  host?: string
  /** The port; 0 picks a free one (read it from the result). Default 0. */
  port?: number
  /** Serve implicit TLS (port 465 style, RFC 8314) instead of offering STARTTLS. Needs the `tls` option. Default false. */
  implicitTls?: boolean
  /** Listen on IPv6 only when `host` is `'::'`. Default false. */
  ipv6Only?: boolean
  /** The kernel's pending-connection queue length. Default: Node's (511). */
  backlog?: number
}

/** Options of {@link Server.listen} on a Unix domain socket. */
export interface ListenPathOptions {
  /** The socket's file system path. */
  path: string
  /** Serve implicit TLS. Default false. */
  implicitTls?: boolean
  backlog?: number
}

/** Options of {@link Server.handle}: the addresses to record, and whether TLS starts at once. */
export interface HandleOptions extends ConnectionAddresses {
  /** Start with a TLS handshake (the stream carries implicit TLS). Default false. */
  implicitTls?: boolean
}

const LISTEN_KINDS: OptionKinds = { host: 'string', port: 'number', implicitTls: 'boolean', ipv6Only: 'boolean', backlog: 'number' }
const LISTEN_PATH_KINDS: OptionKinds = { path: 'string', implicitTls: 'boolean', backlog: 'number' }
const LISTEN_HINTS: OptionHints = { secure: 'use implicitTls: true', address: 'use host' }
const HANDLE_KINDS: OptionKinds = { remoteAddress: 'string', remotePort: 'number', localAddress: 'string', localPort: 'number', implicitTls: 'boolean' }

// How long a refused connection (too many connections) may linger after its 421.
const REFUSAL_GRACE_MS = 2000

/**
 * An SMTP (or LMTP) server: accepts connections on any number of listeners (TCP, Unix sockets,
 * STARTTLS or implicit TLS) or on any Duplex given to `handle`, and runs a {@link Session} for
 * each. See {@link ServerOptions} for hooks, extensions and limits.
 *
 * `close()` shuts down gracefully: it stops accepting, sends `421 4.3.2` to idle connections and
 * lets transactions in flight finish; aborting its `signal` destroys whatever is left.
 */
export class Server {
  readonly #options: ResolvedServerOptions
  readonly #listeners = new Set<NetServer>()
  readonly #connections = new Set<Connection>()
  readonly #refusing = new Set<Duplex>()
  readonly #perIp = new Map<string, number>()
  readonly #authFailures: AuthFailures
  #closing: Promise<void> | undefined

  constructor(options: ServerOptions = {}) {
    this.#options = resolveServerOptions(options)
    const { limits } = this.#options
    this.#authFailures = new AuthFailures(limits.maxAuthFailuresPerIp, limits.authFailureWindowMs)
  }

  /** The host name used in the greeting and replies. */
  get hostname(): string {
    return this.#options.hostname
  }

  /** Connections being served now. */
  get connectionCount(): number {
    return this.#connections.size
  }

  /**
   * Starts listening and resolves with the bound address (the actual port when `port` is 0).
   * May be called several times, for example once for STARTTLS on 25 or 587 and once for
   * implicit TLS on 465. Rejects with the listen error (`EADDRINUSE`, ...).
   */
  listen(options: ListenPathOptions): Promise<{ path: string }>
  listen(options?: ListenOptions): Promise<AddressInfo>
  async listen(options: ListenOptions | ListenPathOptions = {}): Promise<AddressInfo | { path: string }> {
    if (typeof options === 'object' && options !== null && 'path' in options) checkOptions('listen()', options, LISTEN_PATH_KINDS)
    else checkOptions('listen()', options, LISTEN_KINDS, LISTEN_HINTS)
    if (this.#closing) throw new Error('the server is closed')
    const implicitTls = options.implicitTls ?? false
    if (implicitTls && !this.#options.secureContext) throw new TypeError('implicitTls needs the server\'s tls option (key and cert)')
    const server = createServer({ allowHalfOpen: false, noDelay: true }, (socket) => {
      // Straight to #serve: the options handle() checks are ours here, not a caller's.
      void this.#serve(socket, implicitTls, {
        remoteAddress: socket.remoteAddress ?? '',
        remotePort: socket.remotePort ?? 0,
        localAddress: socket.localAddress ?? '',
        localPort: socket.localPort ?? 0,
      })
    })
    const target =
      'path' in options
        ? { path: options.path, ...(options.backlog === undefined ? {} : { backlog: options.backlog }) }
        : {
            port: options.port ?? 0,
            ...(options.host === undefined ? {} : { host: options.host }),
            ...(options.ipv6Only === undefined ? {} : { ipv6Only: options.ipv6Only }),
            ...(options.backlog === undefined ? {} : { backlog: options.backlog }),
          }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(target, () => {
        server.off('error', reject)
        resolve()
      })
    })
    server.on('error', (error) => this.#options.onError(error, undefined))
    this.#listeners.add(server)
    const address = server.address()
    return typeof address === 'string' ? { path: address } : address!
  }

  /**
   * Serves one connection on any Duplex: a socket accepted elsewhere, or one end of a
   * `stream.duplexPair()` in tests. Addresses default to the stream's own when it is a socket.
   * With the `proxyProtocol` option these are the proxy's: the remote one is checked against
   * `trusted`, and the header is read from the stream. Without it, a caller that read a PROXY
   * header itself passes the client's addresses here and `unshift`s the bytes
   * that followed the header back into the stream. Counts towards the connection limits.
   * Resolves when the connection has closed; never rejects. Throws a TypeError for
   * `implicitTls` without the `tls` option.
   */
  handle(stream: Duplex, options: HandleOptions = {}): Promise<void> {
    checkOptions('handle()', options, HANDLE_KINDS)
    const socket = stream instanceof Socket ? stream : undefined
    const addresses: ConnectionAddresses = {
      remoteAddress: options.remoteAddress ?? socket?.remoteAddress ?? '',
      remotePort: options.remotePort ?? socket?.remotePort ?? 0,
      localAddress: options.localAddress ?? socket?.localAddress ?? '',
      localPort: options.localPort ?? socket?.localPort ?? 0,
    }
    if (options.implicitTls && !this.#options.secureContext) throw new TypeError('implicitTls needs the server\'s tls option (key and cert)')
    return this.#serve(stream, options.implicitTls ?? false, addresses)
  }

  #serve(stream: Duplex, implicitTls: boolean, addresses: ConnectionAddresses): Promise<void> {
    if (this.#closing) {
      stream.on('error', () => {})
      stream.destroy()
      return Promise.resolve()
    }
    const { limits, hostname, proxyProtocol, onError } = this.#options
    if (this.#connections.size >= limits.maxConnections) return this.#refuse(stream, `${hostname} Too many connections, try again later`, implicitTls)
    if (proxyProtocol && !isTrustedProxy(addresses.remoteAddress ?? '', proxyProtocol.trusted)) {
      // Only a trusted proxy may say who the client is; anyone else gets no greeting at all.
      try {
        onError(new Error(`refused a connection from ${addresses.remoteAddress || 'an unknown address'}: not a trusted PROXY protocol proxy`), undefined)
      } catch {
        // onError must not throw; if it does, the refusal still stands.
      }
      stream.on('error', () => {})
      stream.destroy()
      return Promise.resolve()
    }
    let ip: string | undefined
    const admit = (client: ClientOrigin): string | undefined => {
      const key = clientKey(client, limits.countLoopbackPerIp)
      if (key === undefined) return undefined
      const count = this.#perIp.get(key) ?? 0
      if (count >= limits.maxConnectionsPerIp) return `${hostname} Too many connections from your address, try again later`
      ip = key
      this.#perIp.set(key, count + 1)
      return undefined
    }
    // Behind a proxy the socket's address is the proxy's; the client is counted after the header.
    if (!proxyProtocol) {
      const refusal = admit({ remoteAddress: addresses.remoteAddress ?? '' })
      if (refusal !== undefined) return this.#refuse(stream, refusal, implicitTls)
    }
    const conn = new Connection(stream, this.#options, {
      implicitTls,
      addresses,
      authFailures: this.#authFailures,
      ...(proxyProtocol ? { admit } : {}),
    })
    this.#connections.add(conn)
    void conn.run()
    return conn.closed.then(() => {
      this.#connections.delete(conn)
      if (ip === undefined) return
      const count = (this.#perIp.get(ip) ?? 1) - 1
      if (count > 0) this.#perIp.set(ip, count)
      else this.#perIp.delete(ip)
    })
  }

  // RFC 5321 §3.1: a server may answer the connection with 421 instead of a greeting. On an
  // implicit TLS port plain text would only be a TLS error to the client, and a handshake per
  // refused connection is what a flood wants from us: close without a word there.
  #refuse(stream: Duplex, text: string, implicitTls: boolean): Promise<void> {
    this.#refusing.add(stream)
    stream.on('error', () => {})
    if (implicitTls) stream.end()
    else stream.end(formatReply(421, this.#options.enhancedStatusCodes ? '4.7.0' : undefined, text), 'latin1')
    stream.resume()
    // A refused stream never becomes a Connection; its one timer is a Deadline all the same.
    const deadline = new Deadline()
    deadline.startClosing(REFUSAL_GRACE_MS, () => stream.destroy())
    return new Promise((resolve) => {
      const done = (): void => {
        deadline.dispose()
        this.#refusing.delete(stream)
        resolve()
      }
      if (stream.destroyed) done()
      else stream.once('close', done)
    })
  }

  /**
   * Graceful shutdown. Stops accepting; idle connections get `421 4.3.2 Service shutting down`
   * and are closed; a connection inside a transaction finishes it and gets the 421 at its next
   * command. When `signal` aborts, every remaining connection is destroyed. Resolves once no
   * listener and no connection is left. Calling it again returns the same promise (and adds the
   * new signal).
   */
  close(options: { signal?: AbortSignal } = {}): Promise<void> {
    const closing = (this.#closing ??= this.#shutdown())
    const { signal } = options
    if (signal) {
      const destroyAll = (): void => {
        for (const conn of this.#connections) conn.destroy()
        for (const stream of this.#refusing) stream.destroy()
      }
      if (signal.aborted) destroyAll()
      else {
        signal.addEventListener('abort', destroyAll, { once: true })
        void closing.then(() => signal.removeEventListener('abort', destroyAll))
      }
    }
    return closing
  }

  async #shutdown(): Promise<void> {
    const listeners = [...this.#listeners].map((server) => new Promise<void>((resolve) => server.close(() => resolve())))
    this.#listeners.clear()
    for (const conn of this.#connections) conn.shutdown()
    await Promise.all(listeners)
    // Connections can still be closing after the listeners are gone; wait for the last one. No
    // connection is added from now on (handle() refuses once closing), so one wait covers them all.
    await Promise.all([...[...this.#connections].map((conn) => conn.closed), ...[...this.#refusing].map((stream) => onceClosed(stream))])
  }

  /** `await using server = new Server(...)`: closes gracefully, without a deadline. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}

function onceClosed(stream: Duplex): Promise<void> {
  return stream.destroyed ? Promise.resolve() : new Promise((resolve) => stream.once('close', () => resolve()))
}
