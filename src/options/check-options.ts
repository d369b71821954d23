// One check for every options object of the public API: unknown keys and wrong types are a
// TypeError that names the key, and a key a nodemailer or smtp-server user would bring along says
// what to write instead. Options of a misspelled name would otherwise be dropped in silence: an
// smtp-server port that keeps `onData` would accept every message and throw it away.

/** What an option may hold; an array of kinds means any of them. */
export type OptionKind =
  | 'string'
  | 'number'
  | 'boolean'
  | 'function'
  | 'object'
  | 'array'
  | 'bigint'
  | 'any'
  | readonly OptionKind[]

/** The options an object may have, each with its kind. */
export type OptionKinds = Readonly<Record<string, OptionKind>>

/** For a key that is not an option: what to write instead (`secure` → "use tls: 'implicit'"). */
export type OptionHints = Readonly<Record<string, string>>

function kindOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  return typeof value
}

function matches(value: unknown, kind: OptionKind): boolean {
  if (typeof kind !== 'string') {
    // A loop, not some() with a closure: requests are checked on every send.
    for (const one of kind) if (matches(value, one)) return true
    return false
  }
  if (kind === 'any') return true
  const actual = kindOf(value)
  return actual === kind
}

function describeKind(kind: OptionKind): string {
  return typeof kind === 'string' ? kind : kind.map(describeKind).join(' or ')
}

/** Levenshtein distance, capped: only used to suggest a near name for a typo. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1))
      previous = current
    }
  }
  return row[b.length]!
}

function nearest(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase()
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1
  for (const name of known) {
    const d = distance(lower, name.toLowerCase())
    if (d < bestDistance) {
      best = name
      bestDistance = d
    }
  }
  return best
}

/**
 * Throws a TypeError naming the first key of `options` that `kinds` does not list, or whose value
 * is not of its kind. `where` names the object in the message (`new Server()`, `limits`). A value
 * of `undefined` counts as absent. `options` itself may be undefined (all defaults).
 */
export function checkOptions(where: string, options: unknown, kinds: OptionKinds, hints: OptionHints = {}): void {
  if (options === undefined) return
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object, got ${kindOf(options)}`)
  }
  for (const key of Object.keys(options)) {
    const value = (options as Record<string, unknown>)[key]
    const kind = Object.hasOwn(kinds, key) ? kinds[key] : undefined
    if (kind === undefined) {
      const hint = Object.hasOwn(hints, key) ? hints[key] : undefined
      if (hint !== undefined) throw new TypeError(`${where}: unknown option "${key}"; ${hint}`)
      const near = nearest(key, Object.keys(kinds))
      const suggestion = near === undefined ? `known options are ${Object.keys(kinds).join(', ')}` : `did you mean "${near}"?`
      throw new TypeError(`${where}: unknown option "${key}"; ${suggestion}`)
    }
    if (value !== undefined && !matches(value, kind)) {
      throw new TypeError(`${where}: option "${key}" must be ${describeKind(kind)}, got ${kindOf(value)}`)
    }
  }
}
