// Where a kept part body is decoded to: one buffer, decoded into directly, that grows as the body
// arrives. MIME gives no length before a part's closing boundary, so the buffer cannot be sized
// up front. Collecting chunks and concatenating them at the end, or growing by copying, writes
// every byte twice and touches twice the fresh memory: for a 50 MB attachment that was most of
// the parse time (fresh pages cost a page fault each). Small bodies grow by copying, which is
// cheap; past LARGE_BYTES the buffer becomes a resizable ArrayBuffer, which reserves address
// space up to a maximum and commits pages as it grows: it never moves, so nothing is copied again.

// Resizable ArrayBuffers (ES2024) are in every Node this package supports, not yet in its lib.
interface ResizableArrayBuffer extends ArrayBuffer {
  readonly maxByteLength: number
  resize(byteLength: number): void
}
const ResizableArrayBuffer = ArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => ResizableArrayBuffer

/** A body past this size moves to a resizable ArrayBuffer. */
const LARGE_BYTES = 1024 * 1024

/** A growable byte buffer that decoders write into; `take()` gives the bytes as one Buffer. */
export class ContentBuffer {
  // The most bytes a resizable buffer may be given room for: the decoded-size budget left.
  readonly #limit: number
  #bytes: Buffer = Buffer.alloc(0)
  #resizable: ResizableArrayBuffer | undefined
  /** How many bytes are written. */
  length = 0

  /** `limit`: the most bytes the body may come to (room past it may still be asked for, and is given by copying). */
  constructor(limit: number) {
    this.#limit = limit
  }

  /** A buffer with room for `more` bytes after `length`, to write into; set `length` after writing. */
  room(more: number): Buffer {
    const needed = this.length + more
    if (needed <= this.#bytes.length) return this.#bytes
    const resizable = this.#resizable
    if (resizable !== undefined && needed <= resizable.maxByteLength) {
      // Grow by a quarter at least: few resizes, and at most a quarter of the room unused
      // (reserved, never touched, so never resident).
      resizable.resize(Math.min(resizable.maxByteLength, Math.max(needed, resizable.byteLength + (resizable.byteLength >>> 2))))
      this.#bytes = Buffer.from(resizable)
      return this.#bytes
    }
    const grown = this.#allocate(needed)
    this.#bytes.copy(grown, 0, 0, this.length)
    this.#bytes = grown
    return grown
  }

  /** The bytes written, as a view of the buffer written into: for reading them at once, before anything else is written. */
  view(): Buffer {
    return this.#bytes.subarray(0, this.length)
  }

  /** The bytes written, as one Buffer (a view of the buffer written into when most of it is used). */
  take(): Buffer {
    const bytes = this.#bytes.subarray(0, this.length)
    // A small body in a much larger buffer gets a buffer of its own, so that the rest is freed.
    return this.#resizable === undefined && this.length < this.#bytes.length >>> 1 ? Buffer.from(bytes) : bytes
  }

  #allocate(needed: number): Buffer {
    if (needed > LARGE_BYTES && this.#resizable === undefined) {
      const maxByteLength = Math.max(needed, Math.min(this.#limit, MAX_RESERVED_BYTES))
      try {
        this.#resizable = new ResizableArrayBuffer(needed, { maxByteLength })
        return Buffer.from(this.#resizable)
      } catch {
        // No address space to reserve (or no resizable ArrayBuffers): grow by copying.
      }
    }
    this.#resizable = undefined
    // The first buffer is the size asked for: a small body (under 4 KiB) is then a slice of
    // Node's shared pool rather than an ArrayBuffer of its own, which costs more to make and to collect.
    return Buffer.allocUnsafe(this.#bytes.length === 0 ? needed : Math.max(needed, this.#bytes.length * 2))
  }
}

// Reserving address space costs nothing until it is used, but is not unlimited (ulimit -v, 32-bit
// hosts): past this, a body grows by copying.
const MAX_RESERVED_BYTES = 2 ** 32
