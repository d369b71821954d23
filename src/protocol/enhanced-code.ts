/**
 * Enhanced mail system status codes (RFC 3463), as used in replies when the server offers
 * ENHANCEDSTATUSCODES (RFC 2034): `class.subject.detail`, class 2, 4 or 5.
 */
export type EnhancedCode = `${2 | 4 | 5}.${number}.${number}`

// RFC 3463 §2: subject is 0-999 and detail 0-999, written without leading zeros beyond one digit.
const ENHANCED_CODE = /^([245])\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/

/** True when `text` is a well-formed enhanced status code such as `5.1.1`. */
export function isEnhancedCode(text: string): text is EnhancedCode {
  return ENHANCED_CODE.test(text)
}

/**
 * Splits a leading enhanced status code off the text of a reply line, for a reply whose
 * basic code is `code`. RFC 2034 §4 requires the code's class to match the reply's class;
 * a mismatching or malformed token is left as ordinary text.
 */
export function splitEnhancedCode(code: number, text: string): { enhancedCode: EnhancedCode | undefined; text: string } {
  // Most lines (every EHLO keyword line) have no code: `X.` must open one.
  if (text.charCodeAt(1) !== 0x2e) return { enhancedCode: undefined, text }
  const space = text.indexOf(' ')
  const token = space === -1 ? text : text.slice(0, space)
  if (isEnhancedCode(token) && token.charCodeAt(0) - 48 === Math.floor(code / 100)) {
    return { enhancedCode: token, text: space === -1 ? '' : text.slice(space + 1) }
  }
  return { enhancedCode: undefined, text }
}

/**
 * The enhanced status code a server uses for a reply code when the caller names none. These
 * are the generic codes RFC 3463 gives for each situation; callers pass a more specific one
 * where they know more (`5.1.1` for an unknown mailbox, for example).
 */
export function defaultEnhancedCode(code: number): EnhancedCode | undefined {
  switch (code) {
    case 211:
    case 214:
    case 220:
    case 221:
    case 250:
    case 251:
    case 252:
      return '2.0.0'
    case 235:
      return '2.7.0'
    case 421:
      return '4.3.0'
    case 450:
      return '4.2.0'
    case 451:
      return '4.3.0'
    case 452:
      return '4.3.1'
    case 454:
      return '4.7.0'
    case 455:
      return '4.5.4'
    case 500:
      return '5.5.2'
    case 501:
    case 504:
      return '5.5.4'
    case 502:
    case 503:
      return '5.5.1'
    case 530:
      return '5.7.0'
    case 534:
      return '5.7.9'
    case 535:
      return '5.7.8'
    case 538:
      return '5.7.11'
    // 550 and 553 come for senders, recipients and content alike: 5.1.1 ("no such mailbox")
    // would tell a bounce processor the address is dead when the reason may be spam.
    case 550:
      return '5.0.0'
    case 551:
      return '5.1.6'
    case 552:
      return '5.3.4'
    case 553:
      return '5.1.0'
    case 554:
      return '5.0.0'
    case 555:
      return '5.5.4'
    default:
      if (code >= 200 && code < 600 && code % 100 < 60) {
        const cls = Math.floor(code / 100)
        if (cls === 2 || cls === 4 || cls === 5) return `${cls}.0.0`
      }
      return undefined
  }
}
