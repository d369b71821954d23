import { TextDecoder } from 'node:util'

// Text in any charset Node's TextDecoder knows (WHATWG Encoding Standard labels, full ICU):
// ISO-2022-JP, Shift_JIS, GB18030, Big5, EUC-KR, KOI8-R, windows-125x, ... with no iconv.

// Names mail software writes that the Encoding Standard does not list under that label.
const ALIASES: Readonly<Record<string, string>> = {
  cp932: 'shift_jis',
  'ms-932': 'shift_jis',
  cp936: 'gbk',
  'ms-936': 'gbk',
  cp949: 'euc-kr',
  'ms-949': 'euc-kr',
  cp950: 'big5',
  'ms-950': 'big5',
  'x-sjis': 'shift_jis',
  'iso-8859-8-e': 'iso-8859-8',
  'x-mac-roman': 'macintosh',
  utf8mb4: 'utf-8',
}

type Decode = (bytes: Uint8Array) => string

// Node's TextDecoder (up to 22 at least) reads windows-1252, and the labels the Encoding Standard
// maps to it (iso-8859-1, latin1, us-ascii, ...), as ISO-8859-1: bytes 0x80-0x9F come out as C1
// controls instead of €, curly quotes, dashes (nodejs/node#56542). Those 32 bytes are mapped
// here, as the Encoding Standard's index-windows-1252 does.
const WINDOWS_1252_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ'

function decodeWindows1252(bytes: Uint8Array): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
  return /[\x80-\x9f]/.test(text) ? text.replace(/[\x80-\x9f]/g, (char) => WINDOWS_1252_HIGH[char.charCodeAt(0) - 0x80]!) : text
}

const decoders = new Map<string, Decode | null>()

/** A one-shot decoder for `charset`, or null when Node does not know it. Cached per label. */
function decoderFor(charset: string): Decode | null {
  let decode = decoders.get(charset)
  if (decode === undefined) {
    const label = ALIASES[charset] ?? charset
    try {
      const decoder = new TextDecoder(label)
      decode = decoder.encoding === 'windows-1252' ? decodeWindows1252 : (bytes) => decoder.decode(bytes)
    } catch {
      decode = null
    }
    if (decoders.size < 256) decoders.set(charset, decode)
  }
  return decode
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true })

// UTF-8 as TextDecoder reads it (a leading byte order mark dropped, each bad sequence one U+FFFD,
// the same replacements), through Buffer's decoder, which costs less per call.
function decodeUtf8(bytes: Uint8Array): string {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return buffer.length >= 3 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf ? buffer.toString('utf8', 3) : buffer.toString('utf8')
}

/** Decoded text, and when the charset was unknown, what was done instead. */
export interface DecodedText {
  readonly text: string
  /** Set when `charset` is not one Node knows: says which charset was used in its place. */
  readonly fallback?: string
}

/**
 * Decodes `bytes` in `charset` (a MIME charset name, any case; '' or undefined means US-ASCII,
 * read as UTF-8 since 8-bit bytes in unlabelled text are UTF-8 far more often than not). An
 * unknown charset does not throw: the bytes are read as UTF-8 when they are valid UTF-8, else
 * as windows-1252, and `fallback` says so.
 */
export function decodeCharset(bytes: Uint8Array, charset: string | undefined): DecodedText {
  const name = (charset ?? '').trim().toLowerCase()
  // us-ascii text with 8-bit bytes is mislabelled; UTF-8 is the likely truth (RFC 6532 §3.1).
  if (name === '' || name === 'us-ascii' || name === 'ascii' || name === 'utf-8' || name === 'utf8') return { text: decodeUtf8(bytes) }
  const decode = decoderFor(name)
  if (decode !== null) return { text: decode(bytes) }
  try {
    return { text: utf8Strict.decode(bytes), fallback: `unknown charset ${JSON.stringify(name)}, read as UTF-8` }
  } catch {
    return { text: decodeWindows1252(bytes), fallback: `unknown charset ${JSON.stringify(name)}, read as windows-1252` }
  }
}

/** Decodes header bytes: UTF-8 when valid (RFC 6532), else windows-1252, as readers do with raw 8-bit headers. */
export function decodeHeaderBytes(bytes: Uint8Array): string {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) {
      try {
        return utf8Strict.decode(bytes)
      } catch {
        return decodeWindows1252(bytes)
      }
    }
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
}
