import type { BdatDecoder, BodyDecoder } from '../protocol/dot-stuffing.ts'
import type { SmtpError } from '../protocol/errors.ts'
import type { Deadline } from './deadline.ts'
import { MessageStream } from './message-stream.ts'
import type { DataResult, Envelope, Session } from './session.ts'

/** A session hook's outcome: its value, or the SmtpError that becomes the reply. */
export type HookResult<T> = { ok: true; value: T } | { ok: false; error: SmtpError }

/** What a {@link Delivery} needs of its connection. */
export interface DeliveryContext {
  readonly session: Session
  /** `limits.dataTimeoutMs`. */
  readonly timeoutMs: number
  /** The connection's one timer. */
  readonly deadline: Deadline
  runHook<T>(call: () => T | Promise<T>, isExpected?: (error: unknown) => boolean): Promise<HookResult<T>>
}

/**
 * One message on its way to `Session.data()`: the stream, the hook's promise, and the failure
 * (if any) that decides the reply whatever the hook returns.
 */
export class Delivery {
  readonly stream = new MessageStream()
  /** Octets received so far (BDAT: declared chunk sizes read). */
  bytes = 0
  #failure: Error | undefined
  readonly #timeoutMs: number
  readonly #deadline: Deadline
  readonly #hook: Promise<HookResult<DataResult>>

  constructor(context: DeliveryContext, envelope: Envelope) {
    const { session } = context
    this.#timeoutMs = context.timeoutMs
    this.#deadline = context.deadline
    const hook = session.data
    if (hook) {
      // An error we destroyed the stream with, coming back out of the hook, is not the hook's fault.
      const isOurs = (error: unknown): boolean =>
        this.#failure !== undefined && (error === this.#failure || (error as { cause?: unknown } | null)?.cause === this.#failure)
      this.#hook = context.runHook(() => hook.call(session, this.stream, envelope), isOurs)
      void this.#hook.then(() => this.stream.drain())
    } else {
      this.stream.drain()
      this.#hook = Promise.resolve({ ok: true, value: undefined })
    }
  }

  /**
   * For a BDAT message that is not BINARYMIME: the decoder its chunks go through (which also
   * repairs bare line endings when `insecureAcceptBareLineEndings` lets them through), and the
   * reply for the first content rule it found broken.
   */
  text: { readonly decoder: BdatDecoder; readonly failure: (decoder: BodyDecoder) => SmtpError | undefined } | undefined

  /** The error that ended delivery early (size, bare line ending, abort), if any. */
  get failure(): Error | undefined {
    return this.#failure
  }

  /**
   * Passes body bytes on without waiting; ignored after a failure. False when the consumer is
   * behind: the caller passes on the rest of what it read, then waits for {@link Delivery.demand}
   * once, before it reads more.
   */
  push(chunk: Buffer): boolean {
    if (this.#failure !== undefined || chunk.length === 0) return true
    return this.stream.write(chunk)
  }

  /**
   * Waits until the consumer wants more. False when it read nothing for `limits.dataTimeoutMs`:
   * the socket is not being read meanwhile, so this is the only place that timeout can fire.
   */
  demand(): Promise<boolean> {
    return this.stream.demand(this.#timeoutMs, this.#deadline)
  }

  /** {@link Delivery.push} for BDAT: holds the bytes to the content rules of {@link Delivery.text} first. */
  pushChunkPart(chunk: Buffer): boolean {
    const text = this.text
    if (text === undefined || this.#failure !== undefined) return this.push(chunk)
    const { body } = text.decoder.decode(chunk)
    const failure = text.failure(text.decoder)
    if (failure) {
      this.abort(failure)
      return true
    }
    let wanted = true
    for (const part of body) if (!this.push(part)) wanted = false
    return wanted
  }

  /** The last BDAT chunk has been read: a final bare CR, and the final line ending when repairing. */
  endText(): boolean {
    const text = this.text
    if (text === undefined || this.#failure !== undefined) return true
    const tail = text.decoder.finish()
    const failure = text.failure(text.decoder)
    if (failure) {
      this.abort(failure)
      return true
    }
    return this.push(tail)
  }

  /** Ends delivery with `error`: the stream is destroyed with it, and nothing is delivered. */
  abort(error: Error): void {
    if (this.#failure !== undefined) return
    this.#failure = error
    this.stream.destroy(error)
  }

  /**
   * Ends the stream (unless it failed) and waits for the hook to settle; with `timeoutMs`, gives
   * up waiting after that long with `'timeout'` (the hook is still running then).
   */
  finish(timeoutMs?: number): Promise<{ ok: true; value: DataResult } | { ok: false; error: SmtpError } | 'timeout'> {
    if (this.#failure === undefined) this.stream.finish()
    if (timeoutMs === undefined) return this.#hook
    // The connection's shared timer, not one of our own: this wait comes once per message.
    const deadline = this.#deadline
    return new Promise((resolve) => {
      const onTimeout = (): void => resolve('timeout')
      deadline.start(timeoutMs, onTimeout)
      void this.#hook.then((result) => {
        deadline.stop(onTimeout)
        resolve(result)
      })
    })
  }
}
