// setTimeout fires at once for delays over 2^31-1 ms; every server timer caps them (about 24.8 days).
export const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * One timer for a connection's waits, which come one at a time (a read, then a hook) and almost
 * never time out. A wait sets a deadline; the timer is re-armed only when it would fire too late
 * for the new deadline, and when it fires early (a later wait moved the deadline) it re-arms
 * for what is left. So a wait costs a clock read, not a setTimeout and clearTimeout.
 *
 * `dispose` (the connection closed) clears the timer once no wait is left; a wait still running
 * then, such as a hook that never settles, keeps its timeout.
 */
export class Deadline {
  readonly #now: () => number
  #timer: NodeJS.Timeout | undefined
  #timerDue = 0
  #deadline = 0
  #onTimeout: (() => void) | undefined
  #disposed = false

  /**
   * `now` is a monotonic clock in milliseconds: a wall clock set back (NTP) would delay every
   * timeout by as much. Tests pass a fake one.
   */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now
  }

  /** Calls `onTimeout` once `timeoutMs` pass, unless `stop` or another `start` comes first. */
  start(timeoutMs: number, onTimeout: () => void): void {
    const now = this.#now()
    this.#deadline = now + timeoutMs
    this.#onTimeout = onTimeout
    if (this.#timer === undefined) this.#arm(now, timeoutMs)
    else if (this.#deadline < this.#timerDue) {
      clearTimeout(this.#timer)
      this.#arm(now, timeoutMs)
    }
  }

  /** Ends the wait that `onTimeout` was started for, if it is still the current one. */
  stop(onTimeout: () => void): void {
    if (this.#onTimeout !== onTimeout) return
    this.#onTimeout = undefined
    if (this.#disposed) this.#clear()
  }

  /** No more waits will start: clears the timer now, or when the current wait ends. */
  dispose(): void {
    this.#disposed = true
    if (this.#onTimeout === undefined) this.#clear()
  }

  #arm(now: number, ms: number): void {
    const delay = Math.min(Math.max(ms, 0), MAX_TIMER_MS)
    this.#timerDue = now + delay
    this.#timer = setTimeout(this.#fire, delay)
  }

  #clear(): void {
    if (this.#timer === undefined) return
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  readonly #fire = (): void => {
    this.#timer = undefined
    const onTimeout = this.#onTimeout
    if (!onTimeout) return
    const now = this.#now()
    if (now < this.#deadline) return this.#arm(now, this.#deadline - now)
    this.#onTimeout = undefined
    onTimeout()
  }
}
