import { encodeWords } from './encoding/encoded-word.ts'
import { assertHeaderText } from './headers.ts'

// RFC 2045 §5.1: token := 1*<any (US-ASCII) CHAR except SPACE, CTLs, or tspecials>.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const QUOTABLE = /^[\x20-\x7e]*$/
// Parameter values longer than this are split into RFC 2231 continuations so lines stay short.
const MAX_SEGMENT = 60
const HEX = '0123456789ABCDEF'
const MAX_NAME = 127
// RFC 2231 §7: attribute-char, what an extended value may hold without %-encoding.
const ATTR_CHAR = /^[A-Za-z0-9!#$&+\-.^_`|~]$/

/** How a parameter value that is not plain ASCII is written. */
export type ParameterEncoding = 'rfc2231' | 'rfc2047'

/**
 * Writes the parameter `key=value` of a Content-Type or Content-Disposition field as pieces for
 * foldHeader (several pieces of one parameter come already separated as needed). A short token
 * or printable-ASCII value is written as a token or quoted-string. Anything else is written, with `'rfc2231'`, as an RFC 2231 extended value in UTF-8
 * (`key*=utf-8''%C3%A9...`), split into numbered continuations (`key*0*=`, `key*1*=`) when long,
 * never inside a character; with `'rfc2047'`, as RFC 2047 encoded-words inside a quoted-string,
 * the non-standard form older clients read from `name=` (RFC 2047 §5 forbids it, so it is only
 * ever a fallback next to an RFC 2231 `filename*`).
 */
export function parameterPieces(key: string, value: string, encoding: ParameterEncoding): string[] {
  // Parsers decode encoded-words even inside quoted parameter values, and some trim or collapse
  // the spaces in them, so such values are encoded to arrive as written.
  const plain = value.length <= MAX_SEGMENT && !value.includes('=?') && !/^ | $| {2}/.test(value)
  if (plain && TOKEN.test(value)) return [`${key}=${value}`]
  if (plain && QUOTABLE.test(value)) return [`${key}=${quote(value)}`]
  if (encoding === 'rfc2047') {
    const words = encodeWords(value)
    words[0] = `${key}="${words[0]}`
    words[words.length - 1] += '"'
    return words
  }
  const segments: string[] = []
  let current = ''
  for (const char of value) {
    const encoded = percentEncode(char)
    if (current !== '' && current.length + encoded.length > MAX_SEGMENT) {
      segments.push(current)
      current = ''
    }
    current += encoded
  }
  segments.push(current)
  if (segments.length === 1) return [`${key}*=utf-8''${segments[0]}`]
  // Continuations are separate parameters, so each but the last ends with ';'.
  return segments.map((segment, index) => `${key}*${index}*=${index === 0 ? "utf-8''" : ''}${segment}${index < segments.length - 1 ? ';' : ''}`)
}

function percentEncode(char: string): string {
  if (ATTR_CHAR.test(char)) return char
  let out = ''
  for (const byte of Buffer.from(char, 'utf8')) out += `%${HEX[byte >> 4]}${HEX[byte & 15]}`
  return out
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`
}

/**
 * Joins a header value's leading piece (such as `attachment` or `image/png`) with parameters,
 * putting the `;` separators where RFC 2045 §5.1 wants them.
 */
export function joinParameters(head: string, parameters: readonly (readonly string[])[]): string[] {
  const pieces = [head]
  for (const parameter of parameters) {
    pieces.push(`${pieces.pop()!};`, ...parameter)
  }
  return pieces
}

/** A media type with its parameters, as {@link parseMediaType} returns it. */
export interface MediaType {
  /** `type/subtype`, lower-case. */
  readonly type: string
  /** Parameters in order, names lower-case, values as given. */
  readonly parameters: ReadonlyArray<readonly [name: string, value: string]>
}

/**
 * Parses a media type as callers give it, `type/subtype` with optional `; name=value`
 * parameters (token or quoted-string values, RFC 2045 §5.1). Throws a TypeError naming `field`
 * when the text is not one.
 */
export function parseMediaType(text: unknown, field: string): MediaType {
  assertHeaderText(text, field)
  const fail = (why: string): never => {
    throw new TypeError(`${field} is not a valid media type (${why}): ${JSON.stringify(text)}`)
  }
  const semicolon = text.indexOf(';')
  const head = (semicolon === -1 ? text : text.slice(0, semicolon)).trim()
  const [type, subtype, extra] = head.split('/')
  // RFC 6838 §4.2: type and subtype names are at most 127 characters; we hold parameter names to
  // the same, which keeps every header line short.
  if (type === undefined || subtype === undefined || extra !== undefined || !TOKEN.test(type) || !TOKEN.test(subtype) || head.length > MAX_NAME * 2 + 1) fail('expected type/subtype')
  const parameters: Array<readonly [string, string]> = []
  let rest = semicolon === -1 ? '' : text.slice(semicolon + 1)
  const PARAMETER = /^\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*=\s*(?:([!#$%&'*+\-.^_`|~0-9A-Za-z]+)|"((?:[^"\\]|\\.)*)")\s*(?:;|$)/
  while (rest.trim() !== '') {
    const match = PARAMETER.exec(rest)
    if (!match || match[1]!.length > MAX_NAME) return fail(`bad parameter near ${JSON.stringify(rest.trim())}`)
    const value = match[2] ?? match[3]!.replace(/\\(.)/g, '$1')
    parameters.push([match[1]!.toLowerCase(), value])
    rest = rest.slice(match[0].length)
  }
  return { type: head.toLowerCase(), parameters }
}
