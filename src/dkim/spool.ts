import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises'
import { tmpdir } from 'node:os'

/** Where and when a Spool moves from memory to a file. */
export interface SpoolOptions {
  /** Directory for the temporary file; default `os.tmpdir()`. */
  readonly tmpDir?: string | undefined
  /** Bytes kept in memory before spilling to a file. */
  readonly thresholdBytes: number
}

const PAGE_BYTES = 64 * 1024

/**
 * Keeps a copy of a one-shot stream so it can be read back once: in memory up to
 * `thresholdBytes`, then in a temporary file (a fresh `mkdtemp` directory of mode 0700, the file
 * 0600). Writes are copied into 64 KiB pages, so callers may reuse their chunks and the file gets
 * few large writes. Call `dispose()` in a `finally`: it closes and removes the file.
 */
export class Spool {
  readonly #tmpDir: string
  readonly #thresholdBytes: number
  readonly #pages: Buffer[] = []
  #page = Buffer.allocUnsafe(PAGE_BYTES)
  #pagePos = 0
  #size = 0
  #dir: string | undefined
  #file: FileHandle | undefined
  #fileSize = 0
  #disposed = false

  constructor(options: SpoolOptions) {
    this.#tmpDir = options.tmpDir ?? tmpdir()
    this.#thresholdBytes = options.thresholdBytes
  }

  /** The temporary file's path once the spool has spilled to disk. */
  get path(): string | undefined {
    return this.#dir === undefined ? undefined : `${this.#dir}/message`
  }

  /** Bytes written so far. */
  get size(): number {
    return this.#size
  }

  /** Appends a copy of `chunk`. */
  async write(chunk: Uint8Array): Promise<void> {
    let offset = 0
    while (offset < chunk.length) {
      const count = Math.min(PAGE_BYTES - this.#pagePos, chunk.length - offset)
      this.#page.set(chunk.subarray(offset, offset + count), this.#pagePos)
      this.#pagePos += count
      offset += count
      if (this.#pagePos === PAGE_BYTES) await this.#pageFull()
    }
    this.#size += chunk.length
  }

  /** Yields everything written, in order, in chunks of up to 64 KiB that the reader may keep. */
  async *read(): AsyncGenerator<Uint8Array> {
    if (!this.#file) {
      yield* this.#pages
      if (this.#pagePos > 0) yield this.#page.subarray(0, this.#pagePos)
      return
    }
    if (this.#pagePos > 0) await this.#append(this.#page.subarray(0, this.#pagePos))
    let position = 0
    while (position < this.#fileSize) {
      const buffer = Buffer.allocUnsafe(Math.min(PAGE_BYTES, this.#fileSize - position))
      const { bytesRead } = await this.#file.read(buffer, 0, buffer.length, position)
      if (bytesRead === 0) throw new Error(`DKIM spool file ${this.path} ended early at byte ${position}`)
      position += bytesRead
      yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead)
    }
  }

  /** Closes and deletes the temporary file, if any. Safe to call more than once. */
  async dispose(): Promise<void> {
    if (this.#disposed) return
    this.#disposed = true
    this.#pages.length = 0
    const file = this.#file
    const dir = this.#dir
    this.#file = undefined
    try {
      await file?.close()
    } finally {
      if (dir !== undefined) await rm(dir, { recursive: true, force: true })
    }
  }

  async #pageFull(): Promise<void> {
    if (this.#file) {
      await this.#append(this.#page)
      this.#pagePos = 0
      return
    }
    this.#pages.push(this.#page)
    this.#page = Buffer.allocUnsafe(PAGE_BYTES)
    this.#pagePos = 0
    if ((this.#pages.length * PAGE_BYTES) > this.#thresholdBytes) await this.#spill()
  }

  async #spill(): Promise<void> {
    if (this.#disposed) throw new Error('DKIM spool used after dispose()')
    this.#dir = await mkdtemp(`${this.#tmpDir.replace(/[\\/]+$/, '')}/smtpkit-dkim-`)
    this.#file = await open(`${this.#dir}/message`, 'wx+', 0o600)
    for (const page of this.#pages) await this.#append(page)
    this.#pages.length = 0
  }

  async #append(bytes: Uint8Array): Promise<void> {
    let offset = 0
    while (offset < bytes.length) {
      const { bytesWritten } = await this.#file!.write(bytes, offset, bytes.length - offset, this.#fileSize)
      offset += bytesWritten
      this.#fileSize += bytesWritten
    }
  }
}
