import { performance } from 'node:perf_hooks'

/** At most `messages` transactions start in any window of `perMs` milliseconds. */
export interface RateLimit {
  readonly messages: number
  readonly perMs: number
}

interface Waiter {
  resolve(): void
  reject(error: unknown): void
  cleanup(): void
}

/**
 * A sliding-window rate limit: {@link take} resolves when one more start fits, in the order the
 * calls were made. It remembers the start times of the last `messages` grants in a ring, so a
 * grant is O(1) whatever the limit. While a caller waits, one timer is armed for the moment the
 * oldest grant leaves the window; it keeps the process alive, as a pending send should.
 */
export class RateLimiter {
  readonly #messages: number
  readonly #perMs: number
  readonly #now: () => number
  readonly #starts: Float64Array
  #oldest = 0
  #count = 0
  #queue: Waiter[] = []
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(limit: RateLimit, now: () => number = () => performance.now()) {
    if (!Number.isSafeInteger(limit.messages) || limit.messages < 1) throw new RangeError('rateLimit.messages must be a positive integer')
    if (typeof limit.perMs !== 'number' || !(limit.perMs > 0) || !Number.isFinite(limit.perMs)) throw new RangeError('rateLimit.perMs must be a positive number of milliseconds')
    this.#messages = limit.messages
    this.#perMs = limit.perMs
    this.#now = now
    this.#starts = new Float64Array(limit.messages)
  }

  /** How many callers are waiting for a slot. */
  get waiting(): number {
    return this.#queue.length
  }

  /** Resolves once a start is allowed, recording it; rejects with the signal's reason on abort. */
  take(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted()
    if (this.#queue.length === 0 && this.#grant()) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.#queue.indexOf(waiter)
        if (index !== -1) this.#queue.splice(index, 1)
        // Nobody left waiting: the timer would only keep the process alive until it fires.
        if (this.#queue.length === 0) this.#disarm()
        reject(signal?.reason)
      }
      const waiter: Waiter = { resolve, reject, cleanup: () => signal?.removeEventListener('abort', onAbort) }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#queue.push(waiter)
      this.#arm()
    })
  }

  /** Rejects every waiting caller with `reason` and stops the timer. */
  cancelAll(reason: unknown): void {
    const queue = this.#queue
    this.#queue = []
    this.#disarm()
    for (const waiter of queue) {
      waiter.cleanup()
      waiter.reject(reason)
    }
  }

  #grant(): boolean {
    const now = this.#now()
    if (this.#count === this.#messages) {
      if (now - this.#starts[this.#oldest]! < this.#perMs) return false
      this.#oldest = (this.#oldest + 1) % this.#messages
      this.#count--
    }
    this.#starts[(this.#oldest + this.#count) % this.#messages] = now
    this.#count++
    return true
  }

  #pump(): void {
    this.#timer = undefined
    while (this.#queue.length > 0 && this.#grant()) {
      const waiter = this.#queue.shift()!
      waiter.cleanup()
      waiter.resolve()
    }
    this.#arm()
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#queue.length === 0) return
    // Timers may fire a fraction of a millisecond early against performance.now(); #pump then
    // finds the window still full and arms again, so the limit is never exceeded.
    const wait = Math.max(1, Math.ceil(this.#starts[this.#oldest]! + this.#perMs - this.#now()))
    this.#timer = setTimeout(() => this.#pump(), wait)
  }

  #disarm(): void {
    if (this.#timer === undefined) return
    clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
