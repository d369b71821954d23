import type { Reply } from '../protocol/reply.ts'
import { Fifo } from './fifo.ts'

/** What one pending reply is for, and how long to wait for it. */
export interface ReplyWait {
  /** What is awaited, for messages: `reply to RCPT TO:<bob@example.test>`, `greeting`. */
  readonly awaits: string
  /** How long to wait for the reply, from the moment it is queued. */
  readonly timeoutMs: number
  /** The caller's signal; aborting it rejects with its reason. */
  readonly signal?: AbortSignal | undefined
  /**
   * True for commands after which nothing may be written until the reply is in: EHLO, DATA,
   * QUIT, NOOP, VRFY, STARTTLS, AUTH (RFC 2920 §3.1 "last command in a group").
   */
  readonly endsGroup?: boolean | undefined
  /** True for STARTTLS: on a 220 reply, bytes after it must be discarded, not read as replies. */
  readonly startsTls?: boolean | undefined
  /** True for the reply to the end of message data: losing it leaves the delivery unknown. */
  readonly afterData?: boolean | undefined
}

interface Waiter extends ReplyWait {
  /** The promise this waiter settles, alone or with the others of its group. */
  readonly pending: Pending
  /** Its place in that group. */
  readonly index: number
  /** When the reply is overdue, on {@link ReplyQueue}'s clock. */
  readonly deadline: number
}

// setTimeout fires at once for delays over 2^31-1 ms (about 24.8 days).
const MAX_TIMER_MS = 2 ** 31 - 1

const markHandled = (): void => {}
const monotonicNow = (): number => performance.now()

/**
 * The promise behind one waiter, or behind a group of them ({@link ReplyQueue.expectAll}): a
 * pipelined envelope is one promise, not one per command. A group resolves with its replies in
 * order once all are in; it rejects with the error of its first waiter (in order) that failed,
 * once none is left waiting: the error a caller awaiting each reply in turn would have met first.
 * A rejected promise is marked handled first, so a group whose later replies fail after an earlier
 * one already threw does not crash the process (only a failure needs the handler, so a reply that
 * comes costs no extra promise); the caller still sees the rejection when it awaits.
 */
class Pending {
  readonly promise: Promise<Reply & Reply[]>
  #resolve!: (value: Reply | Reply[]) => void
  #reject!: (error: unknown) => void
  // Undefined for a single waiter, which resolves with its reply itself.
  readonly #replies: Reply[] | undefined
  #left: number
  #failedAt = -1
  #error: unknown

  constructor(count: number) {
    this.promise = new Promise<Reply & Reply[]>((resolve, reject) => {
      this.#resolve = resolve as (value: Reply | Reply[]) => void
      this.#reject = reject
    })
    this.#replies = count === 1 ? undefined : new Array<Reply>(count)
    this.#left = count
  }

  deliver(index: number, reply: Reply): void {
    const replies = this.#replies
    if (replies === undefined) return this.#resolve(reply)
    replies[index] = reply
    if (--this.#left === 0) this.#settle()
  }

  fail(index: number, error: unknown): void {
    if (this.#failedAt === -1 || index < this.#failedAt) {
      this.#failedAt = index
      this.#error = error
    }
    if (--this.#left === 0) this.#settle()
  }

  #settle(): void {
    if (this.#failedAt === -1) return this.#resolve(this.#replies!)
    this.promise.catch(markHandled)
    this.#reject(this.#error)
  }
}

/**
 * The FIFO of replies a client waits for. Commands are written in order and replies come back in
 * the same order (RFC 5321 §4.1, RFC 2920 §3), so each command queues one waiter and each reply
 * settles the oldest waiter. Each waiter carries its own deadline and the caller's signal; when
 * either passes, `onAbort` is called so the owner can destroy the connection, since a reply stream
 * that lost a reply cannot be resynchronised.
 *
 * One timer serves every waiter (RFC 5321 §4.5.3.2 timeouts almost never fire, and a timer per
 * reply cost a setTimeout and a clearTimeout per command): it is armed for the earliest deadline,
 * re-armed earlier only when a new waiter needs it, and when it fires before any deadline passed
 * (the waiter it was armed for was answered) it re-arms for the earliest one left. While nothing
 * is awaited it is unref'd, so an idle connection does not hold the process.
 */
export class ReplyQueue {
  readonly #waiters = new Fifo<Waiter>()
  #groupEnders = 0
  #idle: Array<() => void> = []
  #timer: ReturnType<typeof setTimeout> | undefined
  #timerDue = 0
  #timerRef = false
  // One abort listener per signal, however many replies wait on it: a pipelined group of 100
  // RCPTs would otherwise trip Node's MaxListenersExceeded warning. Made for the first signal:
  // a connection whose caller gives none never needs it.
  #signals: Map<AbortSignal, { waiters: Set<Waiter>; onAbort: () => void }> | undefined
  readonly #onAbort: (error: unknown, wait: ReplyWait) => void
  readonly #now: () => number

  /** `now` is a monotonic clock in milliseconds; tests may pass a fake one. */
  constructor(onAbort: (error: unknown, wait: ReplyWait) => void, now: () => number = monotonicNow) {
    this.#onAbort = onAbort
    this.#now = now
  }

  /** How many replies are awaited. */
  get size(): number {
    return this.#waiters.length
  }

  /**
   * True when no new command may be written yet: a pending command ends its group, or the server
   * does not pipeline and any reply is pending.
   */
  blocks(pipelining: boolean): boolean {
    if (this.size === 0) return false
    return !pipelining || this.#groupEnders > 0
  }

  /** Resolves when no reply is awaited any more (settled or failed). */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  /**
   * Queues a waiter and returns its reply. A promise that is rejected is marked handled first
   * (see {@link Pending}); the caller still sees the rejection when it awaits.
   */
  expect(wait: ReplyWait): Promise<Reply> {
    const pending = new Pending(1)
    const waiter = this.#push(wait, pending, 0, this.#now())
    if (waiter.signal?.aborted) this.#abort(waiter, waiter.signal.reason)
    return pending.promise
  }

  /**
   * Queues one waiter per entry of `waits` (commands written together, RFC 2920 §3.1) and returns
   * one promise for all of them: their replies in order, or the error of the first that failed
   * (see {@link Pending}). The owner's `onAbort` must fail the rest when one is aborted, as a
   * connection that lost a reply does by closing.
   */
  expectAll(waits: readonly ReplyWait[]): Promise<Reply[]> {
    const pending = new Pending(waits.length)
    const now = this.#now()
    // All are queued before any abort is acted on, so the owner's close fails the whole group.
    let aborted: Waiter | undefined
    for (let i = 0; i < waits.length; i++) {
      const waiter = this.#push(waits[i]!, pending, i, now)
      if (aborted === undefined && waiter.signal?.aborted) aborted = waiter
    }
    if (aborted) this.#abort(aborted, aborted.signal!.reason)
    return pending.promise
  }

  #push(wait: ReplyWait, pending: Pending, index: number, now: number): Waiter {
    const waiter: Waiter = {
      awaits: wait.awaits,
      timeoutMs: wait.timeoutMs,
      signal: wait.signal,
      endsGroup: wait.endsGroup,
      startsTls: wait.startsTls,
      afterData: wait.afterData,
      pending,
      index,
      deadline: now + wait.timeoutMs,
    }
    this.#waiters.push(waiter)
    if (waiter.endsGroup === true) this.#groupEnders++
    this.#armFor(now, waiter.deadline)
    const { signal } = wait
    if (signal && !signal.aborted) this.#watch(signal, waiter)
    return waiter
  }

  /** Settles the oldest waiter with `reply`; returns what it awaited, or undefined if none did. */
  deliver(reply: Reply): ReplyWait | undefined {
    const waiter = this.#waiters.shift()
    if (waiter === undefined) return undefined
    this.#forget(waiter)
    waiter.pending.deliver(waiter.index, reply)
    this.#checkIdle()
    return waiter
  }

  /** Rejects every waiter, each with the error `makeError` builds for what it awaited. */
  failAll(makeError: (wait: ReplyWait) => unknown): void {
    for (const waiter of this.#waiters.takeAll()) {
      this.#forget(waiter)
      waiter.pending.fail(waiter.index, makeError(waiter))
    }
    this.#checkIdle()
  }

  /** Stops the timer for good (the connection closed). */
  dispose(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #armFor(now: number, deadline: number): void {
    if (!this.#timerRef && this.#timer !== undefined) {
      this.#timer.ref()
      this.#timerRef = true
    }
    if (this.#timer !== undefined && deadline >= this.#timerDue) return
    clearTimeout(this.#timer)
    const delay = Math.min(Math.max(deadline - now, 0), MAX_TIMER_MS)
    this.#timerDue = now + delay
    this.#timer = setTimeout(this.#fire, delay)
    this.#timerRef = true
  }

  readonly #fire = (): void => {
    this.#timer = undefined
    if (this.size === 0) return
    const now = this.#now()
    let earliest = Number.POSITIVE_INFINITY
    const overdue = this.#waiters.find((waiter) => {
      if (waiter.deadline <= now) return true
      if (waiter.deadline < earliest) earliest = waiter.deadline
      return false
    })
    if (overdue) this.#abort(overdue, new DOMException(`no ${overdue.awaits} within ${overdue.timeoutMs} ms`, 'TimeoutError'))
    else this.#armFor(now, earliest)
  }

  #forget(waiter: Waiter): void {
    if (waiter.endsGroup === true) this.#groupEnders--
    if (waiter.signal) this.#unwatch(waiter.signal, waiter)
  }

  #watch(signal: AbortSignal, waiter: Waiter): void {
    this.#signals ??= new Map()
    let entry = this.#signals.get(signal)
    if (!entry) {
      const waiters = new Set<Waiter>()
      // The oldest waiter on this signal takes the abort; the owner then fails the rest.
      const onAbort = (): void => {
        const first = this.#waiters.find((w) => waiters.has(w))
        if (first) this.#abort(first, signal.reason)
      }
      entry = { waiters, onAbort }
      this.#signals.set(signal, entry)
      signal.addEventListener('abort', onAbort, { once: true })
    }
    entry.waiters.add(waiter)
  }

  #unwatch(signal: AbortSignal, waiter: Waiter): void {
    const entry = this.#signals?.get(signal)
    if (!entry) return
    entry.waiters.delete(waiter)
    if (entry.waiters.size > 0) return
    signal.removeEventListener('abort', entry.onAbort)
    this.#signals!.delete(signal)
  }

  #abort(waiter: Waiter, error: unknown): void {
    if (!this.#waiters.remove(waiter)) return
    this.#forget(waiter)
    waiter.pending.fail(waiter.index, error)
    this.#onAbort(error, waiter)
    this.#checkIdle()
  }

  #checkIdle(): void {
    if (this.size > 0) return
    if (this.#timer !== undefined && this.#timerRef) {
      this.#timer.unref()
      this.#timerRef = false
    }
    const idle = this.#idle
    if (idle.length === 0) return
    this.#idle = []
    for (const resolve of idle) resolve()
  }
}
