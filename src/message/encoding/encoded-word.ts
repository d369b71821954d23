// RFC 2047 §2: an encoded-word is at most 75 characters, '=?UTF-8?X?' + text + '?='.
const MAX_WORD_CHARS = 75
const WORD_OVERHEAD = '=?UTF-8?Q??='.length
// Room for the longest Q-encoded code point (4 bytes, '=XX' each), so every word holds one.
const MIN_WORD_CHARS = WORD_OVERHEAD + 12

// RFC 2047 §5 rule 3: in a phrase (display names) the Q encoding may leave only letters, digits
// and "!*+-/" as themselves; we use that set everywhere so one encoder serves every context.
const Q_LITERAL = new Uint8Array(128)
for (const char of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/') Q_LITERAL[char.charCodeAt(0)] = 1
const HEX = '0123456789ABCDEF'

/**
 * Encodes `text` as RFC 2047 encoded-words in UTF-8, returning the words in order; the caller
 * joins them with folding whitespace, which decoders drop between adjacent encoded-words
 * (RFC 2047 §6.2), so whitespace inside `text` is encoded in the words themselves.
 *
 * Uses the Q or the B encoding, whichever gives the shorter result for the whole text. Each word
 * is at most `maxLength` characters (default and upper bound 75, RFC 2047 §2; at least 24) and
 * holds whole code points only, so no UTF-8 sequence is split across words (RFC 2047 §5).
 * The Q alphabet is the restricted one of RFC 2047 §5 rule 3, so the words are valid in
 * display names as well as in unstructured text. Empty text gives no words.
 */
export function encodeWords(text: string, options: { maxLength?: number } = {}): string[] {
  if (text === '') return []
  const maxLength = Math.max(MIN_WORD_CHARS, Math.min(MAX_WORD_CHARS, options.maxLength ?? MAX_WORD_CHARS))
  const room = maxLength - WORD_OVERHEAD
  const points = Array.from(text, (char) => Buffer.from(char, 'utf8'))
  const quoted = points.map(quoteBytes)
  const byteCount = points.reduce((sum, bytes) => sum + bytes.length, 0)
  const quotedCount = quoted.reduce((sum, chars) => sum + chars.length, 0)
  return quotedCount <= Math.ceil(byteCount / 3) * 4 ? packQ(quoted, room) : packB(points, room)
}

function quoteBytes(bytes: Buffer): string {
  let out = ''
  for (const byte of bytes) {
    if (byte === 0x20) out += '_'
    else if (byte < 128 && Q_LITERAL[byte] === 1) out += String.fromCharCode(byte)
    else out += `=${HEX[byte >> 4]}${HEX[byte & 15]}`
  }
  return out
}

function packQ(quoted: readonly string[], room: number): string[] {
  const words: string[] = []
  let current = ''
  for (const chars of quoted) {
    if (current !== '' && current.length + chars.length > room) {
      words.push(`=?UTF-8?Q?${current}?=`)
      current = ''
    }
    current += chars
  }
  if (current !== '') words.push(`=?UTF-8?Q?${current}?=`)
  return words
}

function packB(points: readonly Buffer[], room: number): string[] {
  const maxBytes = Math.floor(room / 4) * 3
  const words: string[] = []
  let current: Buffer[] = []
  let size = 0
  for (const bytes of points) {
    if (size > 0 && size + bytes.length > maxBytes) {
      words.push(`=?UTF-8?B?${Buffer.concat(current, size).toString('base64')}?=`)
      current = []
      size = 0
    }
    current.push(bytes)
    size += bytes.length
  }
  if (size > 0) words.push(`=?UTF-8?B?${Buffer.concat(current, size).toString('base64')}?=`)
  return words
}
