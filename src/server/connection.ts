import { randomBytes } from 'node:crypto'
import { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { TLSSocket } from 'node:tls'
import { defaultEnhancedCode, type EnhancedCode } from '../protocol/enhanced-code.ts'
import { ProtocolError, SmtpError } from '../protocol/errors.ts'
import { LineSplitter } from '../protocol/line-splitter.ts'
import { AuthFailures } from './auth-failures.ts'
import { ByteReader, type ReadStop } from './byte-reader.ts'
import { Deadline } from './deadline.ts'
import { replyWire } from './reply-wire.ts'
import { getProxiedAddresses, isTrustedProxy, readProxyHeader, type ProxyHeader } from './proxy-protocol.ts'
import { dispatchCommand } from './commands.ts'
import type { ConnectionAddresses, ResolvedServerOptions } from './server-options.ts'
import type { ConnectionInfo, Session } from './session.ts'
import { describeTls, wrapInTls } from './starttls.ts'
import { resetTransaction } from './transaction.ts'
import type { ConnectionState, LineStop, MutableInfo, Phase, Transaction, Wire } from './wire.ts'

// Replies that mean the peer got the protocol wrong; they count towards limits.maxBadCommands.
// Not 503: a refused MAIL (or a failed BDAT chunk) turns every command the client pipelined
// after it into a 503, which RFC 2920 §3.1 and RFC 3030 §2 expect a server to take in stride.
const BAD_COMMAND_CODES = new Set([500, 501, 502, 504, 555])
// How long a closing connection waits for the peer to close before destroying the socket. On the
// connection's Deadline, beside any wait still running (a data hook may outlive the socket).
const CLOSE_GRACE_MS = 2000
// Flush queued replies early when they reach this size, so one big pipelined read cannot build an
// unbounded reply buffer (RFC 2920 §3.1 asks servers not to deadlock either way).
const MAX_QUEUED_REPLY_BYTES = 64 * 1024

const NOTHING_ADVERTISED: ReadonlySet<string> = new Set()

// The greeting's wire form, built once per server: it depends on the options alone.
const greetings = new WeakMap<ResolvedServerOptions, string>()

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function'
}

let lastId = 0
const idPrefix = randomBytes(3).toString('hex')

/**
 * One SMTP connection over any Duplex: the read loop, the protocol state (the `transaction`,
 * `advertised` and `info`; the `phase` follows from them), reply batching, timeouts and closing. The command
 * handlers in `commands.ts`, `transaction.ts`, `auth.ts` and `starttls.ts` act on it.
 *
 * Replies are queued and written in one `write` whenever the connection is about to wait for the
 * peer, so a pipelined group (RFC 2920) gets its replies in one packet; reading stops while more
 * than `limits.maxPendingReplyBytes` of replies sit unread by the peer.
 */
export class Connection implements Wire, ConnectionState {
  readonly options: ResolvedServerOptions
  readonly info: MutableInfo
  // Set once the connection stops reading: the one piece of the phase that is not in the
  // transaction or the EHLO name.
  #closing = false
  transaction: Transaction | null = null
  session: Session = {}
  /**
   * The extensions the last EHLO (or LHLO) advertised, by keyword (`'SIZE'`, `'AUTH'`): the one
   * record that MAIL and RCPT parameters, STARTTLS, AUTH and BDAT are checked against. Empty
   * before EHLO, after HELO, and once STARTTLS or XCLIENT starts the session over.
   */
  advertised: ReadonlySet<string> = NOTHING_ADVERTISED
  /** True when the client may use XCLIENT (the `xclient` option's `trusted`). */
  xclientTrusted = false
  badCommands = 0
  authFailures = 0
  /** Failed AUTH exchanges per client address, shared by the server's connections. */
  readonly authFailuresByClient: AuthFailures
  transactionCount = 0
  unauthenticatedCommands = 0
  /** Settles when the underlying stream has closed. */
  readonly closed: Promise<void>
  /**
   * The connection's one timer: the PROXY header, reads, the TLS handshake, reverse DNS, hooks,
   * the message consumer and the closing grace all wait on it; see {@link Deadline}.
   */
  readonly deadline = new Deadline()
  #stream: Duplex
  #raw: Duplex
  #reader: ByteReader
  readonly #splitter: LineSplitter
  #out = ''
  #shuttingDown = false
  // Set when idle reads must stop (shutdown, close, destroy); see #stop.
  #stopped = false
  #proxyAbort: AbortController | undefined
  readonly #implicitTls: boolean
  readonly #admit: ((info: ConnectionInfo) => string | undefined) | undefined
  #resolveClosed!: () => void
  #sessionClosed = false
  // What is left of the time the current command line (or AUTH response) may take to arrive:
  // reads spend it, and only a whole line renews it (a per-request deadline, not per byte).
  #lineBudgetMs: number
  // The same for message data, which also earns time for the bytes it brings (min data rate).
  #dataBudgetMs = 0

  /**
   * `admit`, when given, is asked before the greeting whether the client (its address known only
   * after a PROXY header) may be served; a string is the text of the `421` refusal.
   */
  constructor(
    stream: Duplex,
    options: ResolvedServerOptions,
    init: {
      implicitTls: boolean
      addresses: ConnectionAddresses
      authFailures?: AuthFailures
      admit?: (info: ConnectionInfo) => string | undefined
    },
  ) {
    this.options = options
    this.#stream = this.#raw = stream
    this.#implicitTls = init.implicitTls
    this.#admit = init.admit
    this.authFailuresByClient = init.authFailures ?? new AuthFailures(options.limits.maxAuthFailuresPerIp, options.limits.authFailureWindowMs)
    this.#reader = new ByteReader(stream, this.deadline)
    const { limits } = options
    this.#splitter = new LineSplitter({ maxLineBytes: Math.max(limits.maxLineBytes, limits.maxAuthLineBytes) })
    this.#lineBudgetMs = limits.commandTimeoutMs
    this.info = {
      id: `${idPrefix}${(++lastId).toString(36).padStart(6, '0')}`,
      remoteAddress: init.addresses.remoteAddress ?? '',
      remotePort: init.addresses.remotePort ?? 0,
      localAddress: init.addresses.localAddress ?? '',
      localPort: init.addresses.localPort ?? 0,
      isTls: false,
      tls: undefined,
      helo: undefined,
      isEsmtp: false,
      authenticatedAs: undefined,
      user: undefined,
      clientHostname: undefined,
      proxy: undefined,
    }
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve
    })
    this.#watch(stream)
  }

  #watch(stream: Duplex): void {
    // A socket error must never crash the process; the reader sees it as the end of input.
    stream.on('error', (error) => this.#debug(`socket error: ${error.message}`))
    stream.once('close', () => {
      if (stream === this.#stream) {
        this.deadline.dispose()
        if (this.#raw !== stream) this.#raw.destroy()
        this.#resolveClosed()
      }
    })
  }

  /** Serves the connection until it closes. Never rejects. */
  async run(): Promise<void> {
    try {
      if (!(await this.#prepare())) return
      await this.#commandLoop()
    } catch (error) {
      this.reportError(error)
    } finally {
      this.close()
      await this.#closeSession()
    }
  }

  async #prepare(): Promise<boolean> {
    const { newSession, hostname } = this.options
    if (this.options.proxyProtocol && !(await this.#readProxyHeader())) return false
    if (this.#implicitTls && !(await this.upgradeToTls(true))) return false
    // The client behind a proxy is known only now; refused after the TLS handshake so it can read why.
    const refusal = this.#admit?.(this.info)
    if (refusal !== undefined) {
      this.closeWith(421, '4.7.0', refusal)
      return false
    }
    const { xclientTrusted, reverseDns } = this.options
    if (xclientTrusted) this.xclientTrusted = isTrustedProxy(this.info.remoteAddress, xclientTrusted)
    if (reverseDns && this.info.remoteAddress !== '') this.info.clientHostname = await this.#lookUpHostname(reverseDns)
    if (newSession) {
      try {
        const session = newSession(this.info)
        // A session made at once (the common case) is not awaited: that would cost a tick per connection.
        this.session = isPromiseLike(session) ? await session : session
      } catch (error) {
        // RFC 5321 §3.1: a server that will not serve this client may say so instead of greeting.
        if (error instanceof SmtpError && error.code >= 400 && error.code < 600) this.replyError(error)
        else {
          this.reportError(error)
          this.reply(421, '4.3.0', `${hostname} Service not available`)
        }
        return false
      }
    }
    this.greet()
    return true
  }

  /** Queues the `220` greeting (RFC 5321 §4.2: our name first), at the start and after XCLIENT. */
  greet(): void {
    const { options } = this
    let wire = greetings.get(options)
    if (wire === undefined) {
      const { hostname, lmtp, greeting } = options
      wire = replyWire(220, undefined, `${hostname} ${lmtp ? 'LMTP' : 'ESMTP'}${greeting === '' ? '' : ` ${greeting}`}`)
      greetings.set(options, wire)
    }
    this.#queueWire(wire)
  }

  // Reverse DNS within its timeout, on the connection's one timer; a failure leaves the name unknown.
  async #lookUpHostname(reverseDns: NonNullable<ResolvedServerOptions['reverseDns']>): Promise<string | undefined> {
    const address = this.info.remoteAddress
    return new Promise((resolve) => {
      const onTimeout = (): void => {
        this.#debug(`reverse DNS of ${address}: no answer within ${reverseDns.timeoutMs} ms`)
        resolve(undefined)
      }
      this.deadline.start(reverseDns.timeoutMs, onTimeout)
      reverseDns.resolve(address).then(
        (name) => {
          this.deadline.stop(onTimeout)
          resolve(typeof name === 'string' && name !== '' ? name : undefined)
        },
        (error: unknown) => {
          this.deadline.stop(onTimeout)
          this.reportError(error)
          resolve(undefined)
        },
      )
    })
  }

  // The PROXY protocol header comes before anything else, TLS included; nothing is sent until
  // it has arrived, and a connection without a valid one is closed without a greeting.
  async #readProxyHeader(): Promise<boolean> {
    const { timeoutMs } = this.options.proxyProtocol!
    let result: { header: ProxyHeader; rest: Buffer }
    this.#proxyAbort = new AbortController()
    if (this.#stopped) this.#proxyAbort.abort()
    try {
      result = await readProxyHeader(this.#stream, { timeoutMs, signal: this.#proxyAbort.signal, deadline: this.deadline })
    } catch (error) {
      const closedFirst = error instanceof ProtocolError && error.code === 'ERR_SMTP_CONNECTION_CLOSED'
      // A load balancer's TCP health check connects and closes: not worth an onError.
      if (closedFirst || this.#stopped) this.#debug(`no PROXY header: ${(error as Error).message}`)
      else this.reportError(error)
      this.destroy()
      return false
    }
    this.#reader.unread(result.rest)
    const { header } = result
    this.info.proxy = header
    const addresses = getProxiedAddresses(header)
    if (addresses) Object.assign(this.info, addresses)
    this.#debug(`PROXY v${header.version} ${header.command} ${header.family}${addresses ? ` from ${addresses.remoteAddress} port ${addresses.remotePort}` : ''}`)
    return !this.#stream.destroyed
  }

  async #commandLoop(): Promise<void> {
    const { limits, hostname } = this.options
    while (!this.#closing) {
      // Awaiting the reader directly, not through a nextLine, saves a promise and two ticks a command.
      let next: Buffer | LineStop | undefined = this.#bufferedLine() ?? this.#idleStop()
      if (next === undefined) {
        const started = performance.now()
        const chunk = await this.#read(this.#lineBudgetMs, this.transaction === null)
        this.#spendLineBudget(started)
        if (typeof chunk !== 'string') {
          this.#splitter.push(chunk)
          continue
        }
        next = chunk
      }
      if (typeof next !== 'string') {
        const pending = dispatchCommand(this, this, next)
        if (pending) await pending
      } else switch (next) {
        case 'too-long':
          this.reply(500, '5.5.2', 'Line too long')
          break
        case 'bare-line-ending':
          this.reply(500, '5.5.2', 'Bare LF or CR in command; use CRLF line endings')
          break
        case 'timeout':
          return this.closeWith(421, '4.4.2', `${hostname} Error: timeout exceeded`)
        case 'shutdown':
        case 'aborted':
          return this.closeWith(421, '4.3.2', `${hostname} Service shutting down`)
        case 'end':
          return
      }
      if (this.badCommands >= limits.maxBadCommands && !this.#closing) {
        return this.closeWith(421, '4.7.0', `${hostname} Error: too many errors`)
      }
    }
  }

  /** Where the connection is in the protocol: derived from the transaction, the EHLO name and closing. */
  get phase(): Phase {
    if (this.#closing) return 'closing'
    const tx = this.transaction
    if (tx !== null) return tx.bdat !== null ? 'bdat' : tx.recipients.length > 0 ? 'rcpt' : 'mail'
    return this.info.helo === undefined ? 'greeting' : 'ready'
  }

  /** True once `shutdown` was called: the next command outside a transaction gets `421 4.3.2`. */
  get isShuttingDown(): boolean {
    return this.#shuttingDown
  }

  /**
   * The next line of an AUTH exchange (the command loop reads its own, interruptibly). Line
   * errors consume the bad line, up to its CRLF.
   */
  async nextLine(): Promise<Buffer | LineStop> {
    for (;;) {
      const line = this.#bufferedLine()
      if (line !== undefined) return line
      const started = performance.now()
      const chunk = await this.#read(this.#lineBudgetMs)
      this.#spendLineBudget(started)
      if (typeof chunk === 'string') return chunk
      this.#splitter.push(chunk)
    }
  }

  // The next complete line the splitter holds, a line error, or undefined when it needs more
  // bytes. A line (good or bad) renews the time the next one may take.
  #bufferedLine(): Buffer | 'too-long' | 'bare-line-ending' | undefined {
    let line: Buffer | 'too-long' | 'bare-line-ending' | undefined
    try {
      line = this.#splitter.readLine() ?? undefined
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error
      // The splitter has already skipped the whole bad line, up to its CRLF.
      line = error.code === 'ERR_SMTP_LINE_TOO_LONG' ? 'too-long' : 'bare-line-ending'
    }
    if (line !== undefined) this.#lineBudgetMs = this.options.limits.commandTimeoutMs
    return line
  }

  // A read towards a command line or AUTH response that began at `started` spends the line's
  // time. Called inline after each such read, not wrapped around it: an async helper would cost a
  // promise and a suspended frame per read.
  #spendLineBudget(started: number): void {
    this.#lineBudgetMs = Math.max(0, this.#lineBudgetMs - (performance.now() - started))
  }

  // Why an idle wait for a command must not start: the server is shutting down or stopped.
  #idleStop(): 'shutdown' | 'aborted' | undefined {
    if (this.transaction !== null) return undefined
    if (this.#shuttingDown) return 'shutdown'
    return this.#stopped ? 'aborted' : undefined
  }

  /**
   * Starts the time budget of a DATA body or a BDAT chunk: `limits.dataTimeoutMs`, spent by
   * waiting in {@link Connection.readData} and earned back by the bytes that arrive at
   * `limits.minDataBytesPerSecond` (Postfix's `smtpd_min_data_rate`).
   */
  startData(): void {
    this.#dataBudgetMs = this.options.limits.dataTimeoutMs
  }

  /** The next bytes of message data: what the line reader holds first, then the socket. */
  readData(): Promise<Buffer | ReadStop> {
    const buffered = this.#splitter.takeBuffered()
    if (buffered.length > 0) return Promise.resolve(buffered)
    return this.#readDataBytes()
  }

  async #readDataBytes(): Promise<Buffer | ReadStop> {
    const { dataTimeoutMs, minDataBytesPerSecond } = this.options.limits
    const started = performance.now()
    const chunk = await this.#read(this.#dataBudgetMs)
    let budget = this.#dataBudgetMs - (performance.now() - started)
    if (typeof chunk !== 'string' && minDataBytesPerSecond > 0) budget += (chunk.length * 1000) / minDataBytesPerSecond
    this.#dataBudgetMs = Math.min(dataTimeoutMs, Math.max(0, budget))
    return chunk
  }

  /** Gives back bytes read past the end of message data: pipelined commands. */
  unreadData(rest: Buffer): void {
    if (rest.length > 0) this.#splitter.push(rest)
  }

  #read(timeoutMs: number, interruptible = false): Promise<Buffer | ReadStop> {
    this.flush()
    const stream = this.#stream
    if (stream.writableLength > this.options.limits.maxPendingReplyBytes && !stream.destroyed) return this.#readAfterDrain(timeoutMs, interruptible)
    return this.#reader.read(timeoutMs, interruptible)
  }

  // The peer is not reading its replies: stop reading its commands until it does.
  async #readAfterDrain(timeoutMs: number, interruptible: boolean): Promise<Buffer | ReadStop> {
    const stream = this.#stream
    const started = performance.now()
    const drained = await new Promise<boolean>((resolve) => {
      const done = (value: boolean): void => {
        this.deadline.stop(onTimeout)
        stream.off('drain', onDrain)
        stream.off('close', onDrain)
        resolve(value)
      }
      const onDrain = (): void => done(true)
      const onTimeout = (): void => done(false)
      stream.on('drain', onDrain)
      stream.on('close', onDrain)
      this.deadline.start(timeoutMs, onTimeout)
    })
    if (stream.destroyed) return 'end'
    if (!drained) return 'timeout'
    // The wait for the drain spent part of the budget: the read gets what is left, so a peer
    // that reads its replies just in time cannot double every timeout.
    const left = timeoutMs - (performance.now() - started)
    if (left <= 0) return 'timeout'
    return this.#reader.read(left, interruptible)
  }

  /** Queues a reply; the enhanced code is dropped when enhanced status codes are off. */
  reply(code: number, enhancedCode: EnhancedCode | undefined, text: string | readonly string[]): void {
    if (BAD_COMMAND_CODES.has(code)) this.badCommands++
    this.#queue(code, this.options.enhancedStatusCodes ? enhancedCode : undefined, text)
  }

  /** Queues the reply an SmtpError stands for, with the default enhanced code for its code if it has none. */
  replyError(error: SmtpError): void {
    this.reply(error.code, error.enhancedCode ?? defaultEnhancedCode(error.code), error.lines)
  }

  /** Queues a reply that never carries an enhanced code: the greeting, EHLO, 334, 354 (RFC 2034 §3). */
  replyRaw(code: number, text: string | readonly string[]): void {
    this.#queue(code, undefined, text)
  }

  #queue(code: number, enhancedCode: EnhancedCode | undefined, text: string | readonly string[]): void {
    this.#queueWire(replyWire(code, enhancedCode, text))
  }

  /**
   * Queues a reply already in its wire form (CRLF-terminated lines), such as one built once per
   * server: the greeting, or an EHLO reply that no session hook changes.
   */
  replyPrepared(wire: string): void {
    this.#queueWire(wire)
  }

  #queueWire(wire: string): void {
    if (this.#stream.writableEnded) return
    if (this.options.debug) for (const line of wire.slice(0, -2).split('\r\n')) this.#debug(`S: ${line}`)
    this.#out += wire
    if (this.#out.length >= MAX_QUEUED_REPLY_BYTES) this.flush()
  }

  /** Writes every queued reply in one write. */
  flush(): void {
    if (this.#out === '') return
    const data = this.#out
    this.#out = ''
    if (!this.#stream.destroyed && !this.#stream.writableEnded) this.#stream.write(data, 'latin1')
  }

  /** Logs a line of the transcript through the `debug` option. */
  debugLine(line: string): void {
    this.#debug(line)
  }

  #debug(line: string): void {
    const { debug } = this.options
    if (!debug) return
    try {
      debug(line, this.info)
    } catch (error) {
      this.reportError(error)
    }
  }

  /** Passes an internal error to `onError`, which must not throw either. */
  reportError(error: unknown): void {
    try {
      this.options.onError(error, this.info)
    } catch {
      // Nowhere left to report it.
    }
  }

  /**
   * Runs a session hook. Its SmtpError becomes the reply; any other error goes to `onError`
   * (unless `isExpected` says the server itself caused it) and becomes `451 4.3.0`.
   */
  async runHook<T>(
    call: () => T | Promise<T>,
    isExpected?: (error: unknown) => boolean,
  ): Promise<{ ok: true; value: T } | { ok: false; error: SmtpError }> {
    try {
      return { ok: true, value: await call() }
    } catch (error) {
      return { ok: false, error: this.toReplyError(error, isExpected) }
    }
  }

  /** What to send for an error a hook threw; see {@link Connection.runHook}. */
  toReplyError(error: unknown, isExpected?: (error: unknown) => boolean): SmtpError {
    if (error instanceof SmtpError && error.code >= 400 && error.code < 600) return error
    if (error instanceof SmtpError) {
      // A 2xx or 3xx thrown is a mistake in the hook; say so, rather than pass on a bare "250 ...".
      this.reportError(new TypeError(`a session hook threw SmtpError ${error.code}; only 4xx and 5xx replies can be thrown (the client got 451 4.3.0)`, { cause: error }))
    } else if (!isExpected?.(error)) this.reportError(error)
    return new SmtpError(451, '4.3.0', 'Local error in processing')
  }

  /**
   * Switches the connection to TLS (STARTTLS after its 220, or implicit TLS): writes what is
   * queued, throws away every byte the peer sent ahead of the handshake after STARTTLS (RFC 3207
   * §4.2, CVE-2011-0411), and reads only from the TLS layer afterwards. With `isImplicit` the
   * bytes already read are the handshake's own (a ClientHello that came with a PROXY header),
   * so they go to TLS instead. False when the handshake failed; the connection is then destroyed.
   */
  async upgradeToTls(isImplicit = false): Promise<boolean> {
    this.flush()
    const plain = this.#stream
    const pending = [this.#splitter.takeBuffered(), ...this.#reader.detach()].filter((bytes) => bytes.length > 0)
    if (isImplicit && pending.length > 0) plain.unshift(Buffer.concat(pending))
    else if (pending.length > 0) this.#debug(`discarded ${pending.reduce((n, b) => n + b.length, 0)} bytes sent ahead of the TLS handshake`)
    let secure: TLSSocket
    try {
      secure = await wrapInTls(plain, this.options, this.options.limits.commandTimeoutMs, this.deadline)
    } catch (error) {
      this.#debug(`TLS handshake failed: ${(error as Error).message}`)
      this.destroy()
      return false
    }
    this.#stream = secure
    this.#reader = new ByteReader(secure, this.deadline)
    this.#watch(secure)
    if (plain.destroyed) {
      secure.destroy()
      return false
    }
    this.info.isTls = true
    this.info.tls = describeTls(secure)
    return this.#afterTls()
  }

  // The afterTls hook may refuse the client now that its TLS (and certificate) is known.
  async #afterTls(): Promise<boolean> {
    const { afterTls } = this.options
    if (!afterTls) return true
    const result = await this.runHook(() => afterTls(this.info))
    if (result.ok) return true
    this.replyError(result.error)
    this.close()
    return false
  }

  /** Queues a final reply and closes. */
  closeWith(code: number, enhancedCode: EnhancedCode, text: string): void {
    this.reply(code, enhancedCode, text)
    this.close()
  }

  /** Closes gracefully: writes what is queued, ends the stream, and destroys it if the peer lingers. */
  close(): void {
    const stream = this.#stream
    if (this.#closing && (stream.writableEnded || stream.destroyed)) return
    this.#closing = true
    this.flush()
    this.#stop()
    if (stream.destroyed) return
    stream.end()
    // Keep reading (and discarding) so unread pipelined bytes do not turn our FIN into a reset
    // that could lose the last reply; destroy if the peer does not close in time.
    this.#reader.detach()
    stream.resume()
    // The stream's 'close' disposes of the Deadline, which ends this grace.
    this.deadline.startClosing(CLOSE_GRACE_MS, () => stream.destroy())
  }

  /**
   * Answers QUIT and closes. The peer has said it is done, so on a plain TCP socket whose reply
   * went out whole and with nothing unread, the socket is closed at once, as Postfix does: the
   * kernel still delivers the reply, then the FIN. That spares a shutdown, a wait for the peer's
   * FIN and, when the peer resets as soon as it reads 221 (many clients do), two socket errors.
   * Anything else (TLS, which owes a close_notify; pipelined bytes after QUIT) closes gracefully.
   */
  quit(text: string): void {
    this.reply(221, '2.0.0', text)
    const stream = this.#stream
    if (stream !== this.#raw || !(stream instanceof Socket)) return this.close()
    this.flush()
    if (stream.writableLength > 0 || this.#splitter.bufferedBytes > 0 || this.#reader.detach().length > 0) return this.close()
    this.#closing = true
    this.#stop()
    stream.destroy()
  }

  /** Closes at once, without a reply: for a forced shutdown. */
  destroy(): void {
    this.#closing = true
    this.transaction?.bdat?.abort(new ProtocolError('ERR_SMTP_CONNECTION_CLOSED', 'the connection was closed'))
    this.#stop()
    this.#stream.destroy()
    this.#raw.destroy()
  }

  /**
   * Graceful shutdown (`Server.close`): an idle connection gets `421 4.3.2` now; one inside a
   * transaction finishes it and gets `421 4.3.2` at its next command.
   */
  shutdown(): void {
    this.#shuttingDown = true
    if (this.transaction === null) this.#stop()
  }

  // Ends idle waits for good: a plain flag and a call, not an AbortController per connection.
  #stop(): void {
    if (this.#stopped) return
    this.#stopped = true
    this.#reader.interrupt()
    this.#proxyAbort?.abort()
  }

  async #closeSession(): Promise<void> {
    if (this.#sessionClosed) return
    this.#sessionClosed = true
    if (this.transaction) await resetTransaction(this, this)
    const { close } = this.session
    if (close) {
      const result = await this.runHook(() => close.call(this.session))
      if (!result.ok && result.error.code !== 451) this.#debug(`close hook threw ${result.error.message}`)
    }
  }
}

