import type { Duplex } from 'node:stream'

/** Why {@link ByteReader.read} returned without bytes. */
export type ReadStop = 'end' | 'timeout' | 'aborted'

// setTimeout fires at once for delays over 2^31-1 ms; cap them (about 24.8 days).
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * Pulls chunks from a Duplex in paused mode, one `read()` at a time, so the connection reads the
 * socket only when it is ready for more: backpressure without pause/resume bookkeeping, and no
 * bytes consumed that the protocol has not asked for yet (which STARTTLS depends on). Bytes can be
 * pushed back with `unread` (for a PROXY header reader that read past its header).
 */
export class ByteReader {
  readonly #stream: Duplex
  #wake: (() => void) | undefined
  #ended = false
  #unread: Buffer[] = []
  /** The stream's error, if it failed (ECONNRESET and the like). */
  error: Error | undefined

  constructor(stream: Duplex) {
    this.#stream = stream
    stream.on('readable', this.#onReadable)
    stream.on('end', this.#onEnd)
    stream.on('close', this.#onEnd)
    stream.on('error', this.#onError)
  }

  readonly #onReadable = (): void => this.#notify()
  readonly #onEnd = (): void => {
    this.#ended = true
    this.#notify()
  }
  readonly #onError = (error: Error): void => {
    this.error ??= error
    this.#onEnd()
  }

  #notify(): void {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }

  /** Puts bytes back in front of the stream: the next `read` returns them first. */
  unread(bytes: Buffer): void {
    if (bytes.length > 0) this.#unread.unshift(bytes)
  }

  /**
   * The next chunk (everything the stream has buffered, so pipelined bytes arrive together), or
   * why there is none: the stream ended or failed, `timeoutMs` passed, or `signal` aborted.
   */
  async read(timeoutMs: number, signal?: AbortSignal): Promise<Buffer | ReadStop> {
    const pushedBack = this.#unread.shift()
    if (pushedBack) return pushedBack
    for (;;) {
      const chunk = this.#ended ? null : (this.#stream.read() as Buffer | string | null)
      if (chunk !== null) return typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk
      if (this.#ended || this.#stream.destroyed || this.#stream.readableEnded) return 'end'
      if (signal?.aborted) return 'aborted'
      const stop = await new Promise<ReadStop | undefined>((resolve) => {
        const timer = setTimeout(() => done('timeout'), Math.min(timeoutMs, MAX_TIMER_MS))
        const onAbort = (): void => done('aborted')
        signal?.addEventListener('abort', onAbort, { once: true })
        const done = (why: ReadStop | undefined): void => {
          clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
          this.#wake = undefined
          resolve(why)
        }
        this.#wake = () => done(undefined)
      })
      if (stop) return stop
    }
  }

  /**
   * Stops listening and returns every byte the stream had buffered but nobody read: for the switch
   * to TLS, where they must be thrown away (RFC 3207 §4.2 and CVE-2011-0411).
   */
  detach(): Buffer[] {
    const rest = this.#unread
    this.#unread = []
    for (let chunk = this.#stream.read() as Buffer | null; chunk !== null; chunk = this.#stream.read() as Buffer | null) rest.push(chunk)
    this.#stream.off('readable', this.#onReadable)
    this.#stream.off('end', this.#onEnd)
    this.#stream.off('close', this.#onEnd)
    this.#stream.off('error', this.#onError)
    this.#notify()
    return rest
  }
}
