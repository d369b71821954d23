import type { Reply } from '../protocol/reply.ts'

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
  resolve(reply: Reply): void
  reject(error: unknown): void
  timer: ReturnType<typeof setTimeout> | undefined
}

const markHandled = (): void => {}

/**
 * The FIFO of replies a client waits for. Commands are written in order and replies come back in
 * the same order (RFC 5321 §4.1, RFC 2920 §3), so each command queues one waiter and each reply
 * settles the oldest waiter. Each waiter carries its own timeout and the caller's signal; when
 * either fires, `onAbort` is called so the owner can destroy the connection, since a reply stream
 * that lost a reply cannot be resynchronised.
 */
export class ReplyQueue {
  #waiters: Waiter[] = []
  #idle: Array<() => void> = []
  // One abort listener per signal, however many replies wait on it: a pipelined group of 100
  // RCPTs would otherwise trip Node's MaxListenersExceeded warning.
  readonly #signals = new Map<AbortSignal, { waiters: Set<Waiter>; onAbort: () => void }>()
  readonly #onAbort: (error: unknown, wait: ReplyWait) => void

  constructor(onAbort: (error: unknown, wait: ReplyWait) => void) {
    this.#onAbort = onAbort
  }

  /**
   * True when no new command may be written yet: a pending command ends its group, or the server
   * does not pipeline and any reply is pending.
   */
  blocks(pipelining: boolean): boolean {
    if (this.#waiters.length === 0) return false
    return !pipelining || this.#waiters.some((w) => w.endsGroup === true)
  }

  /** Resolves when no reply is awaited any more (settled or failed). */
  idle(): Promise<void> {
    if (this.#waiters.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  /**
   * Queues a waiter and returns its reply. The promise is marked handled, so a pipelined group
   * whose later replies fail after an earlier one already threw does not crash the process; the
   * caller still sees the rejection when it awaits.
   */
  expect(wait: ReplyWait): Promise<Reply> {
    // Every command and every LMTP reply passes here: one fixed-shape object and no closures per
    // waiter beyond the promise's own (the bench's profile showed this among the client's costs).
    let resolve!: (reply: Reply) => void
    let reject!: (error: unknown) => void
    const promise = new Promise<Reply>((res, rej) => {
      resolve = res
      reject = rej
    })
    const waiter: Waiter = {
      awaits: wait.awaits,
      timeoutMs: wait.timeoutMs,
      signal: wait.signal,
      endsGroup: wait.endsGroup,
      startsTls: wait.startsTls,
      afterData: wait.afterData,
      resolve,
      reject,
      timer: undefined,
    }
    waiter.timer = setTimeout(this.#onTimeout, wait.timeoutMs, waiter)
    promise.catch(markHandled)
    this.#waiters.push(waiter)
    const { signal } = wait
    if (signal?.aborted) this.#abort(waiter, signal.reason)
    else if (signal) this.#watch(signal, waiter)
    return promise
  }

  readonly #onTimeout = (waiter: Waiter): void => {
    this.#abort(waiter, new DOMException(`no ${waiter.awaits} within ${waiter.timeoutMs} ms`, 'TimeoutError'))
  }

  #cleanup(waiter: Waiter): void {
    clearTimeout(waiter.timer)
    if (waiter.signal) this.#unwatch(waiter.signal, waiter)
  }

  #watch(signal: AbortSignal, waiter: Waiter): void {
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
    const entry = this.#signals.get(signal)
    if (!entry) return
    entry.waiters.delete(waiter)
    if (entry.waiters.size > 0) return
    signal.removeEventListener('abort', entry.onAbort)
    this.#signals.delete(signal)
  }

  /** Settles the oldest waiter with `reply`; returns what it awaited, or undefined if none did. */
  deliver(reply: Reply): ReplyWait | undefined {
    const waiter = this.#waiters.shift()
    if (!waiter) return undefined
    this.#cleanup(waiter)
    waiter.resolve(reply)
    this.#checkIdle()
    return waiter
  }

  /** Rejects every waiter, each with the error `makeError` builds for what it awaited. */
  failAll(makeError: (wait: ReplyWait) => unknown): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const waiter of waiters) {
      this.#cleanup(waiter)
      waiter.reject(makeError(waiter))
    }
    this.#checkIdle()
  }

  #abort(waiter: Waiter, error: unknown): void {
    const index = this.#waiters.indexOf(waiter)
    if (index === -1) return
    this.#waiters.splice(index, 1)
    this.#cleanup(waiter)
    waiter.reject(error)
    this.#onAbort(error, waiter)
    this.#checkIdle()
  }

  #checkIdle(): void {
    if (this.#waiters.length > 0) return
    const idle = this.#idle
    this.#idle = []
    for (const resolve of idle) resolve()
  }
}
