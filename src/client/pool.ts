import { SmtpError } from '../protocol/errors.ts'
import { canReadTwice, type MessageSource, type RereadableSource } from '../protocol/message-source.ts'
import { checkConnectOptions, checkPoolOptions, checkSendRequest, checkSignalOptions } from './check-client-options.ts'
import { chaining, Client, connectChecked, sendChecked } from './client.ts'
import { Fifo } from './fifo.ts'
import { verify, type VerifyResult } from './verify.ts'
import { isEnvelopedMessage, withEnvelope, type EnvelopedMessage, type SendMailRequest } from './envelope.ts'
import { ClientError } from './errors.ts'
import type { ConnectOptions } from './options.ts'
import { RateLimiter, type RateLimit } from './rate-limiter.ts'
import type { SendRequest, SendResult, SendStage } from './transaction.ts'

/** Options of {@link Pool}. */
export interface PoolOptions {
  /** The most connections open at once; sends beyond that wait for a free one. Default 5. */
  readonly maxConnections?: number | undefined
  /** Messages sent over one connection before it is closed with QUIT and replaced. Default 100. */
  readonly maxMessagesPerConnection?: number | undefined
  /** An idle connection is closed with QUIT after this many milliseconds. Default 30 000. */
  readonly idleTimeoutMs?: number | undefined
  /** At most `messages` transactions start in any `perMs` window, across all connections. Default none. */
  readonly rateLimit?: RateLimit | undefined
  /** How long QUIT may take when a connection is retired, in milliseconds. Default 10 000. */
  readonly quitTimeoutMs?: number | undefined
}

/** Options of {@link Pool.send}. */
export interface PoolSendOptions {
  /** Aborts the send: waiting for a connection or a rate slot, or the transaction itself. */
  readonly signal?: AbortSignal | undefined
}

/** Defaults of {@link PoolOptions}. */
export const poolDefaults = Object.freeze({
  maxConnections: 5,
  maxMessagesPerConnection: 100,
  idleTimeoutMs: 30_000,
  quitTimeoutMs: 10_000,
})

interface Member {
  readonly client: Client
  /** Sends started on it, counted when each starts (a chained one starts before the last ends). */
  sent: number
  /** Armed while idle; made once and refreshed on each release, since a new timer per message costs. */
  idleTimer: ReturnType<typeof setTimeout> | undefined
}

/**
 * A send waiting for a connection: handed one (or a free slot to dial, `undefined`), or failed.
 * A send queued by {@link Pool.send} carries its request (`mail`) and is started by the hand-over;
 * a retry waiting in {@link Pool}'s acquire has none and is resolved with what it is handed. One
 * plain record either way: thousands are often queued at once, and closures per record cost
 * memory and collection time.
 */
interface Waiter {
  readonly mail: SendRequest | undefined
  readonly signal: AbortSignal | undefined
  readonly resolve: (value: SendResult | Member | undefined) => void
  readonly reject: (error: unknown) => void
  onAbort: (() => void) | undefined
}

/**
 * Sends many messages over a few reused connections to one server.
 *
 * The contract:
 * - A connection is dialled with `connectOptions` (greeting, EHLO, STARTTLS, AUTH) when a send
 *   needs one and none is idle, up to `maxConnections`; further sends wait in order, bounded by
 *   their signal. It is closed with QUIT after `maxMessagesPerConnection` messages or
 *   `idleTimeoutMs` idle (idle sockets and timers are unref'd: an idle pool does not keep the
 *   process alive).
 * - No RSET between messages that succeeded: a completed transaction leaves the server with empty
 *   buffers (RFC 5321 §4.1.1.4, §3.3), so RSET would cost a round trip for nothing. After a failed
 *   send on a connection still open, RSET is sent before the connection is reused; if RSET fails
 *   the connection is dropped.
 * - A connection the server closed, or answered 421 on (RFC 5321 §3.8), is dropped and replaced.
 * - A message is retried once, on another connection (a new one, or one that has just completed
 *   a transaction; never one that sat idle, which may be as stale as the one that failed), only
 *   when the server cannot have accepted it: the connection was lost (closed, or 421) before the end of its data was written.
 *   If the body was already being read, the source must be re-readable: a string, bytes, an array
 *   of chunks or an object with `stream()`; a one-shot stream is not retried. Any reply to the end
 *   of the data (2xx, 4xx, 5xx) is final. When the connection is lost after the end of the data
 *   was written, before its reply, the send rejects with `ClientError('ERR_SMTP_DELIVERY_UNKNOWN')`
 *   (the message may have been delivered), and is not retried, to avoid a duplicate.
 * - {@link close} takes no new sends, lets every accepted one finish, then QUITs each connection.
 */
export class Pool {
  readonly #connect: ConnectOptions
  readonly #maxConnections: number
  readonly #maxMessages: number
  readonly #idleTimeoutMs: number
  readonly #quitTimeoutMs: number
  readonly #rate: RateLimiter | undefined
  readonly #members = new Set<Member>()
  readonly #idle: Member[] = []
  // Sends waiting for a connection, oldest first: a queue of thousands is common.
  readonly #waiters = new Fifo<Waiter>()
  #inFlight = 0
  #drained: (() => void) | undefined
  // QUITs and RSETs in progress, which close() waits for.
  readonly #chores = new Set<Promise<void>>()
  #dialing = 0
  #closing: Promise<void> | undefined
  #destroyed: Error | undefined
  // Cleared once a server answers a chained transaction badly (see Client's chaining state).
  #chain = true

  constructor(connectOptions: ConnectOptions, options: PoolOptions = {}) {
    checkConnectOptions('new Pool() connect options', connectOptions)
    checkPoolOptions('new Pool() options', options)
    this.#connect = connectOptions
    this.#maxConnections = positiveInteger('maxConnections', options.maxConnections ?? poolDefaults.maxConnections)
    this.#maxMessages = positiveInteger('maxMessagesPerConnection', options.maxMessagesPerConnection ?? poolDefaults.maxMessagesPerConnection)
    this.#idleTimeoutMs = positiveMs('idleTimeoutMs', options.idleTimeoutMs ?? poolDefaults.idleTimeoutMs)
    this.#quitTimeoutMs = positiveMs('quitTimeoutMs', options.quitTimeoutMs ?? poolDefaults.quitTimeoutMs)
    this.#rate = options.rateLimit ? new RateLimiter(options.rateLimit) : undefined
  }

  /** Connections open or being opened. */
  get size(): number {
    return this.#members.size + this.#dialing
  }

  /** Connections open and waiting for a message. */
  get idleCount(): number {
    return this.#idle.length
  }

  /** True once {@link close} was called. */
  get isClosed(): boolean {
    return this.#closing !== undefined
  }

  /**
   * Sends one message over a pooled connection; resolves and rejects as {@link Client.send}
   * does, after the retry rule in the class description. `from` and `to` may be left out when
   * the message has an `envelope()` (a composed message), as with `sendMail`. `mail.signal` and
   * `options.signal` both abort it. Rejects with an Error when the pool is closed.
   */
  send(mail: SendMailRequest | EnvelopedMessage, options: PoolSendOptions = {}): Promise<SendResult> {
    if (this.#closing) return Promise.reject(new Error('the pool is closed: it takes no new messages'))
    let request: SendRequest
    try {
      checkSignalOptions('Pool.send() options', options)
      if (!isEnvelopedMessage(mail)) checkSendRequest('Pool.send()', mail)
      request = withEnvelope(mail, 'Pool.send()')
    } catch (err) {
      return Promise.reject(err)
    }
    const signal = eitherSignal(request.signal, options.signal)
    // Counted now, so close() called right after send() waits for it.
    this.#inFlight++
    // Every connection busy (a backlog, often thousands queued at once): the send waits as a
    // plain record and starts when a connection is handed over, not as an async call suspended
    // on a promise of its own for the whole wait.
    if (this.#idle.length === 0 && this.size >= this.#maxConnections && !this.#destroyed && !signal?.aborted) return this.#queue(request, signal)
    return this.#send(request, signal)
  }

  /**
   * Closes the pool: later sends reject; sends already accepted (sending or waiting) finish;
   * then every connection gets QUIT, and the promise resolves. Aborting `signal` closes every
   * connection at once instead, failing what is still in flight. Calling it again returns the
   * same promise.
   */
  close(options: { signal?: AbortSignal | undefined } = {}): Promise<void> {
    this.#closing ??= this.#drain(options.signal)
    return this.#closing
  }

  /**
   * Checks the server with the pool's connect options (connect, EHLO, STARTTLS, AUTH, QUIT) on a
   * connection of its own, outside the pool; see {@link verify}.
   */
  verify(): Promise<VerifyResult> {
    return verify(this.#connect)
  }

  /** Same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  /** A send queued by {@link send} until a connection is handed over; it is counted in flight. */
  #queue(mail: SendRequest, signal: AbortSignal | undefined): Promise<SendResult> {
    return new Promise<SendResult>((resolve, reject) => {
      const waiter: Waiter = { mail, signal, resolve: resolve as Waiter['resolve'], reject, onAbort: undefined }
      if (signal) this.#listenForAbort(waiter, signal)
      this.#waiters.push(waiter)
    })
  }

  /** Gives a waiting send a connection (or a free slot to dial, `undefined`). */
  #handOver(waiter: Waiter, member: Member | undefined): void {
    const { mail } = waiter
    if (mail === undefined) {
      waiter.resolve(member)
      return
    }
    // In a microtask, as an awaited hand-over would run: the handing send finishes its step first.
    queueMicrotask(() => this.#send(mail, waiter.signal, true, member).then(waiter.resolve, waiter.reject))
  }

  /** Fails a waiting send; a queued one is counted out of flight. */
  #failWaiter(waiter: Waiter, error: unknown): void {
    if (waiter.mail !== undefined) this.#doneInFlight()
    waiter.reject(error)
  }

  /**
   * Runs a send counted in flight by {@link send}; a queued send is `handed` a connection, or
   * `undefined` as `member`: a free slot to dial.
   */
  async #send(mail: SendRequest, signal: AbortSignal | undefined, handed = false, handedMember?: Member): Promise<SendResult> {
    try {
      for (let attempt = 0; ; attempt++) {
        const fresh = attempt > 0
        // The common cases skip the extra await of #acquire: an idle connection at hand, or
        // every connection busy, where the send waits for one to be handed over.
        const direct = !fresh && !this.#destroyed && !signal?.aborted
        const member = (attempt === 0 && handed ? handedMember : undefined) ||
          (direct && !handed && (this.#takeIdle() ?? (this.size >= this.#maxConnections ? await this.#wait(signal) : undefined))) ||
          await this.#acquire(signal, fresh)
        if (this.#rate) {
          try {
            await this.#rate.take(signal)
          } catch (err) {
            this.#release(member)
            throw err
          }
        }
        member.sent++
        let stage: SendStage | 'envelope' = 'envelope'
        let handedOn = false
        const onProgress = (next: SendStage): void => {
          stage = next
          // The end of the data is queued: the next message may follow in the same write.
          if (next === 'sent') handedOn = this.#chainNext(member)
          mail.onProgress?.(next)
        }
        try {
          const result = await member.client[sendChecked](mail, signal, onProgress)
          this.#afterSend(member, true, handedOn)
          return result
        } catch (err) {
          this.#afterSend(member, false, handedOn)
          if (isRetryable(err, stage, mail.message, signal) && !fresh && !this.#destroyed) continue
          throw err
        }
      }
    } finally {
      this.#doneInFlight()
    }
  }

  #doneInFlight(): void {
    if (--this.#inFlight === 0) this.#drained?.()
  }

  async #acquire(signal: AbortSignal | undefined, fresh: boolean): Promise<Member> {
    for (;;) {
      if (this.#destroyed) throw this.#destroyed
      signal?.throwIfAborted()
      if (!fresh) {
        const member = this.#takeIdle()
        if (member) return member
      }
      this.#dropClosedIdle()
      if (this.size < this.#maxConnections) return this.#dial(signal)
      if (fresh && this.#idle.length > 0) {
        // A retry wants a new connection; make room by retiring the longest-idle one.
        const spare = this.#idle.shift()!
        clearTimeout(spare.idleTimer)
        void this.#retire(spare)
      }
      // A connection handed over has just completed a transaction, so it is alive: a retry may
      // take it as well as a new one.
      const handed = await this.#wait(signal)
      if (handed) return handed
    }
  }

  #wait(signal: AbortSignal | undefined): Promise<Member | undefined> {
    return new Promise<Member | undefined>((resolve, reject) => {
      const waiter: Waiter = { mail: undefined, signal, resolve: resolve as Waiter['resolve'], reject, onAbort: undefined }
      if (signal) this.#listenForAbort(waiter, signal)
      this.#waiters.push(waiter)
    })
  }

  /** A waiting send aborted leaves the queue and fails with the signal's reason. */
  #listenForAbort(waiter: Waiter, signal: AbortSignal): void {
    waiter.onAbort = () => {
      this.#waiters.remove(waiter)
      this.#failWaiter(waiter, signal.reason)
    }
    signal.addEventListener('abort', waiter.onAbort, { once: true })
  }

  /** The oldest waiting send, no longer listening for its abort. */
  #nextWaiter(): Waiter | undefined {
    const waiter = this.#waiters.shift()
    if (waiter?.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort)
    return waiter
  }

  async #dial(signal: AbortSignal | undefined): Promise<Member> {
    this.#dialing++
    let client: Client
    try {
      client = await Client[connectChecked]({ ...this.#connect, signal: eitherSignal(this.#connect.signal, signal) })
    } catch (err) {
      this.#dialing--
      this.#wakeOne()
      throw err
    }
    this.#dialing--
    const member: Member = { client, sent: 0, idleTimer: undefined }
    this.#members.add(member)
    if (this.#destroyed) {
      this.#discard(member)
      throw this.#destroyed
    }
    return member
  }

  #takeIdle(): Member | undefined {
    // Most recently used first, so spare connections age out through the idle timeout.
    for (let member = this.#idle.pop(); member; member = this.#idle.pop()) {
      if (!member.client.isClosed) {
        member.client.ref()
        return member
      }
      this.#discard(member)
    }
    return undefined
  }

  #dropClosedIdle(): void {
    for (let i = this.#idle.length - 1; i >= 0; i--) {
      const member = this.#idle[i]!
      if (!member.client.isClosed) continue
      this.#idle.splice(i, 1)
      clearTimeout(member.idleTimer)
      this.#discard(member)
    }
  }

  /**
   * Hands a connection whose message has just queued the end of its data to the oldest waiting
   * send, so that send's MAIL, RCPT and DATA go out behind the terminator in one write (RFC 2920
   * §3.1 lets message content start a group). Only with PIPELINING, before the connection's
   * message limit, and while the server has not answered a chain badly.
   */
  #chainNext(member: Member): boolean {
    if (!this.#chain || this.#destroyed || member.client[chaining] !== 'on' || member.sent >= this.#maxMessages) return false
    const waiter = this.#nextWaiter()
    if (!waiter) return false
    this.#handOver(waiter, member)
    return true
  }

  #afterSend(member: Member, ok: boolean, handedOn: boolean): void {
    if (member.client[chaining] === 'refused') this.#chain = false
    // A chained send owns the connection now; the reply to this one's data ended its transaction.
    if (handedOn) return
    if (member.client.isClosed) {
      this.#discard(member)
    } else if (member.sent >= this.#maxMessages || this.#destroyed) {
      void this.#retire(member)
    } else if (ok) {
      this.#release(member)
    } else {
      // The failed transaction may have left state behind (a refused DATA, an aborted BDAT).
      this.#chore(member.client.reset({ signal: AbortSignal.timeout(this.#quitTimeoutMs) }).then(
        () => this.#release(member),
        () => this.#discard(member),
      ))
    }
  }

  /** Hands a healthy connection to the next waiting send, or parks it idle. */
  #release(member: Member): void {
    if (member.client.isClosed || this.#destroyed) {
      this.#discard(member)
      return
    }
    const waiter = this.#nextWaiter()
    if (waiter) {
      this.#handOver(waiter, member)
      return
    }
    if (this.#closing) {
      void this.#retire(member)
      return
    }
    this.#idle.push(member)
    // An idle connection must not keep the process alive: a script that forgot close() exits.
    member.client.unref()
    if (member.idleTimer) {
      member.idleTimer.refresh()
    } else {
      member.idleTimer = setTimeout(() => {
        // It may fire while the connection is busy again; the next release re-arms it.
        const index = this.#idle.indexOf(member)
        if (index === -1) return
        this.#idle.splice(index, 1)
          void this.#retire(member)
      }, this.#idleTimeoutMs)
      member.idleTimer.unref()
    }
  }

  /** Closes a connection with QUIT; its slot is free once QUIT settled. */
  #retire(member: Member): Promise<void> {
    // Held again for the QUIT exchange, so that `await pool.close()` can finish it.
    member.client.ref()
    return this.#chore(member.client.quit({ signal: AbortSignal.timeout(this.#quitTimeoutMs) }).then(
      () => this.#discard(member),
      () => this.#discard(member),
    ))
  }

  #chore(work: Promise<void>): Promise<void> {
    const tracked = work.finally(() => this.#chores.delete(tracked))
    this.#chores.add(tracked)
    return tracked
  }

  #discard(member: Member): void {
    clearTimeout(member.idleTimer)
    member.client.close()
    if (this.#members.delete(member)) this.#wakeOne()
  }

  /** A slot was freed: let the oldest waiting send dial. */
  #wakeOne(): void {
    const waiter = this.#nextWaiter()
    if (waiter) this.#handOver(waiter, undefined)
  }

  async #drain(signal: AbortSignal | undefined): Promise<void> {
    const onAbort = (): void => this.#destroy(signal?.reason)
    if (signal?.aborted) onAbort()
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#drained = resolve))
      // Connections still resetting come back through #release, which retires them while closing.
      for (const member of this.#idle.splice(0)) {
        clearTimeout(member.idleTimer)
        void this.#retire(member)
      }
      while (this.#chores.size > 0) await Promise.allSettled(this.#chores)
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
  }

  #destroy(reason: unknown): void {
    this.#destroyed = new Error('the pool was closed before the send finished', { cause: reason })
    for (let waiter = this.#nextWaiter(); waiter; waiter = this.#nextWaiter()) this.#failWaiter(waiter, this.#destroyed)
    this.#rate?.cancelAll(this.#destroyed)
    for (const member of this.#idle.splice(0)) {
      clearTimeout(member.idleTimer)
      this.#discard(member)
    }
    // Busy connections are dropped by their sends, which fail now.
    for (const member of [...this.#members]) member.client.close()
  }
}

/**
 * Whether a failed send may be tried again: only when the connection was lost (closed, or 421)
 * before the end of the data was written, and the source can be read again if it was being read.
 */
function isRetryable(error: unknown, stage: SendStage | 'envelope', message: MessageSource | RereadableSource, signal: AbortSignal | undefined): boolean {
  // After the end of the data, a reply is final and a lost one is ERR_SMTP_DELIVERY_UNKNOWN.
  if (signal?.aborted || stage === 'sent') return false
  const lost = (error instanceof SmtpError && error.code === 421) || (error instanceof ClientError && error.code === 'ERR_SMTP_CONNECTION_LOST')
  if (!lost) return false
  // Before 354 the source was never read, so even a one-shot stream is intact.
  return stage === 'envelope' || canReadTwice(message)
}

function eitherSignal(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal | undefined {
  return a && b ? AbortSignal.any([a, b]) : a ?? b
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`)
  return value
}

function positiveMs(name: string, value: number): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) throw new RangeError(`${name} must be a positive number of milliseconds`)
  return value
}
