import { createHash, type Hash } from 'node:crypto'
import type { Readable } from 'node:stream'
import { BodyFlow } from './body-flow.ts'
import { createBodyDecoder, type BodyDecoder } from './body-decoders.ts'
import { decodeCharset } from './charset.ts'
import { ContentBuffer } from './content-buffer.ts'
import { readCommonFields } from './common-fields.ts'
import { parseDeliveryStatus } from './delivery-status.ts'
import { entityPath, type Entity } from './entity.ts'
import type { ScanSink } from './mime-scanner.ts'
import { parseStructuredValue } from './parameters.ts'
import { MessageParseError } from './parse-options.ts'
import { parseHeaderBlock, type ParsedHeaders } from './parsed-headers.ts'
import type { ParsedAttachment, ParsedMessage, SignedContent } from './parsed-message.ts'

/** What a leaf part is to the message it belongs to. */
export type PartRole = 'text' | 'html' | 'attachment'

/** What the parser knows about a leaf part from its header. */
export interface PartInfo {
  readonly headers: ParsedHeaders
  readonly contentType: string
  readonly charset: string | undefined
  readonly filename: string | undefined
  readonly disposition: 'attachment' | 'inline' | undefined
  readonly contentId: string | undefined
  /** The Content-Transfer-Encoding, lower-cased ('' when absent). */
  readonly transferEncoding: string
  readonly role: PartRole
}

/**
 * Reads what a leaf's header says about it. text/plain and text/html parts are the message's
 * text unless their disposition is `attachment`; every other part is an attachment.
 * `onDefect` hears of Content-Disposition parameters in a charset Node does not know.
 */
export function describePart(entity: Entity, onDefect?: (text: string) => void): PartInfo {
  const headers = entity.headers!
  const disposition = headers.get('content-disposition')
  const parsed = disposition === undefined ? undefined : parseStructuredValue(disposition, onDefect)
  const dispositionType = parsed?.value === 'attachment' || parsed?.value === 'inline' ? parsed.value : parsed === undefined ? undefined : 'attachment'
  const filename = parsed?.parameters.get('filename') ?? entity.parameters.get('name')
  const contentId = headers.get('content-id')?.trim().replace(/^<(.*)>$/, '$1')
  const isText = entity.contentType === 'text/plain' || entity.contentType === 'text/html'
  return {
    headers,
    contentType: entity.contentType,
    charset: entity.parameters.get('charset'),
    filename: filename === '' ? undefined : filename,
    disposition: dispositionType,
    contentId: contentId === '' ? undefined : contentId,
    transferEncoding: (headers.get('content-transfer-encoding') ?? '').trim().toLowerCase(),
    role: isText && dispositionType !== 'attachment' ? (entity.contentType === 'text/plain' ? 'text' : 'html') : 'attachment',
  }
}

/** One message being built: the top-level one, or one inside a message/rfc822 part. */
interface Draft {
  readonly root: Entity
  readonly texts: string[]
  readonly htmls: string[]
  readonly attachments: ParsedAttachment[]
  readonly defects: string[]
  reportBody: Buffer | undefined
  returnedHeaders: ParsedHeaders | undefined
  signed: SignedContent | undefined
  isTruncated: boolean
}

interface Leaf {
  readonly draft: Draft
  readonly info: PartInfo
  readonly decoder: BodyDecoder
  /** The decoded body, kept; undefined when it is handed to onAttachment. */
  readonly content: ContentBuffer | undefined
  readonly hash: Hash | undefined
  /** The body handed to onAttachment, instead of keeping it in `content`. */
  readonly stream: Readable | undefined
  /** Decoded bytes handed to `stream`. */
  size: number
}

/** What onAttachment learns about an attachment before its content arrives. */
export type AttachmentInfo = Pick<ParsedAttachment, 'filename' | 'contentType' | 'charset' | 'disposition' | 'contentId' | 'headers'>

/** Receives an attachment's decoded content as a stream; the promise it returns is awaited before parseMessage resolves. */
export type AttachmentHandler = (attachment: AttachmentInfo, content: Readable) => unknown

const KNOWN_ENCODINGS: ReadonlySet<string> = new Set(['', '7bit', '8bit', 'binary', 'base64', 'quoted-printable'])

// Parts whose content the message itself needs, which are never handed out as streams.
const KEPT_TYPES = new Set(['message/delivery-status', 'message/global-delivery-status', 'text/rfc822-headers'])

interface Container {
  readonly draft: Draft
  /** For a message/rfc822 part: the message parsed from it, once it has ended. */
  message?: ParsedMessage
  /** For multipart/signed: the decoded signature, once read. */
  signature?: Buffer
}

/** Builds a ParsedMessage from the scanner's events, keeping decoded bodies in memory up to a budget. */
export class MessageBuilder implements ScanSink {
  readonly #maxDecodedBytes: number
  readonly #onAttachment: AttachmentHandler | undefined
  #decodedBytes = 0
  #result: ParsedMessage | undefined
  isTruncated = false
  /** Backpressure for attachments handed to onAttachment. */
  readonly flow = new BodyFlow()
  /** What onAttachment returned, for each attachment. */
  readonly handlers: Promise<unknown>[] = []

  constructor(maxDecodedBytes: number, onAttachment?: AttachmentHandler) {
    this.#maxDecodedBytes = maxDecodedBytes
    this.#onAttachment = onAttachment
  }

  /** The message, once the scanner has ended. */
  get result(): ParsedMessage {
    if (this.#result === undefined) throw new Error('MessageBuilder: the message has not ended')
    return this.#result
  }

  keepsRaw(entity: Entity): boolean {
    const parent = entity.parent
    return parent !== undefined && (parent.kind === 'message' || (parent.contentType === 'multipart/signed' && entity.index === 0))
  }

  start(entity: Entity): void {
    const draft = entity.parent === undefined || entity.parent.kind === 'message' ? newDraft(entity) : draftOf(entity.parent)
    if (entity.kind !== 'leaf') {
      entity.slot = { draft } satisfies Container
      return
    }
    const info = describePart(entity, (text) => this.defect(entity, text))
    const isStreamed =
      this.#onAttachment !== undefined && info.role === 'attachment' && !KEPT_TYPES.has(info.contentType) && entity.parent?.contentType !== 'multipart/signed' && !isInAttachedMessage(entity)
    const leaf: Leaf = {
      draft,
      info,
      decoder: createBodyDecoder(info.transferEncoding),
      content: isStreamed ? undefined : new ContentBuffer(this.#maxDecodedBytes - this.#decodedBytes),
      hash: info.role === 'attachment' ? createHash('sha256') : undefined,
      stream: isStreamed ? this.#handOut(info) : undefined,
      size: 0,
    }
    if (!KNOWN_ENCODINGS.has(info.transferEncoding)) {
      draft.defects.push(`part ${describePath(entity)}: unknown Content-Transfer-Encoding ${JSON.stringify(info.transferEncoding)}; read as it is`)
    }
    entity.slot = leaf
  }

  data(entity: Entity, bytes: Buffer): void {
    const leaf = entity.slot as Leaf
    if (leaf.content === undefined) this.#handOn(leaf, leaf.decoder.update(bytes))
    else this.#keep(leaf, leaf.content, (out, at) => leaf.decoder.updateInto(bytes, out, at), bytes.length)
  }

  defect(entity: Entity, text: string): void {
    const draft = entity.slot === undefined ? (entity.parent === undefined || entity.parent.kind === 'message' ? undefined : draftOf(entity.parent)) : draftOf(entity)
    ;(draft?.defects ?? this.#pendingDefects(entity)).push(`part ${describePath(entity)}: ${text}`)
  }

  end(entity: Entity): void {
    const slot = entity.slot as Leaf | Container
    if ('info' in slot) {
      if (slot.content === undefined) this.#handOn(slot, slot.decoder.end())
      else this.#keep(slot, slot.content, (out, at) => slot.decoder.endInto(out, at), 0)
      this.#finishLeaf(entity, slot)
    } else if (entity.kind === 'multipart' && entity.contentType === 'multipart/signed') {
      const first = firstChildRaw.get(entity)
      if (slot.draft.signed === undefined && first !== undefined) {
        slot.draft.signed = {
          protocol: entity.parameters.get('protocol'),
          micalg: entity.parameters.get('micalg'),
          content: first,
          signature: slot.signature ?? Buffer.alloc(0),
        }
      }
    } else if (entity.kind === 'message') {
      this.#addAttachment(entity, slot.draft, describePart(entity), [Buffer.concat(rawOf.get(entity) ?? [])], slot.message)
    }
    if (entity.parent?.contentType === 'multipart/signed' && entity.index === 0 && entity.raw !== undefined) {
      firstChildRaw.set(entity.parent, Buffer.concat(entity.raw))
    }
    if (entity.parent === undefined || entity.parent.kind === 'message') {
      const message = this.#finishMessage(entity, draftOf(entity))
      if (entity.parent === undefined) this.#result = message
      else {
        ;(entity.parent.slot as Container).message = message
        rawOf.set(entity.parent, entity.raw ?? [])
      }
    }
  }

  /** Ends every attachment stream still open with `error`. */
  failStreams(error: Error): void {
    for (const stream of this.#streams) this.flow.fail(stream, error)
    this.#streams.clear()
    this.flow.release()
  }

  readonly #streams = new Set<Readable>()

  #handOut(info: PartInfo): Readable {
    const stream = this.flow.open()
    this.#streams.add(stream)
    const { filename, contentType, charset, disposition, contentId, headers } = info
    const handled = Promise.resolve().then(() => this.#onAttachment!({ filename, contentType, charset, disposition, contentId, headers }, stream))
    // A handler that returns without reading the stream lets the rest of it be discarded.
    const settled = handled.finally(() => {
      if (stream.readableFlowing === null) stream.resume()
    })
    // The first handler to fail stops the flow: parseMessage stops reading the source and rejects.
    settled.catch((error: unknown) => this.flow.stop(error))
    this.handlers.push(settled)
    return stream
  }

  // A streamed attachment's decoded bytes go to its stream.
  #handOn(leaf: Leaf, bytes: Uint8Array): void {
    if (bytes.length === 0) return
    leaf.size += bytes.length
    leaf.hash!.update(bytes)
    this.flow.write(leaf.stream!, bytes)
  }

  // A kept body is decoded straight into its ContentBuffer, with room for `inputLength` bytes' worth.
  #keep(leaf: Leaf, content: ContentBuffer, decode: (out: Buffer, at: number) => number, inputLength: number): void {
    const at = content.length
    const out = content.room(leaf.decoder.maxDecodedLength(inputLength))
    const end = decode(out, at)
    if (end === at) return
    content.length = end
    this.#decodedBytes += end - at
    if (this.#decodedBytes > this.#maxDecodedBytes) {
      throw new MessageParseError('ERR_MESSAGE_TOO_LARGE', `message is larger than maxDecodedBytes (${this.#maxDecodedBytes} bytes decoded); raise maxDecodedBytes, or read large messages with parseParts`)
    }
    // Hashed while the bytes are still in the cache.
    leaf.hash?.update(out.subarray(at, end))
  }

  #finishLeaf(entity: Entity, leaf: Leaf): void {
    const { draft, info } = leaf
    if (leaf.stream !== undefined) {
      this.flow.end(leaf.stream)
      this.#streams.delete(leaf.stream)
      this.#addAttachment(entity, draft, info, [], undefined, leaf.hash!.digest('hex'), leaf.size)
      return
    }
    if (info.role !== 'attachment') {
      // The text is kept as a string: its bytes are read where they were decoded to, not copied.
      const decoded = decodeCharset(leaf.content!.view(), info.charset)
      if (decoded.fallback !== undefined) draft.defects.push(`part ${describePath(entity)}: ${decoded.fallback}`)
      const text = decoded.text.replace(/\r\n?/g, '\n')
      ;(info.role === 'text' ? draft.texts : draft.htmls).push(text)
      return
    }
    const content = leaf.content!.take()
    if (info.contentType === 'message/delivery-status' || info.contentType === 'message/global-delivery-status') {
      draft.reportBody ??= content
    } else if (info.contentType === 'text/rfc822-headers') {
      draft.returnedHeaders ??= parseHeaderBlock(content)
    }
    const parent = entity.parent
    if (parent?.contentType === 'multipart/signed' && entity.index === 1) (parent.slot as Container).signature = content
    this.#addAttachment(entity, draft, info, [content], undefined, leaf.hash!.digest('hex'))
  }

  #addAttachment(entity: Entity, draft: Draft, info: PartInfo, chunks: Buffer[], message: ParsedMessage | undefined, checksum?: string, size?: number): void {
    const content = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
    if (message !== undefined && entity.parent !== undefined) {
      const container = entity.parent.slot as Container | undefined
      if (entity.parent.contentType === 'multipart/report' && container !== undefined) container.draft.returnedHeaders ??= message.headers
    }
    draft.attachments.push({
      filename: info.filename,
      contentType: info.contentType,
      charset: info.charset,
      disposition: info.disposition,
      contentId: info.contentId,
      isReferenced: false,
      size: size ?? content.length,
      checksum: checksum ?? createHash('sha256').update(content).digest('hex'),
      content,
      headers: info.headers,
      ...(message === undefined ? {} : { message }),
    })
  }

  #finishMessage(root: Entity, draft: Draft): ParsedMessage {
    const defects = [...(pendingDefects.get(root) ?? []), ...draft.defects]
    const headers = root.headers!
    const common = readCommonFields(headers, (text) => defects.push(text))
    const html = joinBodies(draft.htmls)
    const attachments = html === undefined ? draft.attachments : draft.attachments.map((attachment) => (attachment.contentId !== undefined && html.includes(`cid:${attachment.contentId}`) ? { ...attachment, isReferenced: true } : attachment))
    const isReport = root.contentType === 'multipart/report' || draft.reportBody !== undefined
    return {
      headers,
      ...common,
      text: joinBodies(draft.texts),
      html,
      attachments,
      ...(isReport && draft.reportBody !== undefined ? { report: parseDeliveryStatus(draft.reportBody, draft.returnedHeaders) } : {}),
      ...(draft.signed === undefined ? {} : { signed: draft.signed }),
      defects,
      isTruncated: this.isTruncated,
    }
  }

  #pendingDefects(entity: Entity): string[] {
    let list = pendingDefects.get(entity)
    if (list === undefined) {
      list = []
      pendingDefects.set(entity, list)
    }
    return list
  }
}

// Per-entity state that must outlive the entity's own slot.
const firstChildRaw = new WeakMap<Entity, Buffer>()
const rawOf = new WeakMap<Entity, Buffer[]>()
const pendingDefects = new WeakMap<Entity, string[]>()

// Several inline text parts (multipart/mixed around text, an image, more text) read as one
// text, one line apart; empty ones add nothing.
function joinBodies(bodies: readonly string[]): string | undefined {
  if (bodies.length === 0) return undefined
  const present = bodies.filter((body) => body !== '')
  return present.length === 0 ? '' : present.join('\n')
}

// An attached message is kept whole, its attachments included, as parseMessage documents.
function isInAttachedMessage(entity: Entity): boolean {
  for (let at = entity.parent; at !== undefined; at = at.parent) if (at.kind === 'message') return true
  return false
}

function newDraft(root: Entity): Draft {
  return { root, texts: [], htmls: [], attachments: [], defects: [], reportBody: undefined, returnedHeaders: undefined, signed: undefined, isTruncated: false }
}

function draftOf(entity: Entity): Draft {
  return (entity.slot as Leaf | Container).draft
}

function describePath(entity: Entity): string {
  const path = entityPath(entity)
  return path.length === 0 ? '(message)' : path.map((index) => index + 1).join('.')
}
