import { Readable } from 'node:stream'

/**
 * Hands decoded part bodies out as Readables with backpressure reaching the reader of the
 * source: the parser pushes one input chunk's worth into a body, and when that body's buffer is
 * full, `drained()` waits until the body's reader asks for more (or destroys it). Memory stays
 * at about a chunk per body, whatever the body's size.
 */
export class BodyFlow {
  #full: Readable | undefined
  #stopped: { readonly error: unknown } | undefined
  #waiters: (() => void)[] = []

  /** A new body; it ends when `end` is called, or fails with `fail`. */
  open(): Readable {
    const body: Readable = new Readable({
      read: () => this.#release(body),
      destroy: (error, callback) => {
        this.#release(body)
        callback(error)
      },
    })
    return body
  }

  /** Pushes bytes; a destroyed body (its reader gave up) takes them and drops them. */
  write(body: Readable, bytes: Uint8Array): void {
    if (bytes.length === 0 || body.destroyed) return
    if (!body.push(bytes)) this.#full = body
  }

  end(body: Readable): void {
    if (!body.destroyed && !body.readableEnded) body.push(null)
  }

  /** Ends the body with `error`, for its reader to see; a body nobody listens to is only closed, so the error is not thrown a second time as an uncaught exception. */
  fail(body: Readable, error: Error): void {
    if (body.destroyed) return
    if (body.listenerCount('error') > 0) body.destroy(error)
    else body.destroy()
  }

  /** Whether the parser must call `drained()` before it pushes more: a body is full, or the flow was stopped. */
  get mustWait(): boolean {
    return this.#full !== undefined || this.#stopped !== undefined
  }

  /** Resolves once no body is full; throws the error the flow was stopped with. */
  async drained(): Promise<void> {
    while (this.#full !== undefined && this.#stopped === undefined) await new Promise<void>((resolve) => this.#waiters.push(resolve))
    if (this.#stopped !== undefined) throw this.#stopped.error
  }

  /**
   * Stops the flow with `error` (a body's reader failed): the wait in progress and every later
   * one throws it, so the parser stops reading the source at once. The first error is kept.
   */
  stop(error: unknown): void {
    this.#stopped ??= { error }
    this.release()
  }

  /** Stops every wait, as when parsing is abandoned. */
  release(): void {
    this.#full = undefined
    for (const wake of this.#waiters.splice(0)) wake()
  }

  #release(body: Readable): void {
    if (this.#full === body) this.release()
  }
}
