import type { Reply } from './reply.ts'

/**
 * The service extensions a server announced in its EHLO reply (RFC 5321 §4.1.1.1), keyed by
 * upper-cased keyword, with each keyword's parameters as one string (`SIZE 35882577` gives
 * `SIZE` → `'35882577'`; `PIPELINING` → `''`).
 */
// What an Extensions made without entries holds until fromEhloReply gives it its own: never
// written, so shared.
const NO_ENTRIES: readonly (readonly [string, string])[] = []
const EMPTY: ReadonlyMap<string, string> = new Map()

export class Extensions {
  #map: ReadonlyMap<string, string>

  constructor(entries: Iterable<readonly [string, string]> = NO_ENTRIES) {
    this.#map = entries === NO_ENTRIES ? EMPTY : new Map(entries)
  }

  /**
   * Reads the extensions from an EHLO (or LHLO) reply: the first line is the greeting, each
   * further line one keyword and its parameters. The obsolete `AUTH=PLAIN LOGIN` form some
   * servers add beside `AUTH PLAIN LOGIN` is merged into `AUTH`. A keyword is letters, digits
   * and inner hyphens (RFC 5321 §4.1.1.1 ehlo-keyword); a line whose keyword is not is skipped.
   */
  static fromEhloReply(reply: Reply): Extensions {
    const map = new Map<string, string>()
    const { lines } = reply
    // Read once per connection: one pass over each line's characters, no regular expression.
    for (let i = 1; i < lines.length; i++) {
      const trimmed = lines[i]!.trim()
      if (trimmed === '') continue
      let end = 0
      let valid = true
      let lower = false
      for (; end < trimmed.length; end++) {
        const c = trimmed.charCodeAt(end)
        if (c === 0x20 || c === 0x3d) break
        if (c >= 0x61 && c <= 0x7a) lower = true
        else if (c > 0x7f) break
        else if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || (c === 0x2d && end > 0))) valid = false
      }
      // Outside ASCII, upper-casing may change the keyword's length or letters: the general way.
      if (end < trimmed.length && trimmed.charCodeAt(end) > 0x7f) {
        addKeyword(map, trimmed, trimmed.search(/[ =]/))
        continue
      }
      const keyword = lower ? trimmed.slice(0, end).toUpperCase() : end === trimmed.length ? trimmed : trimmed.slice(0, end)
      if (end < trimmed.length && trimmed.charCodeAt(end) === 0x3d && keyword !== 'AUTH') continue
      const params = end === trimmed.length ? '' : trimmed.slice(end + 1).trim()
      if (keyword === 'AUTH' && map.has('AUTH')) {
        map.set('AUTH', mergeWords(map.get('AUTH') ?? '', params))
        continue
      }
      if (valid && end > 0) map.set(keyword, params)
    }
    const extensions = new Extensions()
    extensions.#map = map
    return extensions
  }

  /** True when the server announced `keyword` (case-insensitive). */
  has(keyword: string): boolean {
    return this.#map.has(keyword.toUpperCase())
  }

  /** The parameters of `keyword`, or undefined when it was not announced. */
  get(keyword: string): string | undefined {
    return this.#map.get(keyword.toUpperCase())
  }

  /** The SIZE limit in octets (RFC 1870); undefined when absent, 0 when the server set none. */
  get maxSize(): number | undefined {
    const value = this.#map.get('SIZE')
    if (value === undefined) return undefined
    const n = Number.parseInt(value, 10)
    return Number.isSafeInteger(n) && n >= 0 ? n : 0
  }

  /** The SASL mechanisms offered with AUTH (RFC 4954), upper-cased. */
  get authMechanisms(): readonly string[] {
    const value = this.#map.get('AUTH')
    return value ? value.toUpperCase().split(/\s+/).filter(Boolean) : []
  }

  /** Each keyword with its parameters, in the order announced. */
  entries(): IterableIterator<[string, string]> {
    return this.#map.entries()
  }

  /** The keywords announced, in order. */
  keys(): IterableIterator<string> {
    return this.#map.keys()
  }
}

/** One EHLO line whose keyword is not plain ASCII, read as the fast path in fromEhloReply would if it could. */
function addKeyword(map: Map<string, string>, trimmed: string, space: number): void {
  const keyword = (space === -1 ? trimmed : trimmed.slice(0, space)).toUpperCase()
  const params = space === -1 ? '' : trimmed.slice(space + 1).trim()
  if (trimmed[space] === '=' && keyword !== 'AUTH') return
  if (keyword === 'AUTH' && map.has('AUTH')) {
    map.set('AUTH', mergeWords(map.get('AUTH') ?? '', params))
    return
  }
  if (/^[A-Z0-9][A-Z0-9-]*$/.test(keyword)) map.set(keyword, params)
}

function mergeWords(a: string, b: string): string {
  const words = new Set([...a.split(/\s+/), ...b.split(/\s+/)].filter(Boolean).map((w) => w.toUpperCase()))
  return [...words].join(' ')
}
