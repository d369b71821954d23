/** One tag of a tag list: its value with surrounding FWS removed, and where that value sits. */
export interface Tag {
  readonly value: string
  /** Offset in the parsed text just after the `=`, where the value and the FWS around it begin. */
  readonly start: number
  /** Offset of the `;` after the value, or the end of the text. */
  readonly end: number
}

/** A tag list that does not follow RFC 6376 §3.2; the message says where and why. */
export class TagListError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TagListError'
  }
}

function isFws(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0d || code === 0x0a
}

function isAlpha(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a)
}

function isAlnumPunc(code: number): boolean {
  return isAlpha(code) || (code >= 0x30 && code <= 0x39) || code === 0x5f
}

// VALCHAR = %x21-3A / %x3C-7E: visible ASCII other than ";" (RFC 6376 §3.2).
function isValChar(code: number): boolean {
  return code >= 0x21 && code <= 0x7e && code !== 0x3b
}

/**
 * Parses a DKIM tag list (RFC 6376 §3.2): `tag=value` pairs separated by `;`, with FWS allowed
 * around names, `=` and values, and an optional final `;`. Strict: a tag name must be ALPHA then
 * ALPHA/DIGIT/`_`, a value only VALCHARs and FWS, and a name may not occur twice (the whole list
 * is then invalid). Tag names are case-sensitive. `text` is the list as latin1, one char a byte,
 * so offsets match the bytes it came from. Throws TagListError.
 */
export function parseTagList(text: string): Map<string, Tag> {
  const tags = new Map<string, Tag>()
  const length = text.length
  let pos = 0
  const skipFws = (): void => {
    while (pos < length && isFws(text.charCodeAt(pos))) pos++
  }
  for (;;) {
    skipFws()
    if (pos === length) break
    const nameStart = pos
    if (!isAlpha(text.charCodeAt(pos))) throw new TagListError(`tag name expected at offset ${pos}`)
    while (pos < length && isAlnumPunc(text.charCodeAt(pos))) pos++
    const name = text.slice(nameStart, pos)
    skipFws()
    if (text.charCodeAt(pos) !== 0x3d) throw new TagListError(`"=" expected after tag "${name}"`)
    pos++
    const start = pos
    skipFws()
    const valueStart = pos
    let valueEnd = pos
    while (pos < length) {
      const code = text.charCodeAt(pos)
      if (code === 0x3b) break
      if (isValChar(code)) valueEnd = pos + 1
      else if (!isFws(code)) throw new TagListError(`invalid character 0x${code.toString(16).padStart(2, '0')} in the value of tag "${name}"`)
      pos++
    }
    if (tags.has(name)) throw new TagListError(`tag "${name}" occurs more than once`)
    tags.set(name, { value: text.slice(valueStart, valueEnd), start, end: pos })
    if (pos === length) break
    pos++
  }
  return tags
}

/** Removes all FWS from a tag value, as base64 values (`b=`, `bh=`, `p=`) need. */
export function stripFws(value: string): string {
  return value.replace(/[ \t\r\n]+/g, '')
}

/** True when `value` (FWS removed) is strict base64: the alphabet, then at most two `=`. */
export function isBase64(value: string): boolean {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(value) && value.length % 4 === 0
}

/** Splits a colon-separated tag value (`h=`, `q=`, key `s=`) into trimmed parts. */
export function splitColonList(value: string): string[] {
  return value.split(':').map((part) => part.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, ''))
}
