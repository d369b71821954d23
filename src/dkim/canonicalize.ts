import type { HeaderField } from './header-fields.ts'
import { emitCrlfs, RelaxedBodyCanonicalizer } from './relaxed-body.ts'

export { RelaxedBodyCanonicalizer }

/** A DKIM canonicalization algorithm (RFC 6376 §3.4). */
export type CanonicalizationAlgorithm = 'simple' | 'relaxed'

/** The `c=` value: header algorithm, then body algorithm. */
export type Canonicalization = `${CanonicalizationAlgorithm}/${CanonicalizationAlgorithm}`

/** Receives canonicalized bytes. It must use them before returning: the buffer may be reused. */
export type ByteSink = (bytes: Uint8Array) => void

/**
 * A streaming body canonicalizer: `update()` with the body in order, in chunks split anywhere,
 * then `end()` once. The output reaches the sink in order and is the same for any split.
 */
export interface BodyCanonicalizer {
  update(chunk: Uint8Array): void
  end(): void
}

const CR = 0x0d
const LF = 0x0a
const SP = 0x20
const HTAB = 0x09
const CRLF = Buffer.from('\r\n')
const CR_ONLY = Buffer.from('\r')

/** Returns a streaming body canonicalizer for `algorithm` that writes to `sink`. */
export function createBodyCanonicalizer(algorithm: CanonicalizationAlgorithm, sink: ByteSink): BodyCanonicalizer {
  return algorithm === 'simple' ? new SimpleBodyCanonicalizer(sink) : new RelaxedBodyCanonicalizer(sink)
}

/**
 * The `simple` body algorithm (RFC 6376 §3.4.3): the body as is, except that empty lines at the
 * end are dropped and the body ends with exactly one CRLF (an empty body becomes one CRLF).
 * Only the trailing run of CRLFs is held back, as a count.
 */
export class SimpleBodyCanonicalizer implements BodyCanonicalizer {
  readonly #sink: ByteSink
  #pendingCrlfs = 0
  #pendingCr = false

  constructor(sink: ByteSink) {
    this.#sink = sink
  }

  update(chunk: Uint8Array): void {
    let start = 0
    if (this.#pendingCr && chunk.length > 0) {
      this.#pendingCr = false
      if (chunk[0] === LF) {
        this.#pendingCrlfs++
        start = 1
      } else {
        this.#content(CR_ONLY)
      }
    }
    let end = chunk.length
    if (end > start && chunk[end - 1] === CR) {
      this.#pendingCr = true
      end--
    }
    let trailing = 0
    while (end - start >= 2 && chunk[end - 1] === LF && chunk[end - 2] === CR) {
      trailing++
      end -= 2
    }
    if (end > start) {
      this.#content(chunk.subarray(start, end))
      this.#pendingCrlfs = trailing
    } else {
      this.#pendingCrlfs += trailing
    }
  }

  end(): void {
    if (this.#pendingCr) this.#content(CR_ONLY)
    // Whatever came before, the canonical body ends with one CRLF: the last line's own, or the
    // one §3.4.3 adds to a body without a trailing CRLF or with no body at all.
    this.#sink(CRLF)
  }

  #content(bytes: Uint8Array): void {
    emitCrlfs(this.#sink, this.#pendingCrlfs)
    this.#pendingCrlfs = 0
    this.#sink(bytes)
  }
}

function isWsp(byte: number | undefined): boolean {
  return byte === SP || byte === HTAB
}

function lowerAscii(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte
}

/**
 * The `relaxed` header algorithm (RFC 6376 §3.4.2) for one field: name lower-cased, value
 * unfolded, WSP runs reduced to one SP, WSP around the colon and at the end removed. Returns
 * `name:value` followed by CRLF.
 */
export function canonicalizeHeaderRelaxed(field: HeaderField): Buffer {
  const raw = field.raw
  const colon = field.colon
  let nameEnd = colon
  while (nameEnd > 0 && isWsp(raw[nameEnd - 1])) nameEnd--
  const out = Buffer.allocUnsafe(raw.length + 2)
  let pos = 0
  for (let i = 0; i < nameEnd; i++) out[pos++] = lowerAscii(raw[i]!)
  out[pos++] = 0x3a
  const valueStart = pos
  let pendingWsp = false
  for (let i = colon + 1; i < raw.length; i++) {
    const byte = raw[i]!
    if (byte === CR && raw[i + 1] === LF) {
      i++
      continue
    }
    if (isWsp(byte)) {
      pendingWsp = true
      continue
    }
    if (pendingWsp && pos > valueStart) out[pos++] = SP
    pendingWsp = false
    out[pos++] = byte
  }
  out[pos++] = CR
  out[pos++] = LF
  return out.subarray(0, pos)
}

/** The `simple` header algorithm (RFC 6376 §3.4.1): the field exactly as it is, with its CRLF. */
export function canonicalizeHeaderSimple(field: HeaderField): Buffer {
  return field.raw
}

/** Canonicalizes one header field with `algorithm`, ending in CRLF. */
export function canonicalizeHeader(algorithm: CanonicalizationAlgorithm, field: HeaderField): Buffer {
  return algorithm === 'simple' ? canonicalizeHeaderSimple(field) : canonicalizeHeaderRelaxed(field)
}

/** Parses a `c=` value; a lone algorithm means that header algorithm with `simple` body (§3.5). */
export function parseCanonicalization(value: string): { header: CanonicalizationAlgorithm; body: CanonicalizationAlgorithm } | undefined {
  const [header, body = 'simple', ...rest] = value.split('/')
  if (rest.length > 0) return undefined
  if ((header !== 'simple' && header !== 'relaxed') || (body !== 'simple' && body !== 'relaxed')) return undefined
  return { header, body }
}

/**
 * The data a DKIM signature covers (RFC 6376 §3.7): the signed fields, each canonicalized and
 * ending in CRLF, then the DKIM-Signature field itself (its `b=` value already blanked),
 * canonicalized and without its final CRLF.
 */
export function headerHashInput(algorithm: CanonicalizationAlgorithm, signedFields: readonly HeaderField[], signatureField: HeaderField): Buffer {
  const parts = signedFields.map((field) => canonicalizeHeader(algorithm, field))
  const own = canonicalizeHeader(algorithm, signatureField)
  parts.push(own.subarray(0, own.length - 2))
  return Buffer.concat(parts)
}
