import { setImmediate as nextTurn } from 'node:timers/promises'
import { checkOptions } from '../options/check-options.ts'
import { crlfNormalize } from '../protocol/dot-stuffing.ts'
import { toChunks, type MessageSource, type RereadableSource } from '../protocol/message-source.ts'
import { keyTypeOf, verifyHeaderData } from './algorithm.ts'
import { BodyHasher } from './body-hash.ts'
import { headerHashInput } from './canonicalize.ts'
import { fetchDkimKey, getDefaultResolver, type KeyLookup, type TxtResolver } from './dns-key.ts'
import { DEFAULT_MAX_HEADER_BYTES, HeaderBlockSplitter, parseHeaderFields, selectSignedFields, type HeaderField } from './header-fields.ts'
import { blankSignatureValue, parseSignatureField, SignatureSyntaxError, type SignatureTags } from './signature-header.ts'

/**
 * The result of checking one DKIM-Signature, named as in RFC 8601 §2.7.1: `pass`; `fail` (the
 * body hash or the signature does not match); `permerror` (the signature or key is unusable:
 * syntax, missing or revoked key, expired, ...); `temperror` (the key lookup failed for now);
 * `neutral` (not checked, beyond `maxSignatures`).
 */
export type DkimStatus = 'pass' | 'fail' | 'neutral' | 'temperror' | 'permerror'

/** What `dkimVerify` found for one DKIM-Signature field. */
export interface DkimResult {
  readonly status: DkimStatus
  /** `d=`, lower-cased ('' when unreadable). */
  readonly domain: string
  /** `s=` ('' when unreadable). */
  readonly selector: string
  /** `a=` as written ('' when unreadable). */
  readonly algorithm: string
  /** `i=` decoded, or `@` + `d=`, when the signature could be parsed. */
  readonly identity?: string
  /** Why the status is not `pass`, for people: 'body hash did not verify', 'key not found ...'. */
  readonly reason?: string
  /** `l=`: the signature covers only this many canonical body octets; more may have been appended. */
  readonly bodyLength?: number
  /** `h=`, when the signature could be parsed. */
  readonly signedHeaders?: readonly string[]
  /** The key record has `t=y`: the domain is testing DKIM (RFC 6376 §3.6.1). */
  readonly isTestMode?: boolean
}

/** Options for `dkimVerify`. */
export interface DkimVerifyOptions {
  /** Looks up TXT records; default `dns.promises` with a 5 s timeout and two tries. */
  readonly resolver?: TxtResolver
  /** The time to check `t=` and `x=` against; default now. */
  readonly now?: Date
  /** Tolerated clock difference for a `t=` in the future, in seconds; default 300. */
  readonly clockSkewSeconds?: number
  /** Largest header block read, as bytes; default 1 MiB. */
  readonly maxHeaderBytes?: number
  /** Signatures checked per message, top first; the rest get `neutral`. Default 10. */
  readonly maxSignatures?: number
  /** How long to wait for each key lookup; a lookup that takes longer is a `temperror`. Default 15000 (the default resolver's own 5 s × 2 tries fit in it). */
  readonly dnsTimeoutMs?: number
  /** Stops the verification: reading and key lookups stop, and `dkimVerify` rejects with the signal's reason. */
  readonly signal?: AbortSignal
}

/** Defaults for DKIM verification. */
export const dkimVerifyDefaults = Object.freeze({
  clockSkewSeconds: 300,
  maxHeaderBytes: DEFAULT_MAX_HEADER_BYTES,
  maxSignatures: 10,
  dnsTimeoutMs: 15_000,
})

const OPTION_KINDS = {
  resolver: 'function',
  now: 'object',
  clockSkewSeconds: 'number',
  maxHeaderBytes: 'number',
  maxSignatures: 'number',
  dnsTimeoutMs: 'number',
  signal: 'object',
} as const

/** A signature whose outcome is already known, or one waiting for its body hash and key. */
type Pending =
  | { readonly field: HeaderField; readonly result: DkimResult }
  | { readonly field: HeaderField; readonly tags: SignatureTags; readonly hasher: BodyHasher; readonly key: Promise<KeyLookup> }

/**
 * Checks every DKIM-Signature field of a message (RFC 6376 §6, RFC 8463), reading the message
 * once, streaming: the header block (at most `maxHeaderBytes`) is kept, the body is hashed once
 * per distinct canonicalization and `l=`, and key lookups run while the body is read.
 *
 * Resolves with one result per DKIM-Signature field, top to bottom; an empty array means the
 * message is not signed (RFC 8601's `none`). The message is checked as it travels over SMTP:
 * bare LF and bare CR line endings (a message stored with Unix line ends) are read as CRLF
 * (RFC 5321 §2.3.8), as other verifiers do. The source is read to the end. Never rejects
 * because of what the message or DNS says; it rejects when reading the source fails, or with a
 * RangeError when the header block is larger than `maxHeaderBytes` (reading stops there), or
 * with the signal's reason when `signal` aborts. Key lookups wait at most `dnsTimeoutMs` each
 * (then `temperror`); keys too costly to verify (RSA over 8192 bits, a public exponent that is
 * not a small odd number such as 65537) are `permerror`. Bad options (an unknown key, a wrong
 * type) reject with a TypeError naming the option, before anything is read.
 */
export async function dkimVerify(source: MessageSource | RereadableSource, options: DkimVerifyOptions = {}): Promise<DkimResult[]> {
  checkOptions('dkimVerify()', options, OPTION_KINDS, { timeout: 'use dnsTimeoutMs', minBitLength: 'smtpkit refuses RSA keys under 1024 bits (RFC 8301)' })
  const signal = options.signal
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('dkimVerify(): option "signal" must be an AbortSignal')
  signal?.throwIfAborted()
  const resolver = options.resolver ?? getDefaultResolver()
  const now = options.now ?? new Date()
  if (!(now instanceof Date) || !Number.isFinite(now.getTime())) throw new TypeError('dkimVerify: now must be a valid Date')
  const nowSeconds = Math.floor(now.getTime() / 1000)
  const skew = options.clockSkewSeconds ?? dkimVerifyDefaults.clockSkewSeconds
  const maxSignatures = options.maxSignatures ?? dkimVerifyDefaults.maxSignatures
  const maxHeaderBytes = options.maxHeaderBytes ?? dkimVerifyDefaults.maxHeaderBytes
  const lookup = { timeoutMs: options.dnsTimeoutMs ?? dkimVerifyDefaults.dnsTimeoutMs, signal }
  for (const [name, value] of [['clockSkewSeconds', skew], ['maxSignatures', maxSignatures], ['maxHeaderBytes', maxHeaderBytes], ['dnsTimeoutMs', lookup.timeoutMs]] as const) {
    if (!(Number.isSafeInteger(value) && value >= 0)) throw new RangeError(`dkimVerify: ${name} must be a non-negative integer, got ${value}`)
  }
  const splitter = new HeaderBlockSplitter(maxHeaderBytes)
  let fields: HeaderField[] = []
  let pending: Pending[] = []
  let hashers: BodyHasher[] = []

  const start = (block: Buffer): void => {
    fields = parseHeaderFields(block).fields
    const hasherByKey = new Map<string, BodyHasher>()
    const keyByName = new Map<string, Promise<KeyLookup>>()
    pending = fields
      .filter((field) => field.key === 'dkim-signature')
      .map((field, index): Pending => {
        if (index >= maxSignatures) {
          return { field, result: { status: 'neutral', domain: '', selector: '', algorithm: '', reason: `not checked: more than ${maxSignatures} DKIM signatures` } }
        }
        let tags: SignatureTags
        try {
          tags = parseSignatureField(field)
        } catch (err) {
          if (!(err instanceof SignatureSyntaxError)) throw err
          return { field, result: { status: 'permerror', domain: err.domain.toLowerCase(), selector: err.selector, algorithm: err.algorithm, reason: err.message } }
        }
        const timeProblem =
          tags.expires !== undefined && tags.expires < nowSeconds
            ? 'signature expired'
            : tags.timestamp !== undefined && tags.timestamp > nowSeconds + skew
              ? 'signature timestamp t= is in the future'
              : undefined
        if (timeProblem) return { field, result: describe(tags, 'permerror', timeProblem) }
        const hashKey = `${tags.bodyCanonicalization}/${tags.bodyLength ?? ''}`
        let hasher = hasherByKey.get(hashKey)
        if (!hasher) {
          hasher = new BodyHasher(tags.bodyCanonicalization, tags.bodyLength)
          hasherByKey.set(hashKey, hasher)
        }
        const keyName = `${tags.selector}._domainkey.${tags.domain}`
        let key = keyByName.get(keyName)
        if (!key) {
          key = fetchDkimKey(resolver, tags.selector, tags.domain, lookup)
          // Rejects only on abort, which the loop below reports; do not let it go unhandled meanwhile.
          key.catch(() => {})
          keyByName.set(keyName, key)
        }
        return { field, tags, hasher, key }
      })
    hashers = [...hasherByKey.values()]
  }

  // Signers hash the bytes as SMTP carries them, every line ending CRLF (RFC 6376 §5.3).
  for await (const chunk of crlfNormalize(toChunks(source))) {
    signal?.throwIfAborted()
    if (splitter.block) {
      for (const hasher of hashers) hasher.update(chunk)
      continue
    }
    const body = splitter.push(chunk)
    if (body === undefined) continue
    start(splitter.block!)
    for (const hasher of hashers) hasher.update(body)
  }
  if (!splitter.block) start(splitter.end())

  const results: DkimResult[] = []
  for (const item of pending) {
    if ('result' in item) {
      results.push(item.result)
      continue
    }
    // Each RSA verification costs up to a few milliseconds of CPU: let other work run between
    // signatures even when every key is already at hand.
    await nextTurn()
    signal?.throwIfAborted()
    results.push(await check(item, fields))
  }
  return results
}

function describe(tags: SignatureTags, status: DkimStatus, reason?: string, extra: { isTestMode?: boolean } = {}): DkimResult {
  return {
    status,
    domain: tags.domain,
    selector: tags.selector,
    algorithm: tags.algorithm,
    identity: tags.identity,
    signedHeaders: tags.signedHeaders,
    ...(reason === undefined ? {} : { reason }),
    ...(tags.bodyLength === undefined ? {} : { bodyLength: tags.bodyLength }),
    ...(extra.isTestMode ? { isTestMode: true } : {}),
  }
}

async function check(item: Exclude<Pending, { result: DkimResult }>, fields: readonly HeaderField[]): Promise<DkimResult> {
  const { tags, hasher } = item
  const lookup = await item.key
  if (!lookup.ok) return describe(tags, lookup.status, lookup.reason)
  const record = lookup.record
  const extra = { isTestMode: record.isTestMode }
  if (record.keyType !== keyTypeOf(tags.algorithm)) {
    return describe(tags, 'permerror', `key type k=${record.keyType} does not match a=${tags.algorithm}`, extra)
  }
  if (record.hashAlgorithms && !record.hashAlgorithms.includes('sha256')) {
    return describe(tags, 'permerror', `key does not allow sha256 (h=${record.hashAlgorithms.join(':')})`, extra)
  }
  if (record.serviceTypes && !record.serviceTypes.some((type) => type === '*' || type === 'email')) {
    return describe(tags, 'permerror', `key is not for email (s=${record.serviceTypes.join(':')})`, extra)
  }
  if (record.isStrictIdentity && tags.identity.slice(tags.identity.lastIndexOf('@') + 1).toLowerCase() !== tags.domain) {
    return describe(tags, 'permerror', 'key has t=s but the i= domain is a subdomain of d=', extra)
  }
  const bodyHash = hasher.digest()
  if (tags.bodyLength !== undefined && tags.bodyLength > hasher.length) {
    return describe(tags, 'fail', `l=${tags.bodyLength} is longer than the canonical body (${hasher.length} octets)`, extra)
  }
  if (!bodyHash.equals(tags.bodyHash)) return describe(tags, 'fail', 'body hash did not verify', extra)
  // The field being checked is never one of the fields it signs, even if h= names dkim-signature.
  const others = fields.filter((field) => field !== item.field)
  const data = headerHashInput(tags.headerCanonicalization, selectSignedFields(others, tags.signedHeaders), blankSignatureValue(item.field, tags.signatureTag))
  if (!verifyHeaderData(tags.algorithm, record.publicKey!, data, tags.signature)) {
    return describe(tags, 'fail', 'signature did not verify', extra)
  }
  // RFC 6376 §8.15: a From the signature does not cover may be the one the reader sees.
  const fromFields = fields.filter((field) => field.key === 'from').length
  const signedFrom = tags.signedHeaders.filter((name) => name.toLowerCase() === 'from').length
  if (fromFields > signedFrom) {
    return describe(tags, 'fail', `message has ${fromFields} From fields but the signature covers ${signedFrom}`, extra)
  }
  return describe(tags, 'pass', undefined, extra)
}
