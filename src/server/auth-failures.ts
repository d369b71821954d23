import { clientKey, type ClientOrigin } from './client-key.ts'

// Past this many addresses, each new one first sweeps out those whose window has passed, so a
// spread-out attack cannot grow the map without bound.
const SWEEP_AT = 10_000

/**
 * Failed AUTH exchanges per client address across all its connections, in fixed windows
 * (Postfix's `smtpd_client_auth_rate_limit`): twenty parallel connections must not get twenty
 * times the guesses one does. Loopback and unknown addresses are counted too.
 */
export class AuthFailures {
  readonly #max: number
  readonly #windowMs: number
  readonly #now: () => number
  readonly #byClient = new Map<string, { start: number; count: number }>()

  constructor(max: number, windowMs: number, now: () => number = () => performance.now()) {
    this.#max = max
    this.#windowMs = windowMs
    this.#now = now
  }

  /** True when the client has used up its failures for the current window. */
  isExhausted(client: ClientOrigin): boolean {
    const entry = this.#byClient.get(keyOf(client))
    return entry !== undefined && this.#now() - entry.start < this.#windowMs && entry.count >= this.#max
  }

  /** Counts one failed exchange. */
  record(client: ClientOrigin): void {
    const key = keyOf(client)
    const now = this.#now()
    const entry = this.#byClient.get(key)
    if (entry !== undefined && now - entry.start < this.#windowMs) {
      entry.count++
      return
    }
    if (entry === undefined && this.#byClient.size >= SWEEP_AT) this.#sweep(now)
    this.#byClient.set(key, { start: now, count: 1 })
  }

  #sweep(now: number): void {
    for (const [key, entry] of this.#byClient) if (now - entry.start >= this.#windowMs) this.#byClient.delete(key)
  }
}

function keyOf(client: ClientOrigin): string {
  return clientKey(client, true) ?? ''
}
