// setTimeout fires at once for delays over 2^31-1 ms; every server timer caps them (about 24.8 days).
export const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * The one timer of a connection, behind every wait it has: the PROXY header, each read, the TLS
 * handshake, reverse DNS, hooks and the consumer of a message, and at the end the grace a
 * closing connection gives its peer. Those waits come one at a time and almost never time out.
 * A wait sets a deadline; the timer is re-armed only when it would fire too late for the new
 * deadline, and when it fires early (a later wait moved the deadline) it re-arms for what is
 * left. So a wait costs a clock read, not a setTimeout and clearTimeout.
 *
 * The closing grace ({@link Deadline.startClosing}) is the one wait that may overlap another (a
 * hook can still be settling while the socket closes), so it has its own deadline on the same
 * timer, and no later wait replaces it. `dispose` (the stream closed) ends it, and clears the
 * timer once no other wait is left; a wait still running then, such as a hook that never
 * settles, keeps its timeout.
 */
export class Deadline {
  readonly #now: () => number
  #timer: NodeJS.Timeout | undefined
  #timerDue = 0
  #deadline = 0
  #onTimeout: (() => void) | undefined
  #closingDeadline = 0
  #onClosingTimeout: (() => void) | undefined
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
    this.#armBy(now, this.#deadline)
  }

  /** Ends the wait that `onTimeout` was started for, if it is still the current one. */
  stop(onTimeout: () => void): void {
    if (this.#onTimeout !== onTimeout) return
    this.#onTimeout = undefined
    if (this.#disposed) this.#clear()
  }

  /**
   * The grace of a closing connection: calls `onTimeout` (which destroys the stream) once
   * `timeoutMs` pass, unless `dispose` comes first because the peer closed. Runs beside the
   * current wait, on the same timer; a second call moves it.
   */
  startClosing(timeoutMs: number, onTimeout: () => void): void {
    if (this.#disposed) return
    const now = this.#now()
    this.#closingDeadline = now + timeoutMs
    this.#onClosingTimeout = onTimeout
    this.#armBy(now, this.#closingDeadline)
  }

  /**
   * The stream closed, so no more waits will start: ends the closing grace, and clears the timer
   * now, or when the current wait ends.
   */
  dispose(): void {
    this.#disposed = true
    this.#onClosingTimeout = undefined
    if (this.#onTimeout === undefined) this.#clear()
  }

  // Makes sure the timer fires no later than `due`.
  #armBy(now: number, due: number): void {
    if (this.#timer !== undefined) {
      if (due >= this.#timerDue) return
      clearTimeout(this.#timer)
    }
    this.#arm(now, due - now)
  }

  #arm(now: number, ms: number): void {
    const delay = Math.min(Math.max(ms, 0), MAX_TIMER_MS)
    this.#timerDue = now + delay
    this.#timer = setTimeout(this.#fire, delay)
  }

  #clear(): void {
    if (this.#timer === undefined || this.#onClosingTimeout !== undefined) return
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  readonly #fire = (): void => {
    this.#timer = undefined
    const now = this.#now()
    let onTimeout = this.#onTimeout
    let onClosingTimeout = this.#onClosingTimeout
    let next = Infinity
    if (onTimeout && now < this.#deadline) {
      next = this.#deadline
      onTimeout = undefined
    }
    if (onClosingTimeout && now < this.#closingDeadline) {
      next = Math.min(next, this.#closingDeadline)
      onClosingTimeout = undefined
    }
    if (next !== Infinity) this.#arm(now, next - now)
    if (onTimeout) {
      this.#onTimeout = undefined
      onTimeout()
    }
    if (onClosingTimeout && this.#onClosingTimeout === onClosingTimeout) {
      this.#onClosingTimeout = undefined
      onClosingTimeout()
    }
  }
}
