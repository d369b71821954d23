import { decodeCharset } from './charset.ts'

// RFC 2047 §2 encoded-word: =?charset?encoding?text?=. Tolerant as readers must be: any case,
// RFC 2231 §5 language suffixes (charset*lang), and spaces inside the text, which broken
// encoders leave unencoded.
const ENCODED_WORD = /=\?([^?\s*]+)(?:\*[^?\s]*)?\?([BbQq])\?([^?]*?)\?=/g

/**
 * Decodes the RFC 2047 encoded-words in header text. Whitespace between two adjacent
 * encoded-words is dropped (RFC 2047 §6.2); adjacent words in one charset are joined as bytes
 * before decoding, so a character split across two words (common, though §5 forbids it) comes
 * out whole. Words that touch other text without a space are decoded too. Text that is not an
 * encoded-word is left as it is; an unknown charset falls back as `decodeCharset` says, and
 * `onFallback` is told what was done.
 */
export function decodeWords(text: string, onFallback?: (why: string) => void): string {
  if (!text.includes('=?')) return text
  let out = ''
  let last = 0
  // The run of adjacent words in one charset, decoded together once it ends.
  let runCharset = ''
  let run: Buffer | Buffer[] | undefined
  ENCODED_WORD.lastIndex = 0
  for (let match = ENCODED_WORD.exec(text); match !== null; match = ENCODED_WORD.exec(text)) {
    const start = match.index
    const charset = match[1]!.toLowerCase()
    if (run !== undefined && isWhitespace(text, last, start)) {
      if (charset !== runCharset) {
        out += decodeRun(run, runCharset, onFallback)
        run = undefined
      }
    } else {
      if (run !== undefined) out += decodeRun(run, runCharset, onFallback)
      run = undefined
      out += text.slice(last, start)
    }
    runCharset = charset
    const bytes = decodeWordText(match[2]!, match[3]!)
    run = run === undefined ? bytes : Array.isArray(run) ? (run.push(bytes), run) : [run, bytes]
    last = ENCODED_WORD.lastIndex
  }
  if (run !== undefined) out += decodeRun(run, runCharset, onFallback)
  return out + text.slice(last)
}

function decodeRun(run: Buffer | Buffer[], charset: string, onFallback: ((why: string) => void) | undefined): string {
  const decoded = decodeCharset(Array.isArray(run) ? Buffer.concat(run) : run, charset)
  if (decoded.fallback !== undefined) onFallback?.(decoded.fallback)
  return decoded.text
}

// Whether text[from, to) is only spaces, tabs and line breaks (what may stand between two words of a run).
function isWhitespace(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const code = text.charCodeAt(i)
    if (code !== 0x20 && code !== 0x09 && code !== 0x0d && code !== 0x0a) return false
  }
  return true
}

function decodeWordText(encoding: string, text: string): Buffer {
  if (encoding === 'B' || encoding === 'b') return Buffer.from(text, 'base64')
  // RFC 2047 §4.2: "_" is a space, "=XX" an octet; a stray "=" stays as it is.
  const bytes = Buffer.allocUnsafe(text.length)
  let length = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code === 0x5f) {
      bytes[length++] = 0x20
    } else if (code === 0x3d && i + 2 < text.length && isHex(text.charCodeAt(i + 1)) && isHex(text.charCodeAt(i + 2))) {
      bytes[length++] = Number.parseInt(text.slice(i + 1, i + 3), 16)
      i += 2
    } else if (code < 0x80) {
      bytes[length++] = code
    } else {
      // Raw non-ASCII inside a word: keep it as UTF-8.
      const char = String.fromCodePoint(text.codePointAt(i)!)
      return Buffer.concat([bytes.subarray(0, length), Buffer.from(char, 'utf8'), decodeWordText(encoding, text.slice(i + char.length))])
    }
  }
  return bytes.subarray(0, length)
}

function isHex(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66)
}
