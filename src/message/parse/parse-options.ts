import type { Readable } from 'node:stream'
import { checkOptions, type OptionHints, type OptionKinds } from '../../options/check-options.ts'
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
/** The options parseParts takes. */
export const PARSE_PARTS_OPTIONS: OptionKinds = LIMIT_KINDS
/** The options parseMessage takes. */
export const PARSE_MESSAGE_OPTIONS: OptionKinds = { ...LIMIT_KINDS, maxDecodedBytes: 'number', onAttachment: 'function' }
// Options of mailparser, which callers bring along.
const HINTS: OptionHints = { maxSize: 'use maxDecodedBytes', skipHtmlToText: 'smtpkit does not convert HTML to text', skipTextToHtml: 'smtpkit does not convert text to HTML' }
const LIMIT_NAMES = Object.keys(parseDefaults) as (keyof typeof parseDefaults)[]

/** Resolved limits. */
export type ResolvedLimits = Required<{ [K in keyof typeof parseDefaults]: number }>

/**
 * Checks options against `kinds` (TypeError naming an unknown key or a wrong type, RangeError for
 * a bad number) and fills in defaults.
 */
export function resolveParseOptions(where: string, options: unknown, kinds: OptionKinds): ResolvedLimits {
  // The common call passes no options: nothing to check, and the defaults are already resolved.
  if (options === undefined) return parseDefaults
  checkOptions(where, options, kinds, HINTS)
  const given = options as Record<string, unknown>
  const resolved: Record<string, number> = {}
  for (const key of LIMIT_NAMES) {
    const value = given[key] ?? parseDefaults[key]
    if (typeof value !== 'number' || !(value === Infinity || (Number.isSafeInteger(value) && value > 0))) {
      throw new RangeError(`${where}: option "${key}" must be a positive integer, got ${String(value)}`)
    }
    resolved[key] = value
  }
  return resolved as ResolvedLimits
}
