import { createPublicKey, type KeyObject } from 'node:crypto'
import { promises as dns } from 'node:dns'
import { parseTagList, splitColonList, stripFws, TagListError } from './tag-list.ts'

/** The key types DKIM knows: RSA (RFC 6376) and Ed25519 (RFC 8463). */
export type DkimKeyType = 'rsa' | 'ed25519'

/**
 * Looks up the TXT records at a DNS name, each as the list of its character-strings (the shape of
 * `dns.promises.resolveTxt`). Reject with an error whose `code` is `ENOTFOUND` or `ENODATA` when
 * the name or record does not exist; any other rejection counts as a temporary DNS failure.
 */
export type TxtResolver = (name: string) => Promise<string[][]>

/** A parsed DKIM key record (RFC 6376 §3.6.1). */
export interface DkimKeyRecord {
  /** `k=`, default `rsa`. */
  readonly keyType: DkimKeyType
  /** The public key, or null when `p=` is empty: the key has been revoked. */
  readonly publicKey: KeyObject | null
  /** `h=`: hash algorithms the key may be used with; undefined means any. */
  readonly hashAlgorithms: readonly string[] | undefined
  /** `t=y`: the domain is testing DKIM. */
  readonly isTestMode: boolean
  /** `t=s`: an `i=` domain must equal `d=`, not be a subdomain of it. */
  readonly isStrictIdentity: boolean
  /** `s=`: service types; undefined means all. */
  readonly serviceTypes: readonly string[] | undefined
}

const MIN_RSA_BITS = 1024
// What a key may cost to verify. RFC 8301 §3.2 asks verifiers to handle 1024 to 4096 bits;
// OpenSSL refuses moduli over 16384 bits and, over 3072 bits, exponents over 64 bits
// (OPENSSL_RSA_MAX_MODULUS_BITS, OPENSSL_RSA_MAX_PUBEXP_BITS). Keys in use have e = 65537 (some
// old ones 3); a 3071-bit exponent makes each verification about eight times slower.
const MAX_RSA_BITS = 8192
const MAX_RSA_EXPONENT = 2n ** 32n

// DER prefix of an Ed25519 SubjectPublicKeyInfo, before the 32 raw key bytes (RFC 8410 §4).
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

/**
 * Parses a DKIM key record (the TXT strings joined). Strict per RFC 6376 §3.6.1: `v=`, when
 * present, must be the first tag and `DKIM1`; `p=` is required; `k=` must be `rsa` or `ed25519`
 * and match the key in `p=` (for Ed25519 the 32 raw bytes, RFC 8463 §4.2; for RSA a DER
 * SubjectPublicKeyInfo, or an RSAPublicKey as some publishers use); RSA keys under 1024 bits are
 * refused (RFC 8301 §3.2). Unknown tags are ignored. Throws an Error saying what is wrong.
 */
export function parseDkimKeyRecord(text: string): DkimKeyRecord {
  let tags
  try {
    tags = parseTagList(text)
  } catch (err) {
    if (err instanceof TagListError) throw new Error(`malformed key record: ${err.message}`, { cause: err })
    throw err
  }
  const version = tags.get('v')
  if (version && (version.value !== 'DKIM1' || tags.keys().next().value !== 'v')) {
    throw new Error(`key record v= must be DKIM1 and come first, got v=${version.value}`)
  }
  const k = tags.get('k')?.value ?? 'rsa'
  if (k !== 'rsa' && k !== 'ed25519') throw new Error(`unsupported key type k=${k}`)
  const p = tags.get('p')
  if (!p) throw new Error('key record has no p= tag')
  const keyData = stripFws(p.value)
  const hashAlgorithms = tags.has('h') ? splitColonList(tags.get('h')!.value) : undefined
  const serviceTypes = tags.has('s') ? splitColonList(tags.get('s')!.value) : undefined
  const flags = tags.has('t') ? splitColonList(tags.get('t')!.value) : []
  const common = {
    keyType: k,
    hashAlgorithms,
    serviceTypes,
    isTestMode: flags.includes('y'),
    isStrictIdentity: flags.includes('s'),
  } as const
  if (keyData === '') return { ...common, publicKey: null }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(keyData)) throw new Error('key record p= is not base64')
  return { ...common, publicKey: decodePublicKey(k, Buffer.from(keyData, 'base64')) }
}

function decodePublicKey(keyType: DkimKeyType, der: Buffer): KeyObject {
  if (keyType === 'ed25519') {
    if (der.length !== 32) throw new Error(`an ed25519 key must be 32 bytes, p= has ${der.length}`)
    return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, der]), format: 'der', type: 'spki' })
  }
  let key: KeyObject
  try {
    key = createPublicKey({ key: der, format: 'der', type: 'spki' })
  } catch {
    try {
      key = createPublicKey({ key: der, format: 'der', type: 'pkcs1' })
    } catch {
      throw new Error('key record p= is not an RSA public key')
    }
  }
  if (key.asymmetricKeyType !== 'rsa') throw new Error(`key record k=rsa but p= holds a ${key.asymmetricKeyType} key`)
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
  if (bits < MIN_RSA_BITS) throw new Error(`RSA key is ${bits} bits; RFC 8301 requires at least ${MIN_RSA_BITS}`)
  if (bits > MAX_RSA_BITS) throw new Error(`RSA key is ${bits} bits; keys over ${MAX_RSA_BITS} bits are refused as too costly to verify`)
  const exponent = key.asymmetricKeyDetails?.publicExponent ?? 0n
  if (exponent < 3n || exponent > MAX_RSA_EXPONENT || exponent % 2n === 0n) {
    throw new Error(`RSA public exponent ${exponent > 1_000_000_000_000n ? `of ${exponent.toString(2).length} bits` : exponent} is refused; keys use a small odd exponent such as 65537`)
  }
  return key
}

/**
 * Formats the TXT record to publish at `<selector>._domainkey.<domain>` for a public key (or the
 * private key it belongs to): `v=DKIM1; k=rsa; p=...` with the DER SubjectPublicKeyInfo, or
 * `v=DKIM1; k=ed25519; p=...` with the 32 raw key bytes (RFC 8463 §4.2). Records longer than 255
 * octets must be split into several character-strings when entered in DNS.
 */
export function formatDkimKeyRecord(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key
  const spki = publicKey.export({ format: 'der', type: 'spki' })
  if (publicKey.asymmetricKeyType === 'ed25519') {
    return `v=DKIM1; k=ed25519; p=${spki.subarray(ED25519_SPKI_PREFIX.length).toString('base64')}`
  }
  if (publicKey.asymmetricKeyType === 'rsa') return `v=DKIM1; k=rsa; p=${spki.toString('base64')}`
  throw new TypeError(`DKIM keys are rsa or ed25519, not ${publicKey.asymmetricKeyType}`)
}

/** Bounds on one key lookup. */
export interface LookupOptions {
  /** Give up waiting after this long; the lookup is a temperror. */
  readonly timeoutMs?: number
  /** Stop waiting when aborted: the lookup rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined
}

const TIMED_OUT = Symbol('timed out')

// A resolver that never settles must not hold the verification: race it against a timer and the
// signal, and leave no timer or listener behind.
function bounded<T>(promise: Promise<T>, options: LookupOptions): Promise<T> {
  const { timeoutMs, signal } = options
  if (timeoutMs === undefined && signal === undefined) return promise
  return new Promise<T>((resolve, reject) => {
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => settle(() => reject(TIMED_OUT)), timeoutMs)
    const onAbort = (): void => settle(() => reject(signal!.reason))
    const settle = (action: () => void): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      action()
    }
    if (signal?.aborted) return onAbort()
    signal?.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => settle(() => resolve(value)),
      (error: unknown) => settle(() => reject(error)),
    )
  })
}

/** The outcome of fetching a key: the record, or why there is none. */
export type KeyLookup =
  | { readonly ok: true; readonly record: DkimKeyRecord }
  | { readonly ok: false; readonly status: 'temperror' | 'permerror'; readonly reason: string }

const NOT_FOUND_CODES = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN', 'NODATA'])

let defaultResolver: TxtResolver | undefined

/** `dns.promises.Resolver#resolveTxt` with a 5 s timeout and two tries. */
export function getDefaultResolver(): TxtResolver {
  if (!defaultResolver) {
    const resolver = new dns.Resolver({ timeout: 5000, tries: 2 })
    defaultResolver = (name) => resolver.resolveTxt(name)
  }
  return defaultResolver
}

/**
 * Fetches and parses the key at `<selector>._domainkey.<domain>` (RFC 6376 §6.1.2). A missing
 * name or record, a revoked, malformed or too costly key are `permerror`; any other DNS failure,
 * or no answer within `timeoutMs`, `temperror`. Of several TXT records, the first that parses as
 * a DKIM key is used. Rejects only with the signal's reason, when `signal` aborts.
 */
export async function fetchDkimKey(resolver: TxtResolver, selector: string, domain: string, options: LookupOptions = {}): Promise<KeyLookup> {
  const name = `${selector}._domainkey.${domain}`
  let records: string[][]
  try {
    records = await bounded(resolver(name), options)
  } catch (err) {
    if (err === TIMED_OUT) return { ok: false, status: 'temperror', reason: `key lookup for ${name} timed out after ${options.timeoutMs} ms` }
    if (options.signal?.aborted && err === options.signal.reason) throw err
    const code = (err as { code?: unknown } | null)?.code
    if (typeof code === 'string' && NOT_FOUND_CODES.has(code)) {
      return { ok: false, status: 'permerror', reason: `key not found (no TXT record at ${name})` }
    }
    const detail = typeof code === 'string' ? code : err instanceof Error ? err.message : String(err)
    return { ok: false, status: 'temperror', reason: `key lookup for ${name} failed: ${detail}` }
  }
  if (!Array.isArray(records) || records.length === 0) {
    return { ok: false, status: 'permerror', reason: `key not found (no TXT record at ${name})` }
  }
  let firstError: string | undefined
  for (const strings of records) {
    try {
      const record = parseDkimKeyRecord(Array.isArray(strings) ? strings.join('') : String(strings))
      if (record.publicKey === null) return { ok: false, status: 'permerror', reason: `key revoked (empty p= at ${name})` }
      return { ok: true, record }
    } catch (err) {
      firstError ??= (err as Error).message
    }
  }
  return { ok: false, status: 'permerror', reason: `bad key record at ${name}: ${firstError}` }
}
