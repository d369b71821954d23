import { decodeCharset } from './charset.ts'
import { decodeWords } from './decode-words.ts'

/** A structured header value such as Content-Type or Content-Disposition, read tolerantly. */
export interface StructuredValue {
  /** What comes before the first `;`, lower-cased and trimmed (`text/plain`, `attachment`). */
  readonly value: string
  /** Parameters by lower-cased name, values decoded (RFC 2231 continuations and charsets, RFC 2047 words). */
  readonly parameters: ReadonlyMap<string, string>
}

interface Segment {
  readonly index: number
  readonly isExtended: boolean
  readonly text: string
}

/**
 * Parses `value; name=value; ...` (RFC 2045 §5.1) as real mail writes it: token or quoted-string
 * values, a missing closing quote, spaces around `=`, unquoted values with spaces. RFC 2231
 * parameters are joined and decoded: `name*=charset'lang'%XX`, continuations `name*0`, `name*1*`
 * in any order. An RFC 2231 value wins over a plain one of the same name. Values that hold
 * RFC 2047 encoded-words (forbidden by RFC 2047 §5, but common in `name=` and `filename=`) are
 * decoded too. `onDefect` hears of a parameter in a charset Node does not know (decoded by a fallback).
 */
export function parseStructuredValue(text: string, onDefect?: (text: string) => void): StructuredValue {
  const semicolon = indexOfUnquoted(text, 0)
  const value = (semicolon === -1 ? text : text.slice(0, semicolon)).trim().toLowerCase()
  const plain = new Map<string, string>()
  let extended: Map<string, Segment[]> | undefined
  let i = semicolon === -1 ? text.length : semicolon + 1
  while (i < text.length) {
    const equals = text.indexOf('=', i)
    const nextSemicolon = text.indexOf(';', i)
    if (equals === -1 || (nextSemicolon !== -1 && nextSemicolon < equals)) {
      i = nextSemicolon === -1 ? text.length : nextSemicolon + 1
      continue
    }
    const name = text.slice(i, equals).trim().toLowerCase()
    let j = equals + 1
    while (text[j] === ' ' || text[j] === '\t') j++
    let raw: string
    if (text[j] === '"') {
      ;[raw, j] = readQuoted(text, j)
      const next = text.indexOf(';', j)
      j = next === -1 ? text.length : next + 1
    } else {
      const next = text.indexOf(';', j)
      raw = (next === -1 ? text.slice(j) : text.slice(j, next)).trim()
      j = next === -1 ? text.length : next + 1
    }
    i = j
    if (name === '') continue
    const star = /^([^*]+)\*(?:(\d{1,3})(\*)?)?$/.exec(name)
    if (star) {
      const base = star[1]!
      extended ??= new Map()
      const segments = extended.get(base) ?? []
      segments.push({ index: star[2] === undefined ? 0 : Number(star[2]), isExtended: star[2] === undefined || star[3] === '*', text: raw })
      extended.set(base, segments)
    } else if (!plain.has(name)) {
      plain.set(name, raw)
    }
  }
  const fallback = (name: string) => onDefect && ((why: string) => onDefect(`parameter ${name}: ${why}`))
  // The plain values are the parameters as they are when none needs decoding.
  let parameters = plain
  for (const [name, raw] of plain) {
    if (!raw.includes('=?')) continue
    if (parameters === plain) parameters = new Map(plain)
    parameters.set(name, decodeWords(raw, fallback(name)))
  }
  if (extended !== undefined) {
    if (parameters === plain) parameters = new Map(plain)
    for (const [name, segments] of extended) parameters.set(name, joinSegments(segments, fallback(name)))
  }
  return { value, parameters }
}

function indexOfUnquoted(text: string, from: number): number {
  let quoted = false
  for (let i = from; i < text.length; i++) {
    const char = text[i]
    if (char === '\\' && quoted) i++
    else if (char === '"') quoted = !quoted
    else if (char === ';' && !quoted) return i
  }
  return -1
}

// A quoted-string with backslash escapes (RFC 5322 §3.2.4); a missing closing quote ends it at the end.
function readQuoted(text: string, start: number): [string, number] {
  // Most have no backslash in them: the text up to the closing quote.
  const close = text.indexOf('"', start + 1)
  const backslash = text.indexOf('\\', start + 1)
  if (close !== -1 && (backslash === -1 || backslash > close)) return [text.slice(start + 1, close), close + 1]
  let out = ''
  for (let i = start + 1; i < text.length; i++) {
    const char = text[i]!
    if (char === '\\' && i + 1 < text.length) out += text[++i]
    else if (char === '"') return [out, i + 1]
    else out += char
  }
  return [out, text.length]
}

// RFC 2231 §3-4: segments in index order; the first extended one names the charset; only
// extended segments are %-encoded. Bytes of all segments are decoded together, so a character
// split across segments comes out whole.
function joinSegments(segments: Segment[], onFallback: ((why: string) => void) | undefined): string {
  segments.sort((a, b) => a.index - b.index)
  let charset: string | undefined
  const bytes: Buffer[] = []
  for (const [position, segment] of segments.entries()) {
    let text = segment.text
    if (segment.isExtended && position === 0) {
      const match = /^([^']*)'[^']*'/.exec(text)
      if (match) {
        charset = match[1]
        text = text.slice(match[0].length)
      }
    }
    bytes.push(segment.isExtended ? percentDecode(text) : Buffer.from(text, 'utf8'))
  }
  const decoded = decodeCharset(Buffer.concat(bytes), charset)
  if (decoded.fallback !== undefined) onFallback?.(decoded.fallback)
  return decoded.text
}

function percentDecode(text: string): Buffer {
  const out: number[] = []
  const raw = Buffer.from(text, 'utf8')
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x25 && i + 2 < raw.length && /^[0-9a-fA-F]{2}$/.test(raw.toString('latin1', i + 1, i + 3))) {
      out.push(Number.parseInt(raw.toString('latin1', i + 1, i + 3), 16))
      i += 2
    } else {
      out.push(raw[i]!)
    }
  }
  return Buffer.from(out)
}
