import { Readable } from 'node:stream'
import { Deadline } from './deadline.ts'

/**
 * The Readable handed to `Session.data()`: the unstuffed message body, with backpressure that
 * reaches the socket. The connection `write`s each decoded chunk; when that returns false it
 * stops reading the socket and awaits `demand()`, which settles on the consumer's next `_read`
 * (undici's body pattern). So a slow consumer holds at most one high-water mark of body in
 * memory, and TCP flow control does the rest.
 *
 * The connection ends it with `finish()` at end-of-data, or destroys it with the `SmtpError` that
 * becomes the reply (size exceeded, bare line ending, timeout). An error listener is attached so
 * such a destroy never crashes a process whose hook did not listen for errors; consumers still
 * see the error through `pipeline`, `for await` and `finished`.
 */
export class MessageStream extends Readable {
  #wake: (() => void) | undefined
  #wanted = true

  constructor(highWaterMark = 64 * 1024) {
    super({ highWaterMark })
    this.on('error', ignore)
  }

  override _read(): void {
    this.#wanted = true
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
    callback(error)
  }

  /** Adds body bytes. False when the consumer wants no more until `demand()` settles. */
  write(chunk: Buffer): boolean {
    if (this.destroyed || chunk.length === 0) return !this.destroyed
    const more = this.push(chunk)
    if (!more) this.#wanted = false
    return more
  }

  /**
   * Settles when the consumer asks for more, or the stream is destroyed or drained: true then,
   * false when `timeoutMs` passes first (a consumer that stopped reading). The wait runs on
   * `deadline`, the connection's one timer (the socket is not being read meanwhile).
   */
  demand(timeoutMs: number, deadline: Deadline = new Deadline()): Promise<boolean> {
    if (this.#wanted || this.destroyed) return Promise.resolve(true)
    return new Promise((resolve) => {
      const onTimeout = (): void => {
        this.#wake = undefined
        resolve(false)
      }
      deadline.start(timeoutMs, onTimeout)
      this.#wake = () => {
        deadline.stop(onTimeout)
        resolve(true)
      }
    })
  }

  /** End of data: no more bytes will come. */
  finish(): void {
    if (!this.destroyed && !this.readableEnded) this.push(null)
  }

  /**
   * Discards whatever the consumer did not read, now and from here on: for a hook that settled
   * without consuming the stream, or a session without a `data` hook.
   */
  drain(): void {
    if (this.destroyed) return
    this.removeAllListeners('readable')
    this.resume()
  }
}

function ignore(): void {}
