import type { ParsedHeaders } from './parsed-headers.ts'

/** How the scanner reads an entity's body: as bytes, as MIME parts, or as a nested message. */
export type EntityKind = 'leaf' | 'multipart' | 'message'

/**
 * One MIME entity (RFC 2045 §2.4) while the scanner reads it: the message itself, a part of a
 * multipart, or a message inside a message/rfc822 part. `slot` belongs to whoever receives the
 * scanner's events.
 */
export interface Entity {
  readonly parent: Entity | undefined
  /** 0 for the message, parent's depth + 1 below it. */
  readonly depth: number
  /** Position among its siblings (0 for the message and for a nested message). */
  readonly index: number
  headers: ParsedHeaders | undefined
  /** `type/subtype`, lower-cased; the RFC 2045 §5.2 default (or message/rfc822 in multipart/digest, RFC 2046 §5.1.5) when absent. */
  contentType: string
  parameters: ReadonlyMap<string, string>
  kind: EntityKind
  /** For a multipart: its boundary, and whether its close-delimiter has been seen. */
  boundary: Buffer | undefined
  isClosed: boolean
  /** For a multipart: how many parts of it have begun. */
  childCount: number
  /** Set when the header block was larger than allowed, so fields were dropped. */
  isHeaderTruncated: boolean
  /** The raw bytes of the entity (header and body), kept when the receiver asks for them. */
  raw: Buffer[] | undefined
  slot: unknown
}

/** The path of indexes from the message down to `entity`: [] for the message, [1, 0] for the first part of its second part. */
export function entityPath(entity: Entity): number[] {
  const path: number[] = []
  for (let at: Entity | undefined = entity; at?.parent !== undefined; at = at.parent) {
    if (at.parent.kind === 'multipart') path.unshift(at.index)
  }
  return path
}
