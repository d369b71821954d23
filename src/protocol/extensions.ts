import type { Reply } from './reply.ts'

/**
 * The service extensions a server announced in its EHLO reply (RFC 5321 §4.1.1.1), keyed by
 * upper-cased keyword, with each keyword's parameters as one string (`SIZE 35882577` gives
 * `SIZE` → `'35882577'`; `PIPELINING` → `''`).
 */
export class Extensions {
  readonly #map: ReadonlyMap<string, string>

  constructor(entries: Iterable<readonly [string, string]> = []) {
    this.#map = new Map(entries)
  }

  /**
   * Reads the extensions from an EHLO (or LHLO) reply: the first line is the greeting, each
   * further line one keyword and its parameters. The obsolete `AUTH=PLAIN LOGIN` form some
   * servers add beside `AUTH PLAIN LOGIN` is merged into `AUTH`.
   */
  static fromEhloReply(reply: Reply): Extensions {
    const map = new Map<string, string>()
    for (const line of reply.lines.slice(1)) {
      const trimmed = line.trim()
      if (!trimmed) continue
      const space = trimmed.search(/[ =]/)
      const keyword = (space === -1 ? trimmed : trimmed.slice(0, space)).toUpperCase()
      const params = space === -1 ? '' : trimmed.slice(space + 1).trim()
      if (trimmed[space] === '=' && keyword !== 'AUTH') continue
      if (keyword === 'AUTH' && map.has('AUTH')) {
        map.set('AUTH', mergeWords(map.get('AUTH') ?? '', params))
        continue
      }
      if (!/^[A-Z0-9][A-Z0-9-]*$/.test(keyword)) continue
      map.set(keyword, params)
    }
    return new Extensions(map)
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

function mergeWords(a: string, b: string): string {
  const words = new Set([...a.split(/\s+/), ...b.split(/\s+/)].filter(Boolean).map((w) => w.toUpperCase()))
  return [...words].join(' ')
}
