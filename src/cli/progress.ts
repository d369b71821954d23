import { canReadTwice, isRereadable, toChunks, type MessageSource, type RereadableSource } from '../protocol/message-source.ts'

/** Options of {@link withProgress}. */
export interface ProgressOptions {
  /** The message size when known (a file), for a percentage. */
  readonly totalBytes: number | undefined
  /** Show nothing until this many bytes have been read (or at once when `totalBytes` is larger). */
  readonly minBytes: number
  /** Where the line goes: a terminal, since it is redrawn with a carriage return. */
  readonly out: NodeJS.WritableStream
}

// Redraw at most this often: a terminal cannot show more, and writes cost time.
const REDRAW_MS = 200

/**
 * Wraps a message source so that reading it draws a progress line ("sending 12.0 MiB of 40.0 MiB
 * (30%)") on `out`, cleared at the end. A re-readable source stays re-readable.
 */
export function withProgress(source: MessageSource | RereadableSource, options: ProgressOptions): MessageSource | RereadableSource {
  if (isRereadable(source) && canReadTwice(source)) return { stream: () => count(source, options) }
  return count(source, options)
}

async function* count(source: MessageSource | RereadableSource, options: ProgressOptions): AsyncGenerator<Uint8Array> {
  const { totalBytes, minBytes, out } = options
  let bytes = 0
  let drawnAt = 0
  let shown = false
  const draw = (): void => {
    // The bytes counted are the wire form (CRLF line ends, a DKIM header), a little more than the
    // file: the percentage stops at 99 until the line is cleared at the end.
    const percent = Math.min(99, Math.floor((bytes / Math.max(totalBytes ?? 1, 1)) * 100))
    const of = totalBytes === undefined ? '' : ` of ${mebibytes(totalBytes)} (${percent}%)`
    out.write(`\rsending ${mebibytes(bytes)}${of}\x1b[K`)
    shown = true
  }
  try {
    for await (const chunk of toChunks(source)) {
      bytes += chunk.length
      const now = Date.now()
      if ((bytes >= minBytes || (totalBytes ?? 0) >= minBytes) && now - drawnAt >= REDRAW_MS) {
        drawnAt = now
        draw()
      }
      yield chunk
    }
  } finally {
    if (shown) out.write('\r\x1b[K')
  }
}

function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}
