import { open } from 'node:fs/promises'
import { basename } from 'node:path'
import { contentTypeFor } from './content-types.ts'
import type { QuotedPrintableMode } from './encoding/quoted-printable.ts'
import { chooseAttachmentEncoding, explainUnencodable, type TransferEncoding } from './encoding/transfer-encoding.ts'
import { joinParameters, parameterPieces, parseMediaType } from './header-parameters.ts'
import { assertHeaderText, describe, foldHeader } from './headers.ts'
import type { BodySource, LeafPart } from './mime-part.ts'
import { checkOptions, type OptionHints, type OptionKinds } from '../options/check-options.ts'

/**
 * An attachment, in the shape nodemailer users know. Give exactly one of `content` and `path`.
 *
 * Content given as a one-shot stream (a Node Readable, a web ReadableStream, an async generator)
 * can be read only once, which makes the whole message single-use: its second `stream()` call
 * throws. Give a function returning a fresh stream, or a `path`, for a message that can be
 * streamed again (DKIM signing and retries read it twice).
 */
export interface Attachment {
  /** File name shown to the recipient; defaults to the base name of `path`. */
  readonly filename?: string | undefined
  /**
   * The content: a string (encoded with `encoding`, default UTF-8), bytes, a one-shot async
   * iterable of bytes, or a function returning a fresh iterable (or Readable) on each call.
   * Bytes are not copied: do not modify them while the message is in use.
   */
  readonly content?: string | Uint8Array | AsyncIterable<Uint8Array> | (() => AsyncIterable<Uint8Array> | Iterable<Uint8Array>) | undefined
  /** A file to read, afresh each time the message is streamed. */
  readonly path?: string | undefined
  /** Media type, optionally with parameters; defaults to one from the file name's extension. */
  readonly contentType?: string | undefined
  /**
   * Content-ID without angle brackets. With an HTML body the attachment goes into the
   * multipart/related around the HTML, which refers to it as `cid:<cid>`.
   */
  readonly cid?: string | undefined
  /** Default: `'inline'` when `cid` is set, otherwise `'attachment'`. */
  readonly contentDisposition?: 'attachment' | 'inline' | undefined
  /** How a string `content` is turned into bytes (a Node BufferEncoding such as `'base64'`); default `'utf8'`. */
  readonly encoding?: BufferEncoding | undefined
  /**
   * The Content-Transfer-Encoding to use. Default: chosen from in-memory content (7bit when it
   * already is 7bit data, quoted-printable for mostly-ASCII text/* with CRLF line breaks, base64
   * otherwise) and base64 for streamed content. `'7bit'` and `'8bit'` need in-memory content
   * that is valid as such, and `'8bit'` needs `allow8bit`. Quoted-printable text/* content has
   * its line breaks normalised to CRLF; other types keep exact bytes.
   */
  readonly contentTransferEncoding?: TransferEncoding | undefined
}

// The fields of Attachment; each is checked in detail below.
const FIELDS: OptionKinds = {
  filename: 'any', content: 'any', path: 'any', contentType: 'any', cid: 'any', contentDisposition: 'any', encoding: 'any', contentTransferEncoding: 'any',
}
const FETCH_HINT = 'compose() does not fetch URLs: download the file first and give content (bytes, or a function returning a fresh stream of it) or path (a local file)'
// nodemailer attachment fields, and what to write instead.
const FIELD_HINTS: OptionHints = {
  href: FETCH_HINT,
  httpHeaders: FETCH_HINT,
  type: 'write contentType',
  mimeType: 'write contentType',
  headers: 'attachments take no custom header fields; contentType, contentDisposition and cid set theirs',
  raw: 'give content and contentType; compose() writes the part\'s header fields',
}
const ENCODINGS = new Set<unknown>(['7bit', '8bit', 'quoted-printable', 'base64'])
// RFC 2392 content-ids are msg-ids; we take any printable ASCII without brackets or spaces.
const CONTENT_ID = /^[\x21-\x3b\x3d\x3f-\x7e]+$/
const MAX_CONTENT_ID = 900

/** An attachment turned into a MIME leaf, plus what compose() needs to know about it. */
export interface AttachmentPart {
  readonly part: LeafPart
  /** Whether it has a Content-ID, so it belongs in a multipart/related with the HTML. */
  readonly hasCid: boolean
  /** Whether its content is a one-shot stream, which makes the message single-use. */
  readonly oneShot: boolean
}

/**
 * Validates attachment number `index` and builds its MIME part: Content-Type with an RFC 2047
 * `name=` fallback, Content-Transfer-Encoding, Content-Disposition with an RFC 2231 `filename*`,
 * and Content-ID. Throws a TypeError naming `attachments[index]` on invalid input.
 */
export function createAttachmentPart(input: unknown, index: number, options: { allow8bit: boolean }): AttachmentPart {
  const field = `attachments[${index}]`
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new TypeError(`${field} must be an object, got ${describe(input)}`)
  checkOptions(`compose() ${field}`, input, FIELDS, FIELD_HINTS)
  const attachment = input as Attachment
  if ((attachment.content === undefined) === (attachment.path === undefined)) throw new TypeError(`${field} needs exactly one of content and path`)

  let filename = attachment.filename
  if (filename === undefined && attachment.path !== undefined) {
    assertHeaderText(attachment.path, `${field}.path`)
    filename = basename(attachment.path)
  }
  if (filename !== undefined) {
    assertHeaderText(filename, `${field}.filename`)
    // Control characters in a file name only ever serve to confuse the recipient's file system.
    if (/[\x00-\x1f\x7f]/.test(filename)) throw new TypeError(`${field}.filename must not contain control characters: ${JSON.stringify(filename)}`)
    if (filename === '') throw new TypeError(`${field}.filename must not be empty; leave it out for an attachment without a name`)
  }
  const mediaType = parseMediaType(attachment.contentType ?? contentTypeFor(filename ?? ''), `${field}.contentType`)
  if (mediaType.type.startsWith('multipart/')) throw new TypeError(`${field}.contentType cannot be ${mediaType.type}: attachments are leaf parts`)

  const { source, oneShot, isString } = readSource(attachment, field)
  const isText = mediaType.type.startsWith('text/')
  const encoding = chooseEncoding(attachment, source, mediaType.type, isText, field, options)
  const mode: QuotedPrintableMode = isText ? 'text' : 'binary'

  const typeParameters: string[][] = mediaType.parameters.map(([name, value]) => parameterPieces(name, value, 'rfc2231'))
  if (isText && isString && (attachment.encoding ?? 'utf8').replace('-', '').toLowerCase() === 'utf8' && !mediaType.parameters.some(([name]) => name === 'charset')) {
    typeParameters.push(['charset=utf-8'])
  }
  if (filename !== undefined) typeParameters.push(parameterPieces('name', filename, 'rfc2047'))
  const fields = [foldHeader('Content-Type', joinParameters(mediaType.type, typeParameters)), `Content-Transfer-Encoding: ${encoding}`]

  const cid = attachment.cid
  if (cid !== undefined && (typeof cid !== 'string' || !CONTENT_ID.test(cid) || cid.length > MAX_CONTENT_ID)) {
    throw new TypeError(`${field}.cid must be 1-${MAX_CONTENT_ID} printable ASCII characters without spaces or angle brackets, got ${describe(cid)}`)
  }
  const disposition = attachment.contentDisposition ?? (cid === undefined ? 'attachment' : 'inline')
  if (disposition !== 'attachment' && disposition !== 'inline') throw new TypeError(`${field}.contentDisposition must be 'attachment' or 'inline', got ${describe(disposition)}`)
  const dispositionParameters = filename === undefined ? [] : [parameterPieces('filename', filename, 'rfc2231')]
  fields.push(foldHeader('Content-Disposition', joinParameters(disposition, dispositionParameters)))
  if (cid !== undefined) fields.push(`Content-ID: <${cid}>`)

  return { part: { kind: 'leaf', fields, encoding, mode, source }, hasCid: cid !== undefined, oneShot }
}

function readSource(attachment: Attachment, field: string): { source: BodySource; oneShot: boolean; isString: boolean } {
  const { content, path } = attachment
  if (attachment.encoding !== undefined && (typeof content !== 'string' || !Buffer.isEncoding(attachment.encoding))) {
    throw new TypeError(`${field}.encoding must be a Buffer encoding and needs string content, got ${describe(attachment.encoding)}`)
  }
  if (path !== undefined) {
    if (typeof path !== 'string' || path === '') throw new TypeError(`${field}.path must be a non-empty string, got ${describe(path)}`)
    return { source: { kind: 'iterable', open: () => readFileChunks(path), label: `${field} (${path})` }, oneShot: false, isString: false }
  }
  if (typeof content === 'string') return { source: { kind: 'bytes', bytes: Buffer.from(content, attachment.encoding ?? 'utf8') }, oneShot: false, isString: true }
  if (content instanceof Uint8Array) return { source: { kind: 'bytes', bytes: content }, oneShot: false, isString: false }
  if (typeof content === 'function') {
    const open = (): AsyncIterable<unknown> | Iterable<unknown> => {
      const stream: unknown = content()
      if (!isIterable(stream)) throw new TypeError(`${field}.content() must return an (async) iterable of bytes, got ${describe(stream)}`)
      return stream
    }
    return { source: { kind: 'iterable', open, label: field }, oneShot: false, isString: false }
  }
  if (typeof content === 'object' && content !== null && Symbol.asyncIterator in content) {
    return { source: { kind: 'iterable', open: () => content, label: field }, oneShot: true, isString: false }
  }
  throw new TypeError(`${field}.content must be a string, bytes, an async iterable or a function returning one, got ${describe(content)}`)
}

const READ_BYTES = 64 * 1024

/**
 * Yields the content of the file at `path` in chunks of 64 KiB, each a fresh Buffer. The next
 * read is started before a chunk is yielded, so the disk works while the chunk is encoded; this
 * costs about a third less CPU than iterating an fs.ReadStream. The file is closed when the
 * iteration ends, fails or is stopped early.
 */
async function* readFileChunks(path: string): AsyncGenerator<Uint8Array> {
  const file = await open(path, 'r')
  let next: Promise<{ bytesRead: number; buffer: Buffer }> | undefined
  try {
    next = file.read(Buffer.allocUnsafe(READ_BYTES), 0, READ_BYTES, null)
    for (;;) {
      const { bytesRead, buffer } = await next
      next = undefined
      if (bytesRead === 0) return
      next = file.read(Buffer.allocUnsafe(READ_BYTES), 0, READ_BYTES, null)
      yield bytesRead === READ_BYTES ? buffer : buffer.subarray(0, bytesRead)
    }
  } finally {
    // A reader that stops early leaves a read in flight: let it settle before closing the file.
    await next?.catch(() => undefined)
    await file.close()
  }
}

function isIterable(value: unknown): value is AsyncIterable<unknown> | Iterable<unknown> {
  return typeof value === 'object' && value !== null && (Symbol.asyncIterator in value || Symbol.iterator in value)
}

function chooseEncoding(attachment: Attachment, source: BodySource, type: string, isText: boolean, field: string, options: { allow8bit: boolean }): TransferEncoding {
  const wanted = attachment.contentTransferEncoding
  if (wanted !== undefined && !ENCODINGS.has(wanted)) throw new TypeError(`${field}.contentTransferEncoding must be 7bit, 8bit, quoted-printable or base64, got ${describe(wanted)}`)
  // RFC 2046 §5.2.1: message/rfc822 (and other message/*) bodies may only be 7bit, 8bit or binary.
  const isMessage = type.startsWith('message/')
  if (wanted === '8bit' && !options.allow8bit) throw new TypeError(`${field}.contentTransferEncoding '8bit' needs allow8bit (or smtpUtf8): the transport must offer 8BITMIME`)
  if (isMessage && (wanted === 'base64' || wanted === 'quoted-printable')) throw new TypeError(`${field}: ${type} cannot be ${wanted} (RFC 2046 §5.2.1)`)
  if (wanted === '7bit' || wanted === '8bit' || isMessage) {
    if (source.kind !== 'bytes') throw new TypeError(`${field}: ${isMessage ? type : wanted} content must be given as a string or bytes, so it can be checked`)
    const encoding = wanted === '7bit' || wanted === '8bit' ? wanted : explainUnencodable(source.bytes, '7bit') === undefined ? '7bit' : '8bit'
    const problem = explainUnencodable(source.bytes, encoding)
    if (problem !== undefined) throw new TypeError(`${field} cannot be sent as ${encoding}: ${problem}`)
    if (encoding === '8bit' && !options.allow8bit) throw new TypeError(`${field}: ${type} content with non-ASCII bytes needs allow8bit (or smtpUtf8)`)
    return encoding
  }
  if (wanted !== undefined) return wanted
  return source.kind === 'bytes' ? chooseAttachmentEncoding(source.bytes, { isText }) : 'base64'
}
