import { randomBytes } from 'node:crypto'
import { encodeWords } from './encoding/encoded-word.ts'

/** One header field of a message: its name and its value as written, unfolded (RFC 5322 §2.2.3). */
export type HeaderEntry = readonly [name: string, value: string]

// RFC 5322 §2.1.1: lines SHOULD be at most 78 characters and MUST be at most 998, without CRLF.
const FOLD_AT = 78
// A word written as-is is at most this long, so it fits a line with any header name we accept
// (at most 76 characters plus ': '); a longer one is written as encoded-words, which can be split.
const MAX_PLAIN_WORD_OCTETS = 900
// The longest header field name we accept: it must fit a 78-character line with ': '.
const MAX_NAME_LENGTH = 76

// RFC 5322 §3.6.8: field-name = 1*ftext, printable ASCII except ':'.
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/
// CR and LF could end the field and start another; NUL and the other controls have no place in
// header text, encoded or not (RFC 5322 §3.2.5 unstructured text is VCHAR and WSP).
const FORBIDDEN = /[\x00-\x08\x0a-\x1f\x7f]/
// With the u flag a surrogate range matches only surrogates that are not part of a pair.
export const LONE_SURROGATE = /[\ud800-\udfff]/u

const CONTROL_NAMES = new Map([['\r', 'CR'], ['\n', 'LF'], ['\0', 'NUL']])

/**
 * Throws a TypeError naming `field` when `value` could break out of its header (CR, LF), holds
 * other control characters (NUL, DEL, C0 controls but tab), or is not well-formed Unicode (a
 * lone surrogate has no UTF-8 encoding).
 */
export function assertHeaderText(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string') throw new TypeError(`${field} must be a string, got ${describe(value)}`)
  const bad = FORBIDDEN.exec(value)
  if (bad) throw new TypeError(`${field} must not contain ${CONTROL_NAMES.get(bad[0]) ?? 'control characters'}: ${JSON.stringify(value)}`)
  if (LONE_SURROGATE.test(value)) throw new TypeError(`${field} is not well-formed Unicode (it has a lone surrogate)`)
}

/** Throws a TypeError unless `name` is a valid header field name (RFC 5322 §3.6.8) of at most 76 characters. */
export function assertHeaderName(name: string): void {
  if (!FIELD_NAME.test(name) || name.length > MAX_NAME_LENGTH) {
    throw new TypeError(`invalid header name ${JSON.stringify(name)}: it must be 1-${MAX_NAME_LENGTH} printable ASCII characters without ':' or spaces`)
  }
}

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'string' ? JSON.stringify(value) : typeof value
}

/**
 * Writes a header field from `pieces`, the units of its value that may not be split, joining
 * them with single spaces and folding (RFC 5322 §2.2.3) before a piece when the line would pass
 * 78 octets. The first piece always shares the line with the name. Pieces are expected to be at
 * most 900 octets, which keeps every line within 998. Returns the field without its final CRLF.
 */
export function foldHeader(name: string, pieces: readonly string[]): string {
  let out = `${name}:`
  let lineOctets = out.length
  for (const [index, piece] of pieces.entries()) {
    const octets = Buffer.byteLength(piece)
    if (index > 0 && lineOctets + 1 + octets > FOLD_AT) {
      out += `\r\n ${piece}`
      lineOctets = 1 + octets
    } else {
      out += ` ${piece}`
      lineOctets += 1 + octets
    }
  }
  return out
}

/** Undoes folding (RFC 5322 §2.2.3) and returns the value after `Name:` and its space. */
export function unfoldValue(field: string): string {
  const value = field.slice(field.indexOf(':') + 1).replaceAll('\r\n', '')
  return value.startsWith(' ') ? value.slice(1) : value
}

/** How words of header text are written: raw UTF-8 allowed (RFC 6532) or ASCII only. */
export interface TextOptions {
  readonly smtpUtf8: boolean
}

/**
 * Whether `word` (no spaces) can be written as-is in unstructured text: printable ASCII, or
 * UTF-8 too under RFC 6532; not looking like an encoded-word (RFC 2047 §6.3 would have
 * decoders decode it); and short enough to fit a line.
 */
export function isPlainWord(word: string, options: TextOptions): boolean {
  if (word === '' || word.includes('=?') || Buffer.byteLength(word) > MAX_PLAIN_WORD_OCTETS) return false
  return options.smtpUtf8 ? /^[\x21-\x7e\u00a0-\u{10ffff}]+$/u.test(word) : /^[\x21-\x7e]+$/.test(word)
}

/** The longest encoded-word that still fits on the first line after `Name: `. */
export function firstWordLength(name: string): number {
  return FOLD_AT - name.length - 2
}

/**
 * Turns header text into pieces for {@link foldHeader}: words that can stay as they are stay,
 * and each run of words that cannot (non-ASCII without SMTPUTF8, control characters, text that
 * looks like an encoded-word, tabs, repeated, leading or trailing spaces) becomes RFC 2047
 * encoded-words that carry the spaces inside the run, so decoding gives back `text` exactly.
 */
export function textPieces(text: string, options: TextOptions & { firstWordLength?: number }): string[] {
  if (text === '') return []
  const words = text.split(' ')
  const plain = words.map((word) => isPlainWord(word, options))
  // An empty word stands for an extra space; it must travel inside an encoded-word, so the word
  // beside it is encoded with it. Whitespace between two encoded-words is dropped by decoders
  // and whitespace beside plain text is kept as it is (RFC 2047 §6.2).
  for (let i = 0; i < words.length; i++) {
    if (words[i] !== '') continue
    if (i + 1 < words.length) plain[i + 1] = false
    else if (i > 0) plain[i - 1] = false
  }
  const pieces: string[] = []
  let i = 0
  while (i < words.length) {
    if (plain[i]) {
      pieces.push(words[i]!)
      i++
      continue
    }
    let end = i
    while (end + 1 < words.length && !plain[end + 1]) end++
    const run = words.slice(i, end + 1).join(' ')
    const maxLength = pieces.length === 0 ? options.firstWordLength : undefined
    pieces.push(...encodeWords(run, maxLength === undefined ? {} : { maxLength }))
    i = end + 1
  }
  return pieces
}

/**
 * Writes an unstructured header field (RFC 5322 §3.2.5) such as Subject or a custom header:
 * validated by {@link assertHeaderText}, then {@link textPieces}, then {@link foldHeader}.
 */
export function formatUnstructured(name: string, value: string, options: TextOptions): string {
  assertHeaderText(value, name)
  return foldHeader(name, textPieces(value, { ...options, firstWordLength: firstWordLength(name) }))
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** Formats `date` as an RFC 5322 §3.3 date-time in UTC, e.g. `Tue, 1 Jul 2003 10:52:37 +0000`. */
export function formatDate(date: Date): string {
  const time = [date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()].map((n) => String(n).padStart(2, '0')).join(':')
  return `${DAYS[date.getUTCDay()]}, ${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} ${time} +0000`
}

// RFC 5322 §3.6.4: msg-id = "<" id-left "@" id-right ">", id-left a dot-atom-text and id-right a
// dot-atom-text or a no-fold-literal.
const ATEXT = "[A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~]"
const DOT_ATOM_TEXT = `${ATEXT}+(?:\\.${ATEXT}+)*`
const MSG_ID = new RegExp(`^<?(${DOT_ATOM_TEXT}@(?:${DOT_ATOM_TEXT}|\\[[\\x21-\\x5a\\x5e-\\x7e]*\\]))>?$`)

/**
 * Parses one message identifier, with or without its angle brackets, into `<left@right>`
 * (RFC 5322 §3.6.4). Throws a TypeError naming `field` when it is not one, or is too long to fit
 * a header line (over 900 characters).
 */
export function parseMessageId(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new TypeError(`${field} must be a string, got ${describe(value)}`)
  const match = MSG_ID.exec(value.trim())
  if (!match || value.trim().startsWith('<') !== value.trim().endsWith('>') || match[1]!.length > MAX_PLAIN_WORD_OCTETS) {
    throw new TypeError(`${field} is not a valid message identifier (expected <left@right>): ${JSON.stringify(value)}`)
  }
  return `<${match[1]}>`
}

/**
 * Parses a list of message identifiers (References, In-Reply-To): an array of them, or a string
 * of identifiers separated by whitespace or commas.
 */
export function parseMessageIds(value: unknown, field: string): string[] {
  const items = Array.isArray(value) ? (value as unknown[]) : typeof value === 'string' ? value.split(/[\s,]+/).filter((id) => id !== '') : [value]
  if (items.length === 0) throw new TypeError(`${field} must name at least one message identifier`)
  return items.map((item) => parseMessageId(item, field))
}

/** Creates a unique message identifier `<random@domain>` (RFC 5322 §3.6.4) with 128 random bits. */
export function createMessageId(domain: string): string {
  return `<${randomBytes(16).toString('hex')}@${domain}>`
}
