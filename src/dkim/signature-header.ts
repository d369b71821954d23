import type { DkimAlgorithm } from './algorithm.ts'
import { parseCanonicalization, type CanonicalizationAlgorithm } from './canonicalize.ts'
import { isFieldName, type HeaderField } from './header-fields.ts'
import { isBase64, parseTagList, splitColonList, stripFws, TagListError, type Tag } from './tag-list.ts'

/** The tags of a DKIM-Signature field, parsed and checked (RFC 6376 §3.5). */
export interface SignatureTags {
  readonly algorithm: DkimAlgorithm
  readonly headerCanonicalization: CanonicalizationAlgorithm
  readonly bodyCanonicalization: CanonicalizationAlgorithm
  /** `d=`, lower-cased. */
  readonly domain: string
  /** `s=`. */
  readonly selector: string
  /** `i=` decoded, or `@` + `d=` when absent. */
  readonly identity: string
  /** `h=`, names as written. */
  readonly signedHeaders: readonly string[]
  readonly bodyHash: Buffer
  readonly signature: Buffer
  /** `l=`: how many canonical body octets the body hash covers; undefined means all. */
  readonly bodyLength: number | undefined
  /** `t=`, Unix seconds. */
  readonly timestamp: number | undefined
  /** `x=`, Unix seconds. */
  readonly expires: number | undefined
  /** The `b=` tag, for blanking its value when hashing this field. */
  readonly signatureTag: Tag
}

/** Why a DKIM-Signature field is unusable, with what could be read of it for the result. */
export class SignatureSyntaxError extends Error {
  readonly domain: string
  readonly selector: string
  readonly algorithm: string

  constructor(reason: string, partial: { domain?: string; selector?: string; algorithm?: string }) {
    super(reason)
    this.name = 'SignatureSyntaxError'
    this.domain = partial.domain ?? ''
    this.selector = partial.selector ?? ''
    this.algorithm = partial.algorithm ?? ''
  }
}

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
const DOMAIN = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`)
// Verifying is lenient about `_` in DNS labels, which real selectors and domains contain.
const LENIENT_DOMAIN = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*$/

/** True for an ASCII domain name or selector of letter-digit-hyphen labels (RFC 6376 §3.5). */
export function isDomainName(value: string): boolean {
  return DOMAIN.test(value)
}

/** True when `domain` is `parent` or a subdomain of it, ignoring case. */
export function isSameOrSubdomain(domain: string, parent: string): boolean {
  const d = domain.toLowerCase()
  const p = parent.toLowerCase()
  return d === p || d.endsWith(`.${p}`)
}

/**
 * Encodes bytes as DKIM-Quoted-Printable (RFC 6376 §2.11): visible ASCII other than `;` and `=`
 * stays, anything else becomes `=XX`.
 */
export function encodeDkimQuotedPrintable(text: string): string {
  let out = ''
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte >= 0x21 && byte <= 0x7e && byte !== 0x3b && byte !== 0x3d ? String.fromCharCode(byte) : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** Decodes DKIM-Quoted-Printable; FWS is dropped. Returns undefined for a bad `=XX`. */
export function decodeDkimQuotedPrintable(text: string): string | undefined {
  const bytes: number[] = []
  const source = stripFws(text)
  for (let i = 0; i < source.length; i++) {
    const char = source[i]!
    if (char !== '=') {
      bytes.push(source.charCodeAt(i))
      continue
    }
    const hex = source.slice(i + 1, i + 3)
    if (!/^[0-9A-F]{2}$/.test(hex)) return undefined
    bytes.push(Number.parseInt(hex, 16))
    i += 2
  }
  return Buffer.from(bytes).toString('utf8')
}

const ALGORITHMS: ReadonlySet<string> = new Set(['rsa-sha256', 'ed25519-sha256'])

function required(tags: Map<string, Tag>, name: string, partial: object): string {
  const tag = tags.get(name)
  if (!tag) throw new SignatureSyntaxError(`signature has no ${name}= tag`, partial)
  return tag.value
}

function decimal(tags: Map<string, Tag>, name: string, maxDigits: number, partial: object): number | undefined {
  const tag = tags.get(name)
  if (!tag) return undefined
  if (!new RegExp(`^[0-9]{1,${maxDigits}}$`).test(tag.value)) {
    throw new SignatureSyntaxError(`signature ${name}= must be at most ${maxDigits} decimal digits, got ${JSON.stringify(tag.value)}`, partial)
  }
  return Number(tag.value)
}

/**
 * Parses and checks the value of a DKIM-Signature field (RFC 6376 §3.5, §6.1.1): required tags
 * present, `v=1`, a known algorithm (`rsa-sha1` is refused per RFC 8301), `h=` including From,
 * `i=` within `d=`, `q=` offering `dns/txt`, `x=` after `t=`, base64 `b=`/`bh=`. Throws a
 * SignatureSyntaxError whose message is the reason.
 */
export function parseSignatureField(field: HeaderField): SignatureTags {
  const text = field.raw.toString('latin1', field.colon + 1, field.raw.length - 2)
  let tags: Map<string, Tag>
  try {
    tags = parseTagList(text)
  } catch (err) {
    if (err instanceof TagListError) throw new SignatureSyntaxError(`malformed signature: ${err.message}`, {})
    throw err
  }
  const partial = { domain: tags.get('d')?.value ?? '', selector: tags.get('s')?.value ?? '', algorithm: tags.get('a')?.value ?? '' }
  const version = required(tags, 'v', partial)
  if (version !== '1') throw new SignatureSyntaxError(`unsupported signature version v=${version}`, partial)
  const algorithm = required(tags, 'a', partial)
  if (algorithm === 'rsa-sha1') throw new SignatureSyntaxError('rsa-sha1 signatures are not accepted (RFC 8301)', partial)
  if (!ALGORITHMS.has(algorithm)) throw new SignatureSyntaxError(`unsupported signature algorithm a=${algorithm}`, partial)
  const domain = required(tags, 'd', partial).toLowerCase()
  if (!LENIENT_DOMAIN.test(domain)) throw new SignatureSyntaxError(`signature d= is not a domain name: ${JSON.stringify(domain)}`, partial)
  const selector = required(tags, 's', partial)
  if (!LENIENT_DOMAIN.test(selector)) throw new SignatureSyntaxError(`signature s= is not a selector: ${JSON.stringify(selector)}`, partial)
  const canonicalization = parseCanonicalization(tags.get('c')?.value ?? 'simple/simple')
  if (!canonicalization) throw new SignatureSyntaxError(`unknown canonicalization c=${tags.get('c')!.value}`, partial)
  const signedHeaders = splitColonList(required(tags, 'h', partial))
  if (!signedHeaders.every(isFieldName)) throw new SignatureSyntaxError('signature h= has an invalid header name', partial)
  // RFC 6376 §5.4 and §6.1.1: a signature that does not cover From proves nothing about it.
  if (!signedHeaders.some((name) => name.toLowerCase() === 'from')) throw new SignatureSyntaxError('From is not signed (h= lacks from)', partial)
  const bodyHash = stripFws(required(tags, 'bh', partial))
  if (!isBase64(bodyHash) || bodyHash === '') throw new SignatureSyntaxError('signature bh= is not base64', partial)
  const signatureTag = tags.get('b')
  const signature = stripFws(required(tags, 'b', partial))
  if (!isBase64(signature) || signature === '') throw new SignatureSyntaxError('signature b= is not base64', partial)
  let identity = `@${domain}`
  const i = tags.get('i')
  if (i) {
    const decoded = decodeDkimQuotedPrintable(i.value)
    const at = decoded?.lastIndexOf('@') ?? -1
    if (decoded === undefined || at === -1) throw new SignatureSyntaxError(`signature i= is not an identity: ${JSON.stringify(i.value)}`, partial)
    if (!isSameOrSubdomain(decoded.slice(at + 1), domain)) throw new SignatureSyntaxError('signature i= domain is not d= or a subdomain of it', partial)
    identity = decoded
  }
  const q = tags.get('q')
  if (q && !splitColonList(q.value).some((method) => method === 'dns/txt')) {
    throw new SignatureSyntaxError(`unsupported key query method q=${q.value}`, partial)
  }
  const bodyLength = decimal(tags, 'l', 76, partial)
  const timestamp = decimal(tags, 't', 12, partial)
  const expires = decimal(tags, 'x', 12, partial)
  if (timestamp !== undefined && expires !== undefined && expires <= timestamp) {
    throw new SignatureSyntaxError('signature x= is not after t=', partial)
  }
  return {
    algorithm: algorithm as DkimAlgorithm,
    headerCanonicalization: canonicalization.header,
    bodyCanonicalization: canonicalization.body,
    domain,
    selector,
    identity,
    signedHeaders,
    bodyHash: Buffer.from(bodyHash, 'base64'),
    signature: Buffer.from(signature, 'base64'),
    bodyLength,
    timestamp,
    expires,
    signatureTag: { ...signatureTag!, start: signatureTag!.start + field.colon + 1, end: signatureTag!.end + field.colon + 1 },
  }
}

/**
 * Returns the field with the value of its `b=` tag removed (RFC 6376 §3.7), as it is hashed:
 * `tag` locates the value in `field.raw`. The value goes with all whitespace around it, from
 * just after `=` up to the `;` or the end of the field, as §3.7 says and as OpenDKIM and mailauth
 * do. The field's final CRLF stays.
 */
export function blankSignatureValue(field: HeaderField, tag: Tag): HeaderField {
  const end = Math.min(tag.end, field.raw.length - 2)
  const raw = Buffer.concat([field.raw.subarray(0, tag.start), field.raw.subarray(end)])
  return { ...field, raw }
}

const WIDTH = 78

/**
 * Builds a header field folded at 78 columns where it can (RFC 5322 §2.1.1), continuation lines
 * starting with one space. Words are never split; `breakable` text (base64) may be.
 */
export class FoldedHeader {
  readonly #lines: string[] = []
  #line: string

  constructor(name: string) {
    this.#line = `${name}:`
  }

  /** Adds an unbreakable word, after a space when `spaced`, keeping `reserve` columns after it. */
  word(text: string, spaced = true, reserve = 0): void {
    const separator = spaced ? ' ' : ''
    if (this.#line.length + separator.length + text.length + reserve <= WIDTH) {
      this.#line += separator + text
    } else {
      this.#lines.push(this.#line)
      this.#line = ` ${text}`
    }
  }

  /** Adds text that may be broken anywhere by FWS, such as a base64 value. */
  breakable(text: string): void {
    let rest = text
    while (rest.length > 0) {
      let room = WIDTH - this.#line.length
      if (room <= 0) {
        this.#lines.push(this.#line)
        this.#line = ' '
        room = WIDTH - 1
      }
      this.#line += rest.slice(0, room)
      rest = rest.slice(room)
    }
  }

  /** The field so far, lines joined with CRLF, without a final CRLF. */
  toString(): string {
    return [...this.#lines, this.#line].join('\r\n')
  }
}
