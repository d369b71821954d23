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
 * Fetches and parses the key at `<selector>._domainkey.<domain>` (RFC 6376 §6.1.2). Never
 * rejects: a missing name or record, a revoked or malformed key are `permerror`, any other DNS
 * failure `temperror`. Of several TXT records, the first that parses as a DKIM key is used.
 */
export async function fetchDkimKey(resolver: TxtResolver, selector: string, domain: string): Promise<KeyLookup> {
  const name = `${selector}._domainkey.${domain}`
  let records: string[][]
  try {
    records = await resolver(name)
  } catch (err) {
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
