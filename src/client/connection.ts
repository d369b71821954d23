import { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { ProtocolError, SmtpError } from '../protocol/errors.ts'
import { ClientError, connectionClosed, connectionLost, deliveryUnknown } from './errors.ts'
import { Fifo } from './fifo.ts'
import { LineSplitter } from '../protocol/line-splitter.ts'
import { ReplyParser, replyText, replyToError, type Reply } from '../protocol/reply.ts'
import { ReplyQueue, type ReplyWait } from './reply-queue.ts'
import { isTlsSocket } from './connect.ts'

/** One command to write: the wire text, what to log and show in errors, and how long to wait. */
export interface CommandSpec {
  /** The command line as written, CRLF included (from `formatCommand`); a Buffer for the fixed ones. */
  readonly line: string | Buffer
  /** The command as logged and named in errors, AUTH data redacted, no CRLF. */
  readonly display: string
  /** How long to wait for the reply. */
  readonly timeoutMs: number
  /** What is awaited, for timeout and close messages; default `reply to <display>`. */
  readonly awaits?: string
  readonly endsGroup?: boolean
  readonly startsTls?: boolean
}

/** Options of {@link ClientConnection}. */
export interface ClientConnectionOptions {
  /** Receives each wire line, `C: ...` or `S: ...`; message data is summarised, never logged. */
  readonly debug?: ((line: string) => void) | undefined
  /** The longest reply line accepted, CRLF included. Default 4096: RFC 5321 §4.5.3.1.5 says 512, but real servers exceed it. */
  readonly maxReplyLineBytes?: number | undefined
}

const noop = (): void => {}

// The errors of a connection the client ended, built only if someone asks (closedError, a
// pending reply): a sender that quits on every message makes none.
const quitError = (): Error => connectionClosed('the client quit')
const quitWaitError = (wait: ReplyWait): Error => connectionClosed('the client quit', wait.awaits)
const closeError = (): Error => connectionClosed('the client closed it')
const closeWaitError = (wait: ReplyWait): Error => connectionClosed('the client closed it', wait.awaits)

/** Waits for `promise`, or rejects with the signal's reason as soon as it aborts. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise
  if (signal.aborted) return Promise.reject(signal.reason as Error)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

/**
 * The wire under a {@link Client}: writes commands, reads replies into a {@link ReplyQueue}, and
 * owns the socket's life. Internal to the client layer; every method that writes throws the
 * close reason once the connection is closed.
 *
 * Rules it enforces: a reply with nobody waiting is a protocol error, except 421, which closes
 * (RFC 5321 §3.8) and is what every pending and later call then rejects with; a timeout or abort
 * destroys the connection, since a lost reply cannot be resynchronised; after a 220 to STARTTLS
 * the bytes already read are discarded (RFC 3207 §4.1 response injection) and nothing more is read
 * until the TLS socket takes over.
 */
export class ClientConnection {
  #socket: Duplex
  #raw: Duplex
  #splitter: LineSplitter
  #parser = new ReplyParser()
  readonly #queue: ReplyQueue
  readonly #debug: ((line: string) => void) | undefined
  readonly #maxLine: number
  #closed: Error | (() => Error) | undefined
  // True while a lock holds the wire; the promise step methods wait on is made only when one
  // does (a transaction per message would otherwise build one nobody awaits).
  #exclusive = false
  #unlocked: Promise<void> | undefined
  #unblock: () => void = noop
  // Locks waiting for their turn, oldest first.
  readonly #lockWaiters = new Fifo<() => void>()
  #lastReply: Reply | undefined
  // What is queued for the next write: commands and the end of message data written in one tick
  // go out in one write (RFC 2920 §3.1 groups; STYLE §2.5: one write per group).
  #out: Buffer[] = []
  #outBytes = 0
  #flushQueued = false
  #detached = false
  #streaming: string | undefined
  // Made when a write first waits for 'drain': most connections never wait.
  #closeListeners: Set<(error: Error) => void> | undefined
  /** True when the server offered PIPELINING and the caller allows it (RFC 2920). */
  pipelining = false

  constructor(socket: Duplex, options: ClientConnectionOptions = {}) {
    this.#socket = socket
    this.#raw = socket
    this.#debug = options.debug
    this.#maxLine = options.maxReplyLineBytes ?? 4096
    this.#splitter = new LineSplitter({ maxLineBytes: this.#maxLine })
    this.#queue = new ReplyQueue((error, wait) => this.#abort(error, wait))
    this.#listen(socket)
  }

  /**
   * Whether this connection keeps the process alive (`ref`/`unref` on the socket). Both the raw
   * socket and, after STARTTLS, the TLS socket over it are set: either alone may hold the loop.
   */
  setRef(isRef: boolean): void {
    for (const socket of new Set([this.#raw, this.#socket]) as Set<Duplex & { ref?: () => void; unref?: () => void }>) {
      if (isRef) socket.ref?.()
      else socket.unref?.()
    }
  }

  /** The socket in use: the TLS socket after STARTTLS. */
  get socket(): Duplex {
    return this.#socket
  }

  /** True when the socket is a TLS socket that finished its handshake. */
  get isTls(): boolean {
    return isTlsSocket(this.#socket)
  }

  /** Why the connection closed, or undefined while it is open. */
  get closedError(): Error | undefined {
    // Built on first use: a connection that quit normally never needs its error's stack.
    if (typeof this.#closed === 'function') this.#closed = this.#closed()
    return this.#closed
  }

  /** True once the connection is closed, by either side. */
  get isClosed(): boolean {
    return this.#closed !== undefined
  }

  /** How many replies are awaited. */
  get awaiting(): number {
    return this.#queue.size
  }

  /** Resolves once no reply is awaited. */
  idle(): Promise<void> {
    return this.#queue.idle()
  }

  /** The last reply read. */
  get lastReply(): Reply | undefined {
    return this.#lastReply
  }

  /** Waits for the server's greeting (RFC 5321 §4.3.1). */
  expectGreeting(timeoutMs: number, signal?: AbortSignal): Promise<Reply> {
    this.#throwIfClosed()
    return this.#queue.expect({ awaits: 'greeting', timeoutMs, signal, endsGroup: true })
  }

  /**
   * Undefined when a command may be written now; otherwise a promise that settles once one may
   * be (loop until this returns undefined, then write without awaiting in between).
   */
  ready(): Promise<void> | undefined {
    this.#throwIfClosed()
    if (this.#exclusive) return (this.#unlocked ??= new Promise<void>((resolve) => (this.#unblock = resolve)))
    if (this.#queue.blocks(this.pipelining)) return this.#queue.idle()
    return undefined
  }

  /**
   * Writes commands once the wire is free and returns one reply promise per command, in order.
   * With nothing blocking, the commands are queued before the first await.
   */
  async sendWhenReady(commands: readonly CommandSpec[], signal?: AbortSignal): Promise<Promise<Reply>[]> {
    // Aborting while queued leaves the connection usable: nothing was written yet.
    for (let wait = this.ready(); wait; wait = this.ready()) await raceAbort(wait, signal)
    return this.send(commands, signal)
  }

  /**
   * Queues commands for the next write, bypassing {@link ready} (for the owner of {@link lock}),
   * and returns one reply promise per command. Everything queued in the same tick goes out in one
   * write.
   */
  send(commands: readonly CommandSpec[], signal?: AbortSignal): Promise<Reply>[] {
    const replies: Promise<Reply>[] = []
    for (const command of commands) replies.push(this.command(command, signal))
    return replies
  }

  /** Queues one command for the next write (see {@link send}) and returns its reply. */
  command(command: CommandSpec, signal?: AbortSignal): Promise<Reply> {
    this.#throwIfClosed()
    this.#debug?.(`C: ${command.display}`)
    const reply = this.#queue.expect(this.#waitFor(command, signal))
    this.#enqueueCommand(command)
    return reply
  }

  /**
   * Queues commands for the next write, like {@link send}, and returns one promise for all their
   * replies, in order; it rejects with the error of the first command whose reply failed (what
   * awaiting each reply in turn would have thrown first). A pipelined envelope costs one promise.
   */
  commandGroup(commands: readonly CommandSpec[], signal?: AbortSignal): Promise<Reply[]> {
    this.#throwIfClosed()
    const waits: ReplyWait[] = []
    for (const command of commands) {
      this.#debug?.(`C: ${command.display}`)
      waits.push(this.#waitFor(command, signal))
    }
    const replies = this.#queue.expectAll(waits)
    // A signal already aborted closed the connection: nothing is written.
    if (!this.#closed) for (const command of commands) this.#enqueueCommand(command)
    return replies
  }

  #waitFor(command: CommandSpec, signal: AbortSignal | undefined): ReplyWait {
    return {
      awaits: command.awaits ?? `reply to ${command.display}`,
      timeoutMs: command.timeoutMs,
      signal,
      endsGroup: command.endsGroup,
      startsTls: command.startsTls,
    }
  }

  #enqueueCommand(command: CommandSpec): void {
    const { line } = command
    this.#enqueue(typeof line === 'string' ? Buffer.from(line, 'utf8') : line)
  }

  /**
   * Queues bytes already framed (the end of message data, a last BDAT chunk) for the next write,
   * so that what follows in the same tick (the next message's MAIL, RCPT and DATA, RFC 2920 §3.1)
   * shares the write.
   */
  queue(chunks: readonly Uint8Array[]): void {
    this.#throwIfClosed()
    for (const chunk of chunks) if (chunk.length > 0) this.#enqueue(chunk as Buffer)
  }

  #enqueue(bytes: Buffer): void {
    this.#out.push(bytes)
    this.#outBytes += bytes.length
    if (this.#flushQueued) return
    this.#flushQueued = true
    process.nextTick(this.#flushQueuedOut)
  }

  readonly #flushQueuedOut = (): void => {
    this.#flushQueued = false
    if (!this.#closed) this.#flush()
  }

  /** Writes what is queued: small parts as one buffer, large ones corked. False when the socket wants draining. */
  #flush(): boolean {
    const out = this.#out
    if (out.length === 0) return true
    const size = this.#outBytes
    this.#out = []
    this.#outBytes = 0
    const socket = this.#socket
    if (out.length === 1) return socket.write(out[0]!)
    // Copying up to 64 KiB costs less than a writev of many small buffers.
    if (size <= 64 * 1024) return socket.write(Buffer.concat(out, size))
    socket.cork()
    let ok = true
    for (const part of out) ok = socket.write(part) && ok
    socket.uncork()
    return ok
  }

  /**
   * True when the memory of everything written may be used again: nothing is queued for the next
   * write or held in the socket's buffer, and the socket is a Node socket, which copies what it
   * writes (into the kernel, or into TLS); another Duplex may hand on the very buffer written.
   */
  get isFlushed(): boolean {
    return this.#socket instanceof Socket && this.#out.length === 0 && this.#socket.writableLength === 0
  }

  /** Queues a waiter for a reply to something already written (the DATA terminator, a BDAT chunk). */
  expect(wait: ReplyWait): Promise<Reply> {
    this.#throwIfClosed()
    return this.#queue.expect(wait)
  }

  /**
   * Runs `fn` with the wire to itself: other callers' commands wait until it settles. For
   * message data, AUTH exchanges and STARTTLS, whose lines must not interleave with others.
   */
  async exclusive<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.lock(signal)
    try {
      return await fn()
    } finally {
      release()
    }
  }

  /**
   * Takes the wire for a transaction once it is free: other callers' commands wait until the
   * returned release function is called (it may be called more than once). A transaction
   * releases it as soon as the end of its data is queued, so the next one can follow in the same
   * write (RFC 2920 §3.1) while the reply is still awaited.
   */
  async lock(signal?: AbortSignal): Promise<() => void> {
    this.#throwIfClosed()
    // Waiting sends queue for their turn, one woken at a time: a thousand sends started at once
    // on one connection would otherwise all wake at every release.
    if (this.#exclusive || this.#lockWaiters.length > 0) await this.#awaitTurn(signal)
    else this.#takeExclusive()
    try {
      // The turn is ours; without PIPELINING, or with a group still open, replies come first.
      while (this.#queue.blocks(this.pipelining)) await raceAbort(this.#queue.idle(), signal)
    } catch (err) {
      this.#releaseExclusive()
      throw err
    }
    return this.#releaser()
  }

  /**
   * {@link lock} when the wire is free now, without a promise: the release function, or
   * undefined when the caller must wait with {@link lock}.
   */
  tryLock(): (() => void) | undefined {
    this.#throwIfClosed()
    if (this.#exclusive || this.#lockWaiters.length > 0 || this.#queue.blocks(this.pipelining)) return undefined
    this.#takeExclusive()
    return this.#releaser()
  }

  #releaser(): () => void {
    let done = false
    return () => {
      if (done) return
      done = true
      this.#releaseExclusive()
    }
  }

  #takeExclusive(): void {
    this.#exclusive = true
  }

  /** Ends a turn: wakes step methods waiting in {@link ready}, and hands the turn to the next waiting lock. */
  #releaseExclusive(): void {
    const unblock = this.#unblock
    this.#exclusive = false
    this.#unlocked = undefined
    this.#unblock = noop
    unblock()
    const next = this.#lockWaiters.shift()
    if (next === undefined) return
    this.#takeExclusive()
    next()
  }

  #awaitTurn(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error)
      const onAbort = (): void => {
        // Nothing was written for this one: the connection stays usable.
        this.#lockWaiters.remove(turn)
        reject(signal!.reason as Error)
      }
      const turn = (): void => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#lockWaiters.push(turn)
    })
  }

  /**
   * Marks message data in flight: a reply that arrives meanwhile with nobody waiting is the
   * server refusing the data early, so it closes the connection as an {@link SmtpError} naming
   * `command` instead of a protocol error.
   */
  setStreaming(command: string | undefined): void {
    this.#streaming = command
  }

  /**
   * Writes raw bytes (message data, an AUTH response) in one corked batch. Returns a promise when
   * the socket wants draining: it settles on 'drain', or rejects after `timeoutMs` (RFC 5321
   * §4.5.3.2.5 data block) or on abort, destroying the connection.
   */
  write(chunks: string | Uint8Array | readonly Uint8Array[], timeoutMs: number, signal?: AbortSignal): Promise<void> | undefined {
    this.#throwIfClosed()
    if (typeof chunks === 'string') this.#enqueue(Buffer.from(chunks, 'utf8'))
    else if (chunks instanceof Uint8Array) this.#enqueue(chunks as Buffer)
    else for (const chunk of chunks) if (chunk.length > 0) this.#enqueue(chunk as Buffer)
    return this.#flush() ? undefined : this.#drain(timeoutMs, signal)
  }

  /** Logs a line through the debug hook, if any. */
  log(line: string): void {
    this.#debug?.(line)
  }

  /** True when a debug hook is set, so callers can skip building log lines. */
  get isLogging(): boolean {
    return this.#debug !== undefined
  }

  /**
   * Hands the socket to `wrap` (which starts TLS on it) after a 220 to STARTTLS, then reads
   * replies from the socket it returns. A failure closes the connection.
   */
  async upgrade(wrap: (socket: Duplex) => Promise<Duplex>): Promise<void> {
    this.#throwIfClosed()
    const raw = this.#socket
    this.#unlisten(raw)
    raw.on('error', noop)
    let secure: Duplex
    try {
      secure = await wrap(raw)
    } catch (err) {
      this.close(err as Error)
      throw err
    }
    if (this.#closed) {
      secure.destroy()
      this.#throwIfClosed()
    }
    this.#socket = secure
    this.#splitter = new LineSplitter({ maxLineBytes: this.#maxLine })
    this.#parser = new ReplyParser()
    this.#detached = false
    this.#listen(secure)
  }

  /**
   * Ends the connection gracefully after QUIT: marks it closed, then ends the socket and destroys
   * it once the end is flushed.
   */
  end(): void {
    if (this.#closed) return
    this.#flush()
    this.#shutdown(quitError, quitWaitError)
    const socket = this.#socket
    // After 221 nothing more is read or written: a plain TCP socket closes at once (its FIN is
    // the end), as Postfix's client does; TLS ends first, so the server gets its close_notify,
    // and any other Duplex (a proxy's stream, one end of a pair) needs its end() to signal it.
    if (socket instanceof Socket && !this.isTls) {
      socket.destroy()
      return
    }
    socket.end(() => {
      socket.destroy()
      if (this.#raw !== socket) this.#raw.destroy()
    })
  }

  /**
   * Destroys the connection now. Pending replies reject: with `error` itself when it is an
   * {@link SmtpError} (a 421) or a {@link ClientError}; with a {@link ProtocolError} of the same
   * code naming what each awaited when the peer broke the protocol; with
   * `ERR_SMTP_CONNECTION_LOST` for any other failure (a TLS handshake); and with
   * `ERR_SMTP_CONNECTION_CLOSED` without `error` (the client closed it).
   */
  close(error?: Error): void {
    if (this.#closed) return
    if (error === undefined) {
      this.#shutdown(closeError, closeWaitError)
    } else if (error instanceof SmtpError || error instanceof ClientError) {
      this.#shutdown(error, () => error)
    } else if (error instanceof ProtocolError) {
      this.#shutdown(error, (wait) => new ProtocolError(error.code, `${error.message} (while waiting for the ${wait.awaits})`, { cause: error }))
    } else {
      this.#shutdown(connectionLost(undefined, error), (wait) => connectionLost(wait.awaits, error))
    }
    this.#destroy()
  }

  /**
   * Marks the connection closed and rejects every pending reply with `makeError(wait)`; a reply to
   * the end of message data that will never come is `ERR_SMTP_DELIVERY_UNKNOWN` instead (unless
   * the server said 421), since the server may have taken the message.
   */
  #shutdown(closed: Error | (() => Error), makeError: (wait: ReplyWait) => Error): void {
    this.#closed = closed
    this.#out = []
    this.#outBytes = 0
    this.#queue.failAll((wait) => {
      const error = makeError(wait)
      return wait.afterData === true && !(error instanceof SmtpError) ? deliveryUnknown(wait.awaits, error) : error
    })
    this.#queue.dispose()
    if (this.#closeListeners === undefined || this.#closeListeners.size === 0) return
    const error = this.closedError!
    for (const listener of this.#closeListeners) listener(error)
    this.#closeListeners.clear()
  }

  #destroy(): void {
    this.#socket.destroy()
    if (this.#raw !== this.#socket) this.#raw.destroy()
  }

  #throwIfClosed(): void {
    if (this.#closed) throw this.closedError
  }

  /**
   * Destroys the connection because `why` happened (`'the message source failed: ...'`), with
   * `cause` as the cause of the `ERR_SMTP_CONNECTION_CLOSED` error every pending and later call gets.
   */
  abandon(why: string, cause: unknown): void {
    if (this.#closed) return
    this.#shutdown(connectionClosed(why, undefined, cause), (other) => connectionClosed(why, other.awaits, cause))
    this.#destroy()
  }

  #abort(error: unknown, wait: ReplyWait): void {
    const what = error instanceof DOMException && error.name === 'TimeoutError' ? 'timed out' : 'was aborted'
    this.abandon(`waiting for the ${wait.awaits} ${what}`, error)
  }

  #drain(timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    const socket = this.#socket
    return new Promise<void>((resolve, reject) => {
      const finish = (error?: unknown): void => {
        clearTimeout(timer)
        socket.off('drain', onDrain)
        signal?.removeEventListener('abort', onAbort)
        this.#closeListeners?.delete(onClose)
        if (error === undefined) resolve()
        else reject(error)
      }
      const fail = (error: unknown): void => {
        finish(error)
        this.#abort(error, { awaits: 'server to take message data', timeoutMs })
      }
      const onDrain = (): void => finish()
      const onAbort = (): void => fail(signal?.reason)
      const onClose = (error: Error): void => finish(error)
      const timer = setTimeout(() => {
        fail(new DOMException(`the server took no message data for ${timeoutMs} ms (data block timeout)`, 'TimeoutError'))
      }, timeoutMs)
      socket.on('drain', onDrain)
      signal?.addEventListener('abort', onAbort, { once: true })
      ;(this.#closeListeners ??= new Set()).add(onClose)
      // The peer's refusal can close the connection inside socket.write() (an in-memory Duplex
      // answers synchronously): no 'drain' or close would come any more.
      if (this.#closed) onClose(this.closedError!)
      else if (signal?.aborted) onAbort()
    })
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#detached || this.#closed) return
    try {
      this.#splitter.push(chunk)
      for (let line = this.#splitter.readLine(); line !== null; line = this.#splitter.readLine()) {
        this.#debug?.(`S: ${line.toString('utf8')}`)
        const reply = this.#parser.push(line)
        if (reply) this.#dispatch(reply)
        if (this.#detached || this.#closed) return
      }
    } catch (err) {
      this.close(err as Error)
    }
  }

  #dispatch(reply: Reply): void {
    this.#lastReply = reply
    const wait = this.#queue.deliver(reply)
    if (reply.code === 421) {
      // RFC 5321 §3.8: the server is shutting down this channel; nothing else will be answered.
      this.close(replyToError(reply))
      return
    }
    if (!wait) {
      if (this.#streaming !== undefined) {
        this.close(replyToError(reply, this.#streaming))
      } else {
        this.close(new ProtocolError('ERR_SMTP_UNEXPECTED_REPLY', `unexpected reply while no command was pending: ${reply.code} ${replyText(reply)}`))
      }
      return
    }
    if (wait.startsTls && reply.code === 220) {
      // RFC 3207 §4.1 and STYLE §2.5: anything read after the 220 was sent before TLS and may be
      // an attacker's; it must never be taken as a reply to a command sent over TLS.
      this.#detached = true
      const discarded = this.#splitter.takeBuffered()
      if (discarded.length > 0) this.#debug?.(`S: <${discarded.length} bytes discarded before TLS>`)
      this.#unlisten(this.#socket)
      this.#socket.on('error', noop)
    }
  }

  readonly #onEnd = (): void => {
    this.#onServerClose()
  }

  readonly #onClose = (): void => {
    this.#onServerClose()
  }

  readonly #onError = (error: Error): void => {
    if (this.#closed) return
    this.#shutdown(connectionLost(undefined, error), (wait) => connectionLost(wait.awaits, error))
    this.#destroy()
  }

  #onServerClose(): void {
    if (this.#closed) return
    this.#shutdown(connectionLost(undefined), (wait) => connectionLost(wait.awaits))
    this.#destroy()
  }

  #listen(socket: Duplex): void {
    socket.on('data', this.#onData)
    socket.on('end', this.#onEnd)
    socket.on('close', this.#onClose)
    socket.on('error', this.#onError)
    // A socket handed over paused (by a proxy handshake) would otherwise never flow.
    socket.resume()
  }

  #unlisten(socket: Duplex): void {
    socket.off('data', this.#onData)
    socket.off('end', this.#onEnd)
    socket.off('close', this.#onClose)
    socket.off('error', this.#onError)
  }
}
