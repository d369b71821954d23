import type { Readable } from 'node:stream'
import { createBodyDecoder, type BodyDecoder } from './body-decoders.ts'
import { BodyFlow } from './body-flow.ts'
import type { Entity } from './entity.ts'
import { entityPath } from './entity.ts'
import { describePart, type PartInfo } from './message-builder.ts'
import { MimeScanner, type ScanSink } from './mime-scanner.ts'
import { PARSE_PARTS_OPTIONS, resolveParseOptions, type ParseLimits } from './parse-options.ts'
import type { ParsedHeaders } from './parsed-headers.ts'
import { readSource, type ParseSource } from './read-source.ts'

/** Options of `parseParts`: the same bounds as parseMessage's. */
export type ParsePartsOptions = ParseLimits

/** One leaf part of a message, as parseParts yields it: the header at once, the body as it arrives. */
export interface MessagePart extends Omit<PartInfo, 'role'> {
  /** Whether parseMessage would list it in `attachments` (anything but the text and HTML bodies). */
  readonly isAttachment: boolean
  /** Indexes from the message down to this part: [] for a single-part message, [1, 0] for the first part of the second part. */
  readonly path: readonly number[]
  /** The header of the message this part belongs to: the message read, or the attached message (message/rfc822) around the part. */
  readonly messageHeaders: ParsedHeaders
  /** How many attached messages (message/rfc822) the part is inside: 0 for the message's own parts. */
  readonly messageDepth: number
  /**
   * The decoded body (transfer encoding undone; text is not converted from its charset). Read it,
   * pipe it, or leave it: asking for the next part discards whatever of it nobody reads.
   */
  readonly body: Readable
}

class PartsSink implements ScanSink {
  readonly flow = new BodyFlow()
  readonly parts: MessagePart[] = []
  readonly #open = new Map<Entity, { readonly body: Readable; readonly decoder: BodyDecoder }>()

  keepsRaw(): boolean {
    return false
  }

  start(entity: Entity): void {
    if (entity.kind !== 'leaf') return
    const { role, ...info } = describePart(entity)
    let root = entity
    let messageDepth = 0
    while (root.parent !== undefined && root.parent.kind !== 'message') root = root.parent
    for (let at = entity.parent; at !== undefined; at = at.parent) if (at.kind === 'message') messageDepth++
    const body = this.flow.open()
    this.#open.set(entity, { body, decoder: createBodyDecoder(info.transferEncoding) })
    this.parts.push({ ...info, isAttachment: role === 'attachment', path: entityPath(entity), messageHeaders: root.headers!, messageDepth, body })
  }

  data(entity: Entity, bytes: Buffer): void {
    const open = this.#open.get(entity)
    if (open) this.flow.write(open.body, open.decoder.update(bytes))
  }

  end(entity: Entity): void {
    const open = this.#open.get(entity)
    if (!open) return
    this.#open.delete(entity)
    this.flow.write(open.body, open.decoder.end())
    this.flow.end(open.body)
  }

  defect(): void {}

  /** Ends every open body with `error`. */
  fail(error: Error): void {
    for (const { body } of this.#open.values()) this.flow.fail(body, error)
    this.#open.clear()
  }
}

/**
 * Reads a message part by part, streaming: yields each leaf part (text, HTML, attachment, in
 * order, attached messages' parts included) as soon as its header has arrived, with its decoded
 * body as a Readable. The source is read only as fast as the bodies are, so a 1 GB attachment
 * piped to disk goes through with flat memory, and a server can decide from a part's header
 * before its body has arrived.
 *
 * Asking for the next part discards what nobody read of the previous part's body; leaving the
 * loop early stops reading the source. The bounds are parseMessage's (`maxDepth`, `maxParts`,
 * `maxHeaderBytes`, `maxLineBytes`); there is no decoded-size bound, as nothing is kept. A
 * failing source throws from the loop, and a body being read fails with the same error.
 */
export async function* parseParts(source: ParseSource, options?: ParsePartsOptions): AsyncGenerator<MessagePart, void, undefined> {
  const limits = resolveParseOptions('parseParts()', options, PARSE_PARTS_OPTIONS)
  const sink = new PartsSink()
  const scanner = new MimeScanner(sink, limits)
  const chunks = readSource(source)
  let isDone = false
  let isStopped = false
  let failure: { error: unknown } | undefined
  let notify: (() => void) | undefined
  const wake = (): void => {
    notify?.()
    notify = undefined
  }
  // The pump reads the source on its own, so bodies keep filling while the caller reads one of
  // them between two steps of the loop; it waits whenever a body is full.
  const pump = (async () => {
    try {
      for await (const chunk of chunks) {
        scanner.push(chunk)
        wake()
        await sink.flow.drained()
        if (isStopped) return
      }
      scanner.end()
    } catch (error) {
      failure = { error }
      sink.fail(error instanceof Error ? error : new Error(String(error)))
    } finally {
      isDone = true
      wake()
    }
  })()
  let previous: MessagePart | undefined
  try {
    for (;;) {
      const part = sink.parts.shift()
      if (part !== undefined) {
        if (previous !== undefined && previous.body.readableFlowing === null) previous.body.resume()
        previous = part
        yield part
        continue
      }
      if (failure !== undefined) throw failure.error
      if (isDone) return
      await new Promise<void>((resolve) => {
        notify = resolve
      })
    }
  } finally {
    isStopped = true
    if (previous !== undefined && !previous.body.readableEnded) previous.body.destroy()
    sink.fail(new Error('parseParts: the loop ended before this part did'))
    sink.flow.release()
    // The pump stops at its next chunk; a source that never yields again does not hold the caller.
    void pump
  }
}
