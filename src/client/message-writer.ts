import { CrlfNormalizer, DotEncoder } from '../protocol/dot-stuffing.ts'
import { replyToError, type Reply } from '../protocol/reply.ts'
import { toChunks, utf8Bytes, type MessageSource, type RereadableSource } from '../protocol/message-source.ts'
import { raceAbort, type ClientConnection } from './connection.ts'
import { ClientError, sourceFailed } from './errors.ts'
import type { ClientTimeouts } from './options.ts'

/** How a body is written. */
export interface BodyWriteOptions {
  readonly timeouts: ClientTimeouts
  readonly signal?: AbortSignal | undefined
  /** How many replies follow the end of the data: 1, or one per accepted recipient in LMTP (RFC 2033 §4.2). */
  readonly replyCount: number
  /**
   * Called once the end of the data is queued for writing (it goes out at the end of this tick):
   * from then on the server may deliver the message, and the next transaction may follow.
   */
  readonly onEnd?: (() => void) | undefined
}

/** What writing a body gave: the octets read from the source, and the replies to its end. */
export interface BodyWriteResult {
  readonly bytes: number
  readonly replies: Promise<Reply>[]
}

// Writes of at least this size go out as they are; smaller ones are gathered into one write
// (STYLE §2.5: batch writes, never await per line).
const COALESCE_BYTES = 64 * 1024
const MIN_DIRECT_BYTES = 16 * 1024
const IDLE_FLUSH_MS = 200
const STRING_PIECE_BYTES = 64 * 1024
const utf8 = new TextEncoder()

/**
 * Gathers small buffers into writes of about 64 KiB and waits for 'drain' whenever the socket
 * asks, so memory stays bounded by the socket's high-water mark plus one batch. With
 * `idleFlushMs`, gathered bytes are written anyway once they have waited that long, so a source
 * that trickles small chunks cannot hold data back until the server's data-block timeout
 * (RFC 5321 §4.5.3.2.6).
 */
class WriteBatch {
  #parts: Uint8Array[] = []
  #size = 0
  #idleTimer: ReturnType<typeof setTimeout> | undefined
  #backlog: Promise<void> | undefined
  readonly #conn: ClientConnection
  readonly #timeoutMs: number
  readonly #signal: AbortSignal | undefined
  readonly #idleFlushMs: number | undefined

  constructor(conn: ClientConnection, timeoutMs: number, signal: AbortSignal | undefined, idleFlushMs?: number) {
    this.#conn = conn
    this.#timeoutMs = timeoutMs
    this.#signal = signal
    this.#idleFlushMs = idleFlushMs
  }

  get size(): number {
    return this.#size
  }

  /** Writes `chunk` now if it is large and nothing is gathered, else gathers it and writes once 64 KiB are in. */
  async add(chunk: Uint8Array): Promise<void> {
    if (chunk.length === 0) return
    await this.settle()
    if (chunk.length >= MIN_DIRECT_BYTES && this.#size === 0) {
      await this.#conn.write(chunk, this.#timeoutMs, this.#signal)
      return
    }
    this.push(chunk)
    if (this.#size >= COALESCE_BYTES) await this.flush()
    else if (this.#idleFlushMs !== undefined && this.#idleTimer === undefined) {
      this.#idleTimer = setTimeout(() => this.#flushIdle(), this.#idleFlushMs)
    }
  }

  /** Gathers `chunk` without writing anything. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return
    this.#parts.push(chunk)
    this.#size += chunk.length
  }

  /** Takes the gathered parts without writing them (for a BDAT chunk, which needs its header first). */
  take(): Uint8Array[] {
    this.#clearTimer()
    const parts = this.#parts.length > 16 ? [Buffer.concat(this.#parts, this.#size)] : this.#parts
    this.#parts = []
    this.#size = 0
    return parts
  }

  flush(extra?: Uint8Array): Promise<void> | undefined {
    const parts = this.take()
    if (extra && extra.length > 0) parts.push(extra)
    if (parts.length === 0) return undefined
    return this.#conn.write(parts, this.#timeoutMs, this.#signal)
  }

  /** Waits for the drain of an idle flush, if one is pending. */
  async settle(): Promise<void> {
    const backlog = this.#backlog
    this.#backlog = undefined
    if (backlog) await backlog
  }

  /** Stops the idle timer (after a failure: nothing more is written). */
  dispose(): void {
    this.#clearTimer()
    this.#parts = []
    this.#size = 0
  }

  #flushIdle(): void {
    this.#idleTimer = undefined
    try {
      const drained = this.flush()
      if (drained) {
        drained.catch(() => {})
        this.#backlog = drained
      }
    } catch {
      // The connection closed; the writer's next step sees that.
    }
  }

  #clearTimer(): void {
    if (this.#idleTimer === undefined) return
    clearTimeout(this.#idleTimer)
    this.#idleTimer = undefined
  }
}

/**
 * Writes a message body after `354` to DATA: dot-stuffed and with bare CR/LF made CRLF
 * ({@link DotEncoder}), then `CRLF.CRLF`, and queues the waiters for the reply (or LMTP
 * replies) to that end. Streams: one source chunk at a time, with backpressure. A source that
 * throws, a timeout or an abort closes the connection, since the server is mid-DATA and cannot be
 * told to forget what it got (RFC 5321 §4.1.1.4 has no way to abort DATA).
 */
export function writeDataBody(
  conn: ClientConnection,
  source: MessageSource | RereadableSource,
  options: BodyWriteOptions,
): BodyWriteResult | Promise<BodyWriteResult> {
  // A large string streams in pieces, as any source does (see utf8Pieces).
  if (typeof source === 'string' && source.length <= COALESCE_BYTES) source = utf8Bytes(source)
  // A small body in memory is queued at once, with no promise: the caller can release the wire
  // in the same tick, so the next message's envelope shares the write without waiting its turn.
  if (source instanceof Uint8Array && source.length <= COALESCE_BYTES) return writeWholeDataBody(conn, source, options)
  return streamDataBody(conn, source, options)
}

async function streamDataBody(
  conn: ClientConnection,
  source: MessageSource | RereadableSource,
  options: BodyWriteOptions,
): Promise<BodyWriteResult> {
  const { timeouts, signal } = options
  const encoder = new DotEncoder()
  const batch = new WriteBatch(conn, timeouts.dataBlock, signal, IDLE_FLUSH_MS)
  let bytes = 0
  conn.setStreaming('DATA')
  try {
    if (typeof source === 'string') {
      // Encoded a piece at a time into one buffer, used again once nothing written from it is
      // still held: fresh memory for every piece of every large message cost more in page
      // faults than the encoding itself (see utf8Pieces).
      let piece: Buffer | undefined
      for (let at = 0; at < source.length; ) {
        signal?.throwIfAborted()
        if (piece === undefined || batch.size > 0 || !conn.isFlushed) piece = Buffer.allocUnsafe(STRING_PIECE_BYTES)
        // No more UTF-16 units than the piece has bytes, so no surrogate pair is split (see utf8Pieces).
        const { read, written } = utf8.encodeInto(source.slice(at, at + STRING_PIECE_BYTES), piece)
        at += read
        bytes += written
        await batch.add(encoder.encode(written === piece.length ? piece : piece.subarray(0, written)))
      }
    } else {
      for await (const chunk of abortable(source, signal)) {
        bytes += chunk.length
        await batch.add(encoder.encode(chunk))
      }
    }
    await batch.settle()
  } catch (err) {
    batch.dispose()
    abandon(conn, err, signal)
    throw err
  }
  if (conn.isLogging) conn.log(`C: <${bytes} bytes of message data>`)
  conn.log('C: .')
  // Waiters first: a peer may answer before write() even returns (an in-memory duplex does).
  const replies = expectEnd(conn, 'reply to DATA terminator', options)
  conn.setStreaming(undefined)
  // Queued, not written: what the caller queues next in this tick (the next message's
  // envelope) shares the write. The batch is at most 64 KiB, and every earlier write drained.
  const tail = batch.take()
  tail.push(encoder.end())
  conn.queue(tail)
  options.onEnd?.()
  return { bytes, replies }
}

/**
 * {@link writeDataBody} for a small body already in memory (at most one batch): encoded in one
 * piece and queued with its terminator, with no await, no generator and no abort race per chunk.
 * A larger one streams, so the data-block timeout and backpressure apply to it.
 */
function writeWholeDataBody(conn: ClientConnection, raw: Uint8Array, options: BodyWriteOptions): BodyWriteResult {
  options.signal?.throwIfAborted()
  const encoder = new DotEncoder()
  const body = encoder.encode(raw)
  const end = encoder.end()
  if (conn.isLogging) {
    conn.log(`C: <${raw.length} bytes of message data>`)
    conn.log('C: .')
  }
  const replies = expectEnd(conn, 'reply to DATA terminator', options)
  conn.queue([body, end])
  options.onEnd?.()
  return { bytes: raw.length, replies }
}

/** Options of {@link writeBdatBody}. */
export interface BdatWriteOptions extends BodyWriteOptions {
  /** Send the bytes as they are (BODY=BINARYMIME, RFC 3030 §3); otherwise bare CR and LF become CRLF. */
  readonly binary: boolean
  /** Gather at least this many octets per BDAT chunk. */
  readonly chunkBytes: number
  /** Send the next chunk before the reply to the previous one is in (PIPELINING, RFC 3030 §4.2). */
  readonly pipelining: boolean
}

/**
 * Writes a message body as BDAT chunks (RFC 3030): `BDAT <n>` with each chunk of about
 * `chunkBytes`, and `BDAT <n> LAST` with what remains (`BDAT 0 LAST` for an empty message or an
 * exact fit). With pipelining, chunks do not wait for the previous chunk's reply, but no chunk is
 * sent once a refusal is known, since RFC 3030 §4.1 forbids further BDAT after a failure; the
 * refusal is then thrown as an {@link SmtpError} naming the BDAT command. Memory stays bounded:
 * one chunk gathering and the socket's buffer.
 */
export async function writeBdatBody(
  conn: ClientConnection,
  source: MessageSource | RereadableSource,
  options: BdatWriteOptions,
): Promise<BodyWriteResult> {
  const { timeouts, signal, chunkBytes } = options
  const normalizer = options.binary ? undefined : new CrlfNormalizer()
  const batch = new WriteBatch(conn, timeouts.dataBlock, signal)
  const pending: Promise<Reply>[] = []
  let refused: Error | undefined
  let bytes = 0

  const sendChunk = async (last: boolean): Promise<Promise<Reply>[]> => {
    // The last chunk is queued, like the end of DATA, so the next message's envelope can share its write.
    const size = batch.size
    const command = `BDAT ${size}${last ? ' LAST' : ''}`
    conn.log(`C: ${command}`)
    if (size > 0 && conn.isLogging) conn.log(`C: <${size} bytes of message data>`)
    const parts = batch.take()
    const replies = last
      ? expectEnd(conn, `reply to ${command}`, options)
      : [conn.expect({ awaits: `reply to ${command}`, timeoutMs: timeouts.dataBlock, signal })]
    if (!last) {
      void replies[0]!.then((reply) => {
        if (reply.code !== 250 && !refused) refused = replyToError(reply, command)
      }, () => {})
    }
    const framed = [Buffer.from(`${command}\r\n`, 'latin1'), ...parts]
    if (last) {
      conn.queue(framed)
      return replies
    }
    const drained = conn.write(framed, timeouts.dataBlock, signal)
    if (drained) await drained
    return replies
  }

  const waitIfNeeded = async (): Promise<void> => {
    if (!options.pipelining) await Promise.all(pending)
    if (refused) throw refused
  }

  conn.setStreaming('BDAT')
  try {
    for await (const chunk of abortable(source, signal)) {
      bytes += chunk.length
      const encoded = normalizer ? normalizer.encode(chunk) : chunk
      for (let offset = 0; offset < encoded.length; ) {
        const piece = encoded.subarray(offset, offset + chunkBytes - batch.size)
        offset += piece.length
        batch.push(piece)
        if (batch.size >= chunkBytes) {
          await waitIfNeeded()
          pending.push(...(await sendChunk(false)))
        }
      }
    }
    if (normalizer) batch.push(normalizer.end())
    await waitIfNeeded()
  } catch (err) {
    // A refused chunk leaves the connection usable (the server read the chunk and answered);
    // anything else happened mid-chunk and does not.
    if (err !== refused) abandon(conn, err, signal)
    else await Promise.allSettled(pending)
    conn.setStreaming(undefined)
    throw err
  }
  const replies = await sendChunk(true)
  conn.setStreaming(undefined)
  options.onEnd?.()
  await Promise.all(pending)
  if (refused) throw refused
  return { bytes, replies }
}

function expectEnd(conn: ClientConnection, awaits: string, options: BodyWriteOptions): Promise<Reply>[] {
  const replies: Promise<Reply>[] = []
  for (let i = 0; i < options.replyCount; i++) {
    const what = options.replyCount > 1 ? `${awaits} (LMTP reply ${i + 1} of ${options.replyCount})` : awaits
    replies.push(conn.expect({ awaits: what, timeoutMs: options.timeouts.dataEnd, signal: options.signal, afterData: true }))
  }
  return replies
}

/**
 * The source's chunks, ending with the signal's reason as soon as it aborts, even while the source
 * is slow. An error the source throws comes out as `ERR_SMTP_SOURCE_FAILED`, so it is never taken
 * for a connection's.
 */
async function* abortable(source: MessageSource | RereadableSource, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  const chunks = toChunks(source)
  try {
    for (;;) {
      let next: IteratorResult<Uint8Array>
      try {
        next = await (signal ? raceAbort(chunks.next(), signal) : chunks.next())
      } catch (err) {
        throw signal?.aborted && err === signal.reason ? err : sourceFailed(err)
      }
      if (next.done) return
      yield next.value
    }
  } finally {
    chunks.return(undefined).catch(() => {})
  }
}

// Message data stopped mid-way: the server cannot be told to forget it, so the connection goes.
function abandon(conn: ClientConnection, error: unknown, signal: AbortSignal | undefined): void {
  if (signal?.aborted && error === signal.reason) conn.abandon('sending the message was aborted', error)
  else if (error instanceof ClientError && error.code === 'ERR_SMTP_SOURCE_FAILED') conn.abandon(error.message, error.cause)
  else conn.abandon(`sending the message failed: ${error instanceof Error ? error.message : String(error)}`, error)
}
