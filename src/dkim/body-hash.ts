import { createHash, type Hash } from 'node:crypto'
import { createBodyCanonicalizer, type BodyCanonicalizer, type CanonicalizationAlgorithm } from './canonicalize.ts'

/**
 * Computes a DKIM body hash (`bh=`, RFC 6376 §3.7) while the body streams past: canonicalizes
 * each chunk and feeds SHA-256, counting the canonical length. With `maxLength` (the `l=` tag)
 * only that many canonical octets are hashed; the count still covers the whole body, so a
 * verifier can tell when `l=` claims more than there is.
 */
export class BodyHasher {
  readonly #hash: Hash
  readonly #canonicalizer: BodyCanonicalizer
  readonly #maxLength: number
  #length = 0
  #digest: Buffer | undefined

  constructor(algorithm: CanonicalizationAlgorithm, maxLength = Number.POSITIVE_INFINITY) {
    this.#hash = createHash('sha256')
    this.#maxLength = maxLength
    this.#canonicalizer = createBodyCanonicalizer(algorithm, (bytes) => {
      const room = this.#maxLength - this.#length
      if (room > 0) this.#hash.update(room >= bytes.length ? bytes : bytes.subarray(0, room))
      this.#length += bytes.length
    })
  }

  /** Takes the next body chunk. */
  update(chunk: Uint8Array): void {
    this.#canonicalizer.update(chunk)
  }

  /** Ends the body and returns the digest; later calls return the same digest. */
  digest(): Buffer {
    if (!this.#digest) {
      this.#canonicalizer.end()
      this.#digest = this.#hash.digest()
    }
    return this.#digest
  }

  /** The canonical body length in octets, whole body; final after `digest()`. */
  get length(): number {
    return this.#length
  }
}
