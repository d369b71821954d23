import type { Duplex } from 'node:stream'
import { Deadline } from './deadline.ts'

/** Why {@link ByteReader.read} returned without bytes. */
export type ReadStop = 'end' | 'timeout' | 'aborted'

/**
 * Pulls chunks from a Duplex as the connection asks for them. The stream flows only while a
 * `read` waits: a chunk that arrives with nobody waiting is kept and the stream paused, so at
 * most one chunk (plus the stream's own high-water mark) is read ahead. Nothing is read before
 * the first `read`, so a PROXY header reader can use the stream first; `detach` hands back every
 * byte read but not consumed (STARTTLS throws them away). Bytes can be pushed back with `unread`.
 *
 * Reads are cheap on the hot path: a buffered chunk is returned without waiting, and the
 * timeouts share one {@link Deadline} (the connection's, when it passes one) instead of a timer each.
 */
export class ByteReader {
  readonly #stream: Duplex
  #queue: Buffer[] = []
  #flowing = false
  #ended = false
  #interrupted = false
  #waiter: ((result: Buffer | ReadStop) => void) | undefined
  #waiterInterruptible = false
  readonly #deadline: Deadline
  /** The stream's error, if it failed (ECONNRESET and the like). */
  error: Error | undefined

  constructor(stream: Duplex, deadline = new Deadline()) {
    this.#stream = stream
    this.#deadline = deadline
    stream.on('end', this.#onEnd)
    stream.on('close', this.#onEnd)
    stream.on('error', this.#onError)
  }

  readonly #onData = (chunk: Buffer | string): void => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk
    if (this.#waiter) return this.#settle(bytes)
    this.#queue.push(bytes)
    this.#stream.pause()
  }

  readonly #onEnd = (): void => {
    this.#ended = true
    this.#settle('end')
  }

  readonly #onError = (error: Error): void => {
    this.error ??= error
    this.#onEnd()
  }

  readonly #onTimeout = (): void => this.#settle('timeout')

  #settle(result: Buffer | ReadStop): void {
    const waiter = this.#waiter
    if (!waiter) return
    this.#waiter = undefined
    this.#deadline.stop(this.#onTimeout)
    waiter(result)
  }

  /** Puts bytes back in front of the stream: the next `read` returns them first. */
  unread(bytes: Buffer): void {
    if (bytes.length > 0) this.#queue.unshift(bytes)
  }

  /**
   * Ends the current `interruptible` wait, and every later one, with `'aborted'`: for a server
   * shutting down, which closes idle connections only.
   */
  interrupt(): void {
    this.#interrupted = true
    if (this.#waiterInterruptible) this.#settle('aborted')
  }

  /**
   * The next chunk (everything the stream had buffered, so pipelined bytes arrive together), or
   * why there is none: the stream ended or failed, `timeoutMs` passed, or (with `interruptible`)
   * `interrupt` was called.
   */
  read(timeoutMs: number, interruptible = false): Promise<Buffer | ReadStop> {
    const queued = this.#queue.shift()
    if (queued) return Promise.resolve(queued)
    if (this.#ended || this.#stream.destroyed || this.#stream.readableEnded) return Promise.resolve('end')
    if (interruptible && this.#interrupted) return Promise.resolve('aborted')
    if (!this.#flowing) {
      this.#flowing = true
      this.#stream.on('data', this.#onData)
      // Adding a 'data' listener makes the stream flow, and read() on a flowing stream hands out
      // one buffered chunk at a time; paused, it hands out all of them, as the next lines want.
      this.#stream.pause()
    }
    // Bytes the stream buffered while paused (or before the first read) come out in one chunk;
    // read() hands them to #onData, as it emits 'data' for what it returns.
    if (this.#stream.readableLength > 0) {
      this.#stream.read()
      const buffered = this.#queue.shift()
      if (buffered) return Promise.resolve(buffered)
    }
    this.#stream.resume()
    this.#deadline.start(timeoutMs, this.#onTimeout)
    this.#waiterInterruptible = interruptible
    return new Promise((resolve) => (this.#waiter = resolve))
  }

  /**
   * Stops listening and returns every byte the stream had buffered but nobody read: for the switch
   * to TLS, where they must be thrown away (RFC 3207 §4.2 and CVE-2011-0411). A pending `read`
   * ends with `'end'`.
   */
  detach(): Buffer[] {
    const rest = this.#queue
    this.#queue = []
    const stream = this.#stream
    if (this.#flowing) {
      stream.off('data', this.#onData)
      stream.pause()
      this.#flowing = false
    }
    for (let chunk = stream.read() as Buffer | null; chunk !== null; chunk = stream.read() as Buffer | null) rest.push(chunk)
    stream.off('end', this.#onEnd)
    stream.off('close', this.#onEnd)
    stream.off('error', this.#onError)
    this.#ended = true
    this.#settle('end')
    return rest
  }
}
