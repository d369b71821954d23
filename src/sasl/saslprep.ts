const PRINTABLE_ASCII = /^[\x20-\x7e]*$/

// RFC 4013 §2.1 mapping, RFC 3454 tables C.1.2 (to SPACE) and B.1 (to nothing). U+200B is in
// both tables; it is removed, as an invisible character should be (pymongo does the same).
// eslint-disable-next-line no-misleading-character-class -- a class of single code points; combining marks are meant
const MAPPED_TO_NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200B-\u200D\u2060\uFE00-\uFE0F\uFEFF]/gu
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]/gu

// RFC 4013 §2.3: RFC 3454 tables C.1.2, C.2.1, C.2.2, C.3, C.4, C.5 (lone surrogates), C.6, C.7,
// C.8 and C.9, merged into ranges. The plane 1-14 non-characters (nFFFE-nFFFF) are added below.
const PROHIBITED_BMP =
  '\\u0000-\\u001F\\u007F-\\u00A0\\u0340\\u0341\\u06DD\\u070F\\u1680\\u180E\\u2000-\\u200F\\u2028-\\u202F' +
  '\\u205F-\\u2063\\u206A-\\u206F\\u2FF0-\\u2FFB\\u3000\\uD800-\\uDFFF\\uE000-\\uF8FF\\uFDD0-\\uFDEF\\uFEFF\\uFFF9-\\uFFFF'
const PROHIBITED_ASTRAL =
  '\\u{1D173}-\\u{1D17A}\\u{E0001}\\u{E0020}-\\u{E007F}\\u{F0000}-\\u{10FFFF}' +
  Array.from({ length: 14 }, (_, i) => `\\u{${(i + 1).toString(16)}FFFE}\\u{${(i + 1).toString(16)}FFFF}`).join('')
const PROHIBITED = new RegExp(`[${PROHIBITED_BMP}${PROHIBITED_ASTRAL}]`, 'u')

// RFC 3454 table D.1: characters with bidirectional property R or AL (Unicode 3.2).
const RAND_AL_CAT =
  /[\u05BE\u05C0\u05C3\u05D0-\u05EA\u05F0-\u05F4\u061B\u061F\u0621-\u063A\u0640-\u064A\u066D-\u066F\u0671-\u06D5\u06DD\u06E5\u06E6\u06FA-\u06FE\u0700-\u070D\u0710\u0712-\u072C\u0780-\u07A5\u07B1\u200F\uFB1D\uFB1F-\uFB28\uFB2A-\uFB36\uFB38-\uFB3C\uFB3E\uFB40\uFB41\uFB43\uFB44\uFB46-\uFBB1\uFBD3-\uFD3D\uFD50-\uFD8F\uFD92-\uFDC7\uFDF0-\uFDFC\uFE70-\uFE74\uFE76-\uFEFC]/u
// RFC 3454 table D.2 (bidirectional property L) has some 360 ranges; letters and spacing marks
// outside the right-to-left scripts stand in for it, which agrees on every real-world name.
const L_CAT =
  /(?![\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}])[\p{L}\p{Mc}]/u

/**
 * Prepares a username or password with SASLprep (RFC 4013), treating it as a query (unassigned code
 * points allowed), as SCRAM asks (RFC 5802 §2.2, §5.1): non-ASCII spaces become SPACE, invisible
 * "mapped to nothing" characters are removed, the result is NFKC-normalised, and prohibited
 * characters (controls, private use, non-characters, lone surrogates, ...) and illegal mixes of
 * left-to-right and right-to-left text throw a TypeError naming the offending code point (never
 * the string, which may be a password). Printable ASCII is returned unchanged.
 *
 * The bidirectional rule of RFC 3454 §6 uses table D.1 exactly and approximates table D.2 by
 * Unicode letters outside the right-to-left scripts.
 */
export function saslPrep(text: string, what = 'string'): string {
  if (PRINTABLE_ASCII.test(text)) return text
  const prepared = text.replace(MAPPED_TO_NOTHING, '').replace(NON_ASCII_SPACE, ' ').normalize('NFKC')
  const prohibited = PROHIBITED.exec(prepared)
  if (prohibited !== null) {
    throw new TypeError(`${what} contains ${codePoint(prohibited[0])}, which SASLprep prohibits (RFC 4013 §2.3)`)
  }
  if (RAND_AL_CAT.test(prepared)) {
    const chars = [...prepared]
    const first = chars[0] ?? ''
    const last = chars.at(-1) ?? ''
    // RFC 3454 §6: no LCat at all, and a RandALCat character first and last.
    if (L_CAT.test(prepared) || !RAND_AL_CAT.test(first) || !RAND_AL_CAT.test(last)) {
      throw new TypeError(`${what} mixes left-to-right and right-to-left text in a way SASLprep prohibits (RFC 3454 §6)`)
    }
  }
  return prepared
}

function codePoint(char: string): string {
  return `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`
}
