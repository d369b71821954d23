import { decodeHeaderBytes } from './charset.ts'
import { decodeWords } from './decode-words.ts'

/** One header field as it arrived. */
export interface HeaderField {
  /** The name as written (`Subject`, `X-Mailer`). */
  readonly name: string
  /** The value unfolded (RFC 5322 §2.2.3), trimmed, with RFC 2047 encoded-words decoded. */
  readonly value: string
  /** The whole field as written, folded, without the final line break (bytes read as UTF-8, else windows-1252). */
  readonly raw: string
}

/**
 * The header fields of a message or MIME part, in order, repeated fields kept. Names are looked
 * up case-insensitively; `get` gives the decoded value of the first field of a name, `getAll`
 * every one of them, and iterating gives each field with its raw text.
 */
export class ParsedHeaders implements Iterable<HeaderField> {
  readonly #fields: readonly HeaderField[]
  #byName: Map<string, HeaderField[]> | undefined

  constructor(fields: readonly HeaderField[]) {
    this.#fields = fields
  }

  /** How many fields there are. */
  get size(): number {
    return this.#fields.length
  }

  /** Whether a field of this name is present. */
  has(name: string): boolean {
    return this.#index().has(name.toLowerCase())
  }

  /** The decoded value of the first field named `name`, or undefined. */
  get(name: string): string | undefined {
    return this.#index().get(name.toLowerCase())?.[0]?.value
  }

  /** The decoded values of every field named `name`, top to bottom. */
  getAll(name: string): string[] {
    return (this.#index().get(name.toLowerCase()) ?? []).map((field) => field.value)
  }

  /** The fields named `name` with their raw text, top to bottom. */
  getFields(name: string): readonly HeaderField[] {
    return this.#index().get(name.toLowerCase()) ?? []
  }

  [Symbol.iterator](): Iterator<HeaderField> {
    return this.#fields[Symbol.iterator]()
  }

  #index(): Map<string, HeaderField[]> {
    if (this.#byName === undefined) {
      this.#byName = new Map()
      for (const field of this.#fields) {
        const key = field.name.toLowerCase()
        const list = this.#byName.get(key)
        if (list) list.push(field)
        else this.#byName.set(key, [field])
      }
    }
    return this.#byName
  }
}

const CR = 0x0d
const LF = 0x0a

/**
 * Splits a header block (every line with its line break, CRLF, LF or CR) into fields. A line
 * that starts with a space or tab continues the field before it; a continuation before any field
 * is dropped. The raw text keeps the folding, with each line break written as CRLF. `onDefect`
 * hears of encoded-words in a charset Node does not know (decoded by a fallback).
 */
export function parseHeaderBlock(block: Uint8Array, onDefect?: (text: string) => void): ParsedHeaders {
  const fields: HeaderField[] = []
  let lines: string[] = []
  const flush = (): void => {
    if (lines.length === 0) return
    const raw = lines.join('\r\n')
    lines = []
    const colon = raw.indexOf(':')
    if (colon <= 0) return
    const name = raw.slice(0, colon).trimEnd()
    const unfolded = raw.slice(colon + 1).replace(/\r\n/g, '').trim()
    fields.push({ name, value: decodeWords(unfolded, onDefect && ((why) => onDefect(`${name}: ${why}`))), raw })
  }
  let start = 0
  const length = block.length
  while (start < length) {
    let end = start
    while (end < length && block[end] !== CR && block[end] !== LF) end++
    const line = decodeHeaderBytes(block.subarray(start, end))
    const first = block[start]
    if (first === 0x20 || first === 0x09) {
      if (lines.length > 0) lines.push(line)
    } else {
      flush()
      lines.push(line)
    }
    start = end + (block[end] === CR && block[end + 1] === LF ? 2 : 1)
  }
  flush()
  return new ParsedHeaders(fields)
}
