import type { Readable } from 'node:stream'
import { checkOptions } from '../../options/check-options.ts'
import type { AttachmentInfo } from './message-builder.ts'

/** Bounds on what the parser reads, for input from anyone. */
export interface ParseLimits {
  /** Deepest nesting of multiparts and attached messages read; deeper ones are kept as opaque parts (flagged). Default 20. */
  readonly maxDepth?: number | undefined
  /** Most MIME parts read; the rest are skipped (flagged). Default 1000. */
  readonly maxParts?: number | undefined
  /** Largest header block of the message or a part; fields beyond it are dropped (flagged). Default 256 KiB. */
  readonly maxHeaderBytes?: number | undefined
  /** Longest header line; a longer one is dropped (flagged). Default 64 KiB. */
  readonly maxLineBytes?: number | undefined
}

/** Options of `parseMessage`. */
export interface ParseMessageOptions extends ParseLimits {
  /**
   * Most decoded bytes parseMessage keeps in memory (text, HTML, attachments, attached messages);
   * beyond it, it rejects with a MessageParseError `ERR_MESSAGE_TOO_LARGE`. Attachments handed to
   * `onAttachment` do not count. Default 128 MiB.
   */
  readonly maxDecodedBytes?: number | undefined
  /**
   * Receives each attachment's decoded content as a stream instead of keeping it in memory; see
   * parseMessage. Read or pipe the stream; the promise returned is awaited.
   */
  readonly onAttachment?: ((attachment: AttachmentInfo, content: Readable) => unknown) | undefined
}

/** Defaults for parseMessage and parseParts. */
export const parseDefaults = Object.freeze({
  maxDepth: 20,
  maxParts: 1000,
  maxHeaderBytes: 256 * 1024,
  maxLineBytes: 64 * 1024,
  maxDecodedBytes: 128 * 1024 * 1024,
})

/** Why parsing stopped: the message needs more memory than `maxDecodedBytes` allows. */
export type MessageParseErrorCode = 'ERR_MESSAGE_TOO_LARGE'

/** Parsing stopped because the message is larger than the caller allowed. */
export class MessageParseError extends Error {
  readonly code: MessageParseErrorCode

  constructor(code: MessageParseErrorCode, message: string) {
    super(message)
    this.name = 'MessageParseError'
    this.code = code
  }
}

const LIMIT_KINDS = { maxDepth: 'number', maxParts: 'number', maxHeaderBytes: 'number', maxLineBytes: 'number' } as const

/** Resolved limits. */
export type ResolvedLimits = Required<{ [K in keyof typeof parseDefaults]: number }>

/** Checks options (TypeError naming an unknown key or a wrong type, RangeError for a bad number) and fills in defaults. */
export function resolveParseOptions(where: string, options: unknown, extraKinds: Readonly<Record<string, 'function' | 'number' | 'string' | 'boolean' | 'object'>>): ResolvedLimits {
  // The common call passes no options: nothing to check, and the defaults are already resolved.
  if (options === undefined) return parseDefaults
  checkOptions(where, options, { ...LIMIT_KINDS, ...extraKinds }, { maxSize: 'use maxDecodedBytes', skipHtmlToText: 'smtpkit does not convert HTML to text', skipTextToHtml: 'smtpkit does not convert text to HTML' })
  const given = (options ?? {}) as Record<string, unknown>
  const resolved: Record<string, number> = {}
  for (const key of Object.keys(parseDefaults) as (keyof typeof parseDefaults)[]) {
    const value = given[key] ?? parseDefaults[key]
    if (typeof value !== 'number' || !(value === Infinity || (Number.isSafeInteger(value) && value > 0))) {
      throw new RangeError(`${where}: option "${key}" must be a positive integer, got ${String(value)}`)
    }
    resolved[key] = value
  }
  return resolved as ResolvedLimits
}
