import { Base64Encoder } from './encoding/base64.ts'
import { QuotedPrintableEncoder, type QuotedPrintableMode } from './encoding/quoted-printable.ts'
import type { TransferEncoding } from './encoding/transfer-encoding.ts'
import { foldHeader } from './headers.ts'
import { joinParameters } from './header-parameters.ts'

/**
 * Where a leaf part's content comes from: bytes held in memory, or a function that opens a fresh
 * iterable of chunks each time the message is streamed (a file path or a factory, or a one-shot
 * stream wrapped by the caller).
 */
export type BodySource =
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  | { readonly kind: 'iterable'; readonly open: () => AsyncIterable<unknown> | Iterable<unknown>; readonly label: string }

/** A part with content: a text body or an attachment. */
export interface LeafPart {
  readonly kind: 'leaf'
  /** Its header fields, folded, without CRLF: Content-Type first. */
  readonly fields: readonly string[]
  readonly encoding: TransferEncoding
  readonly mode: QuotedPrintableMode
  readonly source: BodySource
}

/** A multipart (RFC 2046 §5.1) holding other parts; its boundary is set once the tree is complete. */
export interface MultiPart {
  readonly kind: 'multipart'
  readonly subtype: 'mixed' | 'alternative' | 'related'
  readonly children: readonly MimePart[]
  boundary: string
}

/** A node of the MIME tree. */
export type MimePart = LeafPart | MultiPart

/** Creates a multipart node; its boundary is assigned later (compose() checks it against the content). */
export function createMultiPart(subtype: MultiPart['subtype'], children: readonly MimePart[]): MultiPart {
  return { kind: 'multipart', subtype, children, boundary: '' }
}

/** The header fields of a part, folded, without CRLF. */
export function partFields(part: MimePart): readonly string[] {
  if (part.kind === 'leaf') return part.fields
  const parameters = [[`boundary="${part.boundary}"`]]
  // RFC 2387 §3.1: multipart/related names the type of its root part, the first child.
  if (part.subtype === 'related') parameters.unshift([`type="${rootType(part.children[0]!)}"`])
  return [foldHeader('Content-Type', joinParameters(`multipart/${part.subtype}`, parameters))]
}

function rootType(part: MimePart): string {
  if (part.kind === 'multipart') return `multipart/${part.subtype}`
  const value = part.fields[0]!.slice('Content-Type: '.length)
  return value.split(';')[0]!.trim()
}

const CHUNK_BYTES = 48 * 1024

/**
 * Yields the encoded body of `part`: for a multipart, each child with its delimiter line and
 * header fields, then the close-delimiter (RFC 2046 §5.1.1); for a leaf, its content in its
 * transfer encoding. Content from iterables is encoded chunk by chunk, so memory stays flat
 * whatever its size. The body carries no trailing CRLF: the delimiter that follows supplies it.
 */
export async function* streamBody(part: MimePart): AsyncGenerator<Uint8Array> {
  if (part.kind === 'multipart') {
    for (const [index, child] of part.children.entries()) {
      const head = `${index === 0 ? '' : '\r\n'}--${part.boundary}\r\n${partFields(child).join('\r\n')}\r\n\r\n`
      yield Buffer.from(head, 'utf8')
      yield* streamBody(child)
    }
    yield Buffer.from(`\r\n--${part.boundary}--`, 'latin1')
    return
  }
  const { source } = part
  if (part.encoding === '7bit' || part.encoding === '8bit') {
    // compose() only lets in-memory content through unencoded, after checking it.
    if (source.kind === 'bytes') yield source.bytes
    return
  }
  const encoder = part.encoding === 'base64' ? new Base64Encoder() : new QuotedPrintableEncoder({ mode: part.mode })
  if (source.kind === 'bytes') {
    for (let at = 0; at < source.bytes.length; at += CHUNK_BYTES) {
      const out = encoder.update(source.bytes.subarray(at, at + CHUNK_BYTES))
      if (out.length > 0) yield out
    }
  } else {
    for await (const chunk of source.open() as AsyncIterable<unknown>) {
      const out = encoder.update(toBytes(chunk, source.label))
      if (out.length > 0) yield out
    }
  }
  const tail = encoder.final()
  if (tail.length > 0) yield tail
}

function toBytes(chunk: unknown, label: string): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8')
  throw new TypeError(`${label} yielded a ${chunk === null ? 'null' : typeof chunk} chunk; chunks must be Uint8Array or string`)
}

/**
 * Gathers the chunks of `source` into chunks of at least `minBytes` (all but the last), so
 * consumers pay one promise per 16 KiB or more rather than per header or line. A chunk that is
 * large enough on its own passes through without a copy.
 */
export async function* coalesce(source: AsyncIterable<Uint8Array>, minBytes: number): AsyncGenerator<Uint8Array> {
  let pending: Uint8Array[] = []
  let size = 0
  for await (const chunk of source) {
    if (chunk.length === 0) continue
    if (size === 0 && chunk.length >= minBytes) {
      yield chunk
      continue
    }
    pending.push(chunk)
    size += chunk.length
    if (size >= minBytes) {
      yield Buffer.concat(pending, size)
      pending = []
      size = 0
    }
  }
  if (size > 0) yield pending.length === 1 ? pending[0]! : Buffer.concat(pending, size)
}
