import type { KeyObject } from 'node:crypto'
import { loadPrivateKey, type DkimAlgorithm, type PrivateKeyInput } from './algorithm.ts'
import type { Canonicalization, CanonicalizationAlgorithm } from './canonicalize.ts'
import { isFieldName } from './header-fields.ts'
import { checkOptions, type OptionHints, type OptionKinds } from '../options/check-options.ts'
import { encodeDkimQuotedPrintable, isDomainName, isSameOrSubdomain } from './signature-header.ts'

/** What one DKIM signature should be: who signs, with which key, and how. */
export interface DkimSignOptions {
  /** The signing domain, `d=`: an ASCII domain name (A-labels for IDNs). */
  readonly domain: string
  /** The selector, `s=`: the key is published at `<selector>._domainkey.<domain>`. */
  readonly selector: string
  /**
   * The private key: a KeyObject, PEM text or bytes, DER PKCS#8 bytes, or a 32-byte Ed25519
   * seed. RSA keys must have at least 1024 bits (2048 recommended).
   */
  readonly privateKey: PrivateKeyInput
  /** `a=`; default: inferred from the key (`rsa-sha256` or `ed25519-sha256`, RFC 8463). */
  readonly algorithm?: DkimAlgorithm
  /** `c=`; default `'relaxed/relaxed'`. */
  readonly canonicalization?: Canonicalization
  /**
   * Header fields to sign, every instance present in the message; default
   * `dkimSignDefaults.headers`. From is always signed, whatever this says.
   */
  readonly headers?: readonly string[]
  /**
   * Header fields to over-sign: when present, listed in `h=` once more than they occur, so that
   * another instance cannot be added without breaking the signature (RFC 6376 §8.15). Default
   * `dkimSignDefaults.overSignHeaders`. From is always over-signed, whatever this says.
   */
  readonly overSignHeaders?: readonly string[]
  /** `i=`, the agent or user identity: `[local-part]@domain`, in `domain` or a subdomain of it; default none. */
  readonly identity?: string
  /** `t=`; default the time of signing; `false` leaves `t=` out. */
  readonly timestamp?: Date | false
  /** `x=`: the signature expires this many seconds after `t=` (or after signing); default never. */
  readonly expiresInSeconds?: number
  /**
   * Adds `l=` with the canonical body length; default false. Anyone may then append to the body
   * without breaking the signature, so leave it off unless a mailing list needs it.
   */
  readonly bodyLength?: boolean
}

/** Defaults for DKIM signing. */
export const dkimSignDefaults = Object.freeze({
  canonicalization: 'relaxed/relaxed' as Canonicalization,
  /** RFC 6376 §5.4.1's recommended set, plus MIME and list fields. */
  headers: Object.freeze([
    'From', 'Sender', 'Reply-To', 'To', 'Cc', 'Subject', 'Date', 'Message-ID', 'In-Reply-To', 'References',
    'MIME-Version', 'Content-Type', 'Content-Transfer-Encoding', 'Content-ID', 'Content-Description',
    'Content-Disposition', 'Content-Language', 'Resent-Date', 'Resent-From', 'Resent-Sender', 'Resent-To',
    'Resent-Cc', 'Resent-Message-ID', 'List-Id', 'List-Help', 'List-Unsubscribe', 'List-Unsubscribe-Post',
    'List-Subscribe', 'List-Post', 'List-Owner', 'List-Archive',
  ]),
  /** The fields RFC 5322 §3.6 allows once, and the MIME fields that say how to read the body. */
  overSignHeaders: Object.freeze([
    'From', 'Sender', 'Reply-To', 'To', 'Cc', 'Subject', 'Date', 'Message-ID', 'In-Reply-To', 'References',
    'MIME-Version', 'Content-Type', 'Content-Transfer-Encoding',
  ]),
  /** Largest header block accepted, as bytes (1 MiB). */
  maxHeaderBytes: 1024 * 1024,
  /** How much of a one-shot source is kept in memory before spooling to a temporary file (1 MiB). */
  spoolThresholdBytes: 1024 * 1024,
})

/** A signature's options, checked and normalised: key loaded, names lower-cased. */
export interface PreparedSignature {
  readonly key: KeyObject
  readonly algorithm: DkimAlgorithm
  readonly header: CanonicalizationAlgorithm
  readonly body: CanonicalizationAlgorithm
  readonly domain: string
  readonly selector: string
  /** The `i=` value, already DKIM-Quoted-Printable. */
  readonly identity: string | undefined
  readonly timestamp: Date | false | undefined
  readonly expiresInSeconds: number | undefined
  readonly bodyLength: boolean
  readonly signed: ReadonlySet<string>
  readonly overSigned: ReadonlySet<string>
}

// The fields of DkimSignOptions; those checked in detail below take any value here.
const SIGNATURE_FIELDS: OptionKinds = {
  domain: 'any', selector: 'any', privateKey: 'any', algorithm: 'any', canonicalization: 'any', headers: 'any',
  overSignHeaders: 'any', identity: 'string', timestamp: 'any', expiresInSeconds: 'any', bodyLength: 'boolean',
}
// nodemailer's DKIM option names, and what to write here.
const SIGNATURE_HINTS: OptionHints = {
  domainName: 'write domain',
  keySelector: 'write selector',
  headerFieldNames: 'write headers (an array of field names)',
  skipFields: 'list the fields to sign in headers instead',
  hashAlgo: 'the hash is sha256 (RFC 8301 forbids sha1); choose the key type with algorithm',
  cacheDir: 'give tmpDir in dkimSign()\'s third argument',
  cacheTreshold: 'give spoolThresholdBytes in dkimSign()\'s third argument',
  key: 'write privateKey',
}

const CANONICALIZATIONS: ReadonlySet<string> = new Set(['relaxed/relaxed', 'relaxed/simple', 'simple/relaxed', 'simple/simple'])

function nameSet(names: readonly string[], option: string): Set<string> {
  if (!Array.isArray(names)) throw new TypeError(`DKIM ${option} must be an array of header field names`)
  const set = new Set<string>(['from'])
  for (const name of names) {
    if (typeof name !== 'string' || !isFieldName(name)) throw new TypeError(`DKIM ${option} has an invalid header field name: ${JSON.stringify(name)}`)
    set.add(name.toLowerCase())
  }
  return set
}

function formatIdentity(identity: string, domain: string): string {
  const at = identity.lastIndexOf('@')
  if (at === -1) throw new TypeError(`DKIM identity must look like [local-part]@domain, got ${JSON.stringify(identity)}`)
  const local = identity.slice(0, at)
  const host = identity.slice(at + 1)
  if (!isDomainName(host) || !isSameOrSubdomain(host, domain)) {
    throw new TypeError(`DKIM identity's domain must be ${domain} or a subdomain of it (RFC 6376 §3.5), got ${JSON.stringify(host)}`)
  }
  if (Buffer.byteLength(local, 'utf8') > 64) throw new TypeError('DKIM identity local-part is longer than 64 octets')
  return `${encodeDkimQuotedPrintable(local)}@${host.toLowerCase()}`
}

/** Checks one signature's options and loads its key. Throws TypeError or RangeError naming the option. */
export function prepareSignature(options: DkimSignOptions, where = 'DKIM signature'): PreparedSignature {
  if (typeof options !== 'object' || options === null) throw new TypeError('DKIM signature options must be an object')
  checkOptions(where, options, SIGNATURE_FIELDS, SIGNATURE_HINTS)
  const { domain, selector } = options
  if (typeof domain !== 'string' || !isDomainName(domain)) {
    throw new TypeError(`DKIM domain must be an ASCII domain name (A-labels for IDNs), got ${JSON.stringify(domain)}`)
  }
  if (typeof selector !== 'string' || !isDomainName(selector)) {
    throw new TypeError(`DKIM selector must be dot-separated letter-digit-hyphen labels, got ${JSON.stringify(selector)}`)
  }
  if (options.privateKey === undefined) throw new TypeError('DKIM privateKey is required')
  const { key, algorithm } = loadPrivateKey(options.privateKey, options.algorithm)
  const canonicalization = options.canonicalization ?? dkimSignDefaults.canonicalization
  if (!CANONICALIZATIONS.has(canonicalization)) {
    throw new TypeError(`DKIM canonicalization must be one of ${[...CANONICALIZATIONS].join(', ')}; got ${JSON.stringify(canonicalization)}`)
  }
  const [header, body] = canonicalization.split('/') as [CanonicalizationAlgorithm, CanonicalizationAlgorithm]
  const { timestamp, expiresInSeconds } = options
  if (timestamp !== undefined && timestamp !== false && !(timestamp instanceof Date && Number.isFinite(timestamp.getTime()))) {
    throw new TypeError('DKIM timestamp must be a valid Date or false')
  }
  if (expiresInSeconds !== undefined && !(Number.isSafeInteger(expiresInSeconds) && expiresInSeconds > 0)) {
    throw new RangeError(`DKIM expiresInSeconds must be a positive integer, got ${expiresInSeconds}`)
  }
  const overSigned = nameSet(options.overSignHeaders ?? dkimSignDefaults.overSignHeaders, 'overSignHeaders')
  const signed = nameSet(options.headers ?? dkimSignDefaults.headers, 'headers')
  for (const name of overSigned) signed.add(name)
  return {
    key,
    algorithm,
    header,
    body,
    domain: domain.toLowerCase(),
    selector,
    identity: options.identity === undefined ? undefined : formatIdentity(options.identity, domain),
    timestamp,
    expiresInSeconds,
    bodyLength: options.bodyLength === true,
    signed,
    overSigned,
  }
}

/** Prepares one or several signatures; at least one is required. */
export function prepareSignatures(options: DkimSignOptions | readonly DkimSignOptions[]): PreparedSignature[] {
  const list = Array.isArray(options) ? (options as readonly DkimSignOptions[]) : [options as DkimSignOptions]
  if (list.length === 0) throw new TypeError('dkimSign needs at least one signature')
  return list.map((signature, index) => prepareSignature(signature, list.length === 1 ? 'DKIM signature' : `DKIM signature ${index + 1}`))
}
