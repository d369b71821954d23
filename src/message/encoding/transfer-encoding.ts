import { isAscii } from 'node:buffer'
/** A Content-Transfer-Encoding (RFC 2045 §6.1) that smtpkit writes. */
export type TransferEncoding = '7bit' | '8bit' | 'quoted-printable' | 'base64'

const CR = 0x0d
const LF = 0x0a
// RFC 5322 §2.1.1 and RFC 2045 §2.7: at most 998 octets per line, excluding the CRLF.
const MAX_LINE_OCTETS = 998

/** What {@link profileBytes} learned about some content, enough to choose an encoding. */
export interface ByteProfile {
  /** Bytes with the high bit set. */
  readonly nonAscii: number
  /** Bytes quoted-printable must escape (anything but printable ASCII, space, tab, CR and LF). */
  readonly escapes: number
  /** Whether there is a NUL byte, which neither 7bit nor 8bit may carry (RFC 2045 §2.7). */
  readonly hasNul: boolean
  /** Whether a CR or LF occurs other than as a CRLF pair. */
  readonly hasBareLineBreak: boolean
  /** The longest line in octets, not counting its line break. */
  readonly longestLine: number
}

/** Scans `bytes` once and reports what decides their transfer encoding. */
export function profileBytes(bytes: Uint8Array): ByteProfile {
  let nonAscii = 0
  let escapes = 0
  let hasNul = false
  let hasBareLineBreak = false
  let longestLine = 0
  let lineStart = 0
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!
    if (byte >= 0x7f || (byte < 0x20 && byte !== 0x09 && byte !== CR && byte !== LF) || byte === 0x3d) {
      escapes++
      if (byte >= 0x80) nonAscii++
      else if (byte === 0) hasNul = true
    } else if (byte === CR) {
      if (bytes[i + 1] === LF) {
        longestLine = Math.max(longestLine, i - lineStart)
        lineStart = i + 2
        i++
      } else {
        hasBareLineBreak = true
      }
    } else if (byte === LF) {
      hasBareLineBreak = true
    }
  }
  longestLine = Math.max(longestLine, bytes.length - lineStart)
  return { nonAscii, escapes, hasNul, hasBareLineBreak, longestLine }
}

function isLineSafe(profile: ByteProfile): boolean {
  return !profile.hasNul && !profile.hasBareLineBreak && profile.longestLine <= MAX_LINE_OCTETS
}

// Quoted-printable costs about n + 2·escapes characters and base64 about 4n/3, so
// quoted-printable is the shorter (and the more readable) while at most a sixth needs escaping.
function isMostlyAscii(profile: ByteProfile, length: number): boolean {
  return profile.escapes * 6 <= length
}

/**
 * Chooses the transfer encoding of a text body whose line breaks are already CRLF: `7bit` when it
 * is ASCII with lines of at most 998 octets and no NUL; `8bit` for the same with non-ASCII bytes
 * when `allow8bit` (the transport offers 8BITMIME, RFC 6152); otherwise quoted-printable for
 * mostly-ASCII text and base64 for the rest.
 */
export function chooseTextEncoding(bytes: Uint8Array, options: { allow8bit: boolean }): TransferEncoding {
  const profile = profileBytes(bytes)
  if (isLineSafe(profile) && profile.nonAscii === 0) return '7bit'
  if (isLineSafe(profile) && options.allow8bit) return '8bit'
  return isMostlyAscii(profile, bytes.length) ? 'quoted-printable' : 'base64'
}

/**
 * Chooses the transfer encoding of attachment bytes so that decoding gives back exactly those
 * bytes: `7bit` when they already are valid 7bit data (ASCII, CRLF line breaks only, lines of at
 * most 998 octets, no NUL); quoted-printable for mostly-ASCII `text/*` content whose line breaks
 * are all CRLF (so the text-mode encoder, which normalises line breaks, changes nothing);
 * base64 otherwise, and for empty content.
 */
export function chooseAttachmentEncoding(bytes: Uint8Array, options: { isText: boolean }): TransferEncoding {
  // An empty 7bit body sits between two CRLFs, which some parsers (mailparser) read as one line
  // break; an empty base64 body decodes to nothing everywhere.
  if (bytes.length === 0) return 'base64'
  // Binary content (most attachments) can only be base64: a native check spares the byte-by-byte
  // profile, which took 0.2 s for 25 MiB.
  if (!options.isText && !isAscii(bytes)) return 'base64'
  const profile = profileBytes(bytes)
  if (isLineSafe(profile) && profile.nonAscii === 0) return '7bit'
  if (options.isText && !profile.hasBareLineBreak && !profile.hasNul && isMostlyAscii(profile, bytes.length)) return 'quoted-printable'
  return 'base64'
}

/**
 * Checks that `bytes` may be sent as-is with the transfer encoding `encoding` (`7bit` or `8bit`,
 * RFC 2045 §2.7-2.8), returning why not, or undefined when they may.
 */
export function explainUnencodable(bytes: Uint8Array, encoding: '7bit' | '8bit'): string | undefined {
  const profile = profileBytes(bytes)
  if (profile.hasNul) return 'it contains a NUL byte'
  if (profile.hasBareLineBreak) return 'it contains a CR or LF that is not part of a CRLF pair'
  if (profile.longestLine > MAX_LINE_OCTETS) return `it has a line of ${profile.longestLine} octets (the limit is ${MAX_LINE_OCTETS})`
  if (encoding === '7bit' && profile.nonAscii > 0) return 'it contains non-ASCII bytes'
  return undefined
}
