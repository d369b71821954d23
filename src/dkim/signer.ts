import { signHeaderData } from './algorithm.ts'
import { BodyHasher } from './body-hash.ts'
import { headerHashInput, type CanonicalizationAlgorithm } from './canonicalize.ts'
import { HeaderBlockSplitter, parseHeaderFields, selectSignedFields, type HeaderField } from './header-fields.ts'
import { dkimSignDefaults, prepareSignatures, type DkimSignOptions, type PreparedSignature } from './sign-options.ts'
import { FoldedHeader } from './signature-header.ts'

/** Limits for a DkimSigner. */
export interface DkimSignerOptions {
  /** Largest header block accepted, as bytes; default 1 MiB. */
  readonly maxHeaderBytes?: number
}

const CR = 0x0d
const LF = 0x0a

/**
 * Refuses bare CR and bare LF anywhere in the message: RFC 6376 §5.3 wants them made CRLF before
 * signing, and a message that transport would fix up would no longer match its signature.
 */
class LineEndingCheck {
  #offset = 0
  #lastWasCr = false

  update(chunk: Uint8Array): void {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    if (this.#lastWasCr && bytes.length > 0 && bytes[0] !== LF) this.#fail('CR', -1)
    for (let i = bytes.indexOf(LF); i !== -1; i = bytes.indexOf(LF, i + 1)) {
      if (i === 0 ? !this.#lastWasCr : bytes[i - 1] !== CR) this.#fail('LF', i)
    }
    for (let i = bytes.indexOf(CR); i !== -1 && i < bytes.length - 1; i = bytes.indexOf(CR, i + 1)) {
      if (bytes[i + 1] !== LF) this.#fail('CR', i)
    }
    if (bytes.length > 0) this.#lastWasCr = bytes[bytes.length - 1] === CR
    this.#offset += bytes.length
  }

  end(): void {
    if (this.#lastWasCr) this.#fail('CR', -1)
  }

  #fail(kind: string, index: number): never {
    throw new TypeError(
      `cannot DKIM-sign: bare ${kind} at byte ${this.#offset + index}; the message must use CRLF line endings (RFC 6376 §5.3)`,
    )
  }
}

/**
 * Computes DKIM-Signature fields for a message fed to it in chunks: the low-level half of
 * `dkimSign`, with no I/O. Pass the whole message, split anywhere, to `update()`, then call
 * `finish()` once and put what it returns in front of the very same bytes.
 *
 * Memory is bounded: the header block (at most `maxHeaderBytes`) is kept, the body is only
 * hashed, once per body canonicalization whatever the number of signatures. Options are checked
 * and keys loaded in the constructor, which throws TypeError/RangeError for bad ones; `update()`
 * throws for a header block over the limit or a bare CR or LF, `finish()` for a message without
 * exactly one From or with a malformed header line.
 */
export class DkimSigner {
  readonly #signatures: PreparedSignature[]
  readonly #splitter: HeaderBlockSplitter
  readonly #hashers = new Map<CanonicalizationAlgorithm, BodyHasher>()
  readonly #lineEndings = new LineEndingCheck()
  #inBody = false
  #finished = false

  constructor(signatures: DkimSignOptions | readonly DkimSignOptions[], options: DkimSignerOptions = {}) {
    this.#signatures = prepareSignatures(signatures)
    const maxHeaderBytes = options.maxHeaderBytes ?? dkimSignDefaults.maxHeaderBytes
    if (!(Number.isSafeInteger(maxHeaderBytes) && maxHeaderBytes > 0)) throw new RangeError(`maxHeaderBytes must be a positive integer, got ${maxHeaderBytes}`)
    this.#splitter = new HeaderBlockSplitter(maxHeaderBytes)
    for (const signature of this.#signatures) {
      if (!this.#hashers.has(signature.body)) this.#hashers.set(signature.body, new BodyHasher(signature.body))
    }
  }

  /** Takes the next chunk of the message. */
  update(chunk: Uint8Array): void {
    if (this.#finished) throw new Error('DkimSigner: update() after finish()')
    this.#lineEndings.update(chunk)
    let body: Uint8Array | undefined = chunk
    if (!this.#inBody) {
      body = this.#splitter.push(chunk)
      if (body === undefined) return
      this.#inBody = true
    }
    if (body.length === 0) return
    for (const hasher of this.#hashers.values()) hasher.update(body)
  }

  /**
   * Ends the message and returns the DKIM-Signature fields, in the order the signatures were
   * given, each folded and ending in CRLF, to be put before the message.
   */
  finish(): string {
    if (this.#finished) throw new Error('DkimSigner: finish() called twice')
    this.#finished = true
    this.#lineEndings.end()
    const block = this.#splitter.block ?? this.#splitter.end()
    const { fields, problem } = parseHeaderFields(block)
    if (problem) throw new TypeError(`cannot DKIM-sign: ${problem}`)
    const fromCount = fields.filter((field) => field.key === 'from').length
    if (fromCount !== 1) {
      throw new TypeError(
        fromCount === 0
          ? 'cannot DKIM-sign a message without a From header field (RFC 6376 §5.4)'
          : `cannot DKIM-sign a message with ${fromCount} From header fields (RFC 5322 §3.6 allows one)`,
      )
    }
    const nowSeconds = Math.floor(Date.now() / 1000)
    return this.#signatures.map((signature) => this.#sign(signature, fields, nowSeconds)).join('')
  }

  #sign(signature: PreparedSignature, fields: readonly HeaderField[], nowSeconds: number): string {
    const hasher = this.#hashers.get(signature.body)!
    const bodyHash = hasher.digest().toString('base64')
    const names = signedNames(fields, signature)
    const time = signature.timestamp === undefined ? nowSeconds : signature.timestamp === false ? undefined : Math.floor(signature.timestamp.getTime() / 1000)
    const header = new FoldedHeader('DKIM-Signature')
    header.word('v=1;')
    header.word(`a=${signature.algorithm};`)
    header.word(`c=${signature.header}/${signature.body};`)
    header.word(`d=${signature.domain};`)
    header.word(`s=${signature.selector};`)
    if (signature.identity !== undefined) header.word(`i=${signature.identity};`)
    if (time !== undefined) header.word(`t=${time};`)
    if (signature.expiresInSeconds !== undefined) header.word(`x=${(time ?? nowSeconds) + signature.expiresInSeconds};`)
    if (signature.bodyLength) header.word(`l=${hasher.length};`)
    // FWS may follow each ":" of h= (RFC 6376 §3.5), so the list folds between names.
    names.forEach((name, index) => {
      const last = index === names.length - 1
      header.word(`${index === 0 ? 'h=' : ''}${name}${last ? ';' : ':'}`, index === 0)
    })
    header.word(`bh=${bodyHash};`)
    // Room for a few characters of the value after "b=", so the part signed below (which ends
    // at "b=") is exactly the start of the field as written.
    header.word('b=', true, 8)
    const unsigned = header.toString()
    const ownField: HeaderField = {
      name: 'DKIM-Signature',
      key: 'dkim-signature',
      raw: Buffer.from(`${unsigned}\r\n`, 'latin1'),
      colon: 'DKIM-Signature'.length,
    }
    const data = headerHashInput(signature.header, selectSignedFields(fields, names), ownField)
    header.breakable(signHeaderData(signature.algorithm, signature.key, data).toString('base64'))
    return `${header.toString()}\r\n`
  }
}

/**
 * The `h=` list for a message: each signed field once per instance, top to bottom, then each
 * over-signed name that occurs once more.
 */
function signedNames(fields: readonly HeaderField[], signature: PreparedSignature): string[] {
  const names: string[] = []
  const present = new Set<string>()
  for (const field of fields) {
    if (signature.signed.has(field.key)) {
      names.push(field.key)
      present.add(field.key)
    }
  }
  for (const name of present) if (signature.overSigned.has(name)) names.push(name)
  return names
}
