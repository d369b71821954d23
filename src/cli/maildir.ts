import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'

/** Where a delivered message landed. */
export interface MaildirDelivery {
  /** The file name in `new/`. */
  readonly name: string
  /** The full path of the delivered file. */
  readonly path: string
  /** Bytes written, prefix included. */
  readonly bytes: number
}

/**
 * A Maildir (`tmp/`, `new/`, `cur/`) that delivers durably: each message is written to `tmp/`,
 * fsynced, renamed into `new/`, and `new/` itself is fsynced before `deliver` resolves. A crash at
 * any moment therefore leaves either no file in `new/` or a complete one; only a resolved
 * delivery may be acknowledged with 250. A partial file is left only in `tmp/`, where Maildir
 * readers never look, and is removed when the write fails without a crash.
 */
export class Maildir {
  readonly root: string
  #counter = 0
  readonly #host: string

  constructor(root: string) {
    this.root = root
    // Maildir names may not contain '/' or ':' (the info separator); escape them as the spec says.
    this.#host = hostname().replace(/\//g, '\\057').replace(/:/g, '\\072')
  }

  /** Creates `tmp/`, `new/` and `cur/` (mode 0700) if they are missing. */
  async init(): Promise<void> {
    for (const sub of ['tmp', 'new', 'cur']) await mkdir(join(this.root, sub), { recursive: true, mode: 0o700 })
  }

  /**
   * Streams `prefix` (trace headers) and then `message` into a new file and moves it into `new/`.
   * Rejects, leaving nothing in `new/`, when the source or the disk fails.
   */
  async deliver(message: AsyncIterable<Uint8Array>, prefix?: Uint8Array): Promise<MaildirDelivery> {
    const name = this.#uniqueName()
    const tmpPath = join(this.root, 'tmp', name)
    const newPath = join(this.root, 'new', name)
    let file: FileHandle | undefined = await open(tmpPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600)
    let bytes = 0
    try {
      if (prefix && prefix.length > 0) bytes += await writeAll(file, prefix)
      for await (const chunk of message) bytes += await writeAll(file, chunk)
      await file.sync()
      await file.close()
      file = undefined
      await rename(tmpPath, newPath)
      await syncDirectory(join(this.root, 'new'))
    } catch (err) {
      await file?.close().catch(() => {})
      await unlink(tmpPath).catch(() => {})
      throw err
    }
    return { name, path: newPath, bytes }
  }

  // time.M<usec>P<pid>Q<n>R<random>.host: unique across processes and restarts (maildir(5)).
  #uniqueName(): string {
    const now = Date.now()
    const seconds = Math.floor(now / 1000)
    const micros = (now % 1000) * 1000
    return `${seconds}.M${micros}P${process.pid}Q${++this.#counter}R${randomBytes(4).toString('hex')}.${this.#host}`
  }
}

async function writeAll(file: FileHandle, chunk: Uint8Array): Promise<number> {
  let offset = 0
  while (offset < chunk.length) {
    const { bytesWritten } = await file.write(chunk, offset, chunk.length - offset)
    offset += bytesWritten
  }
  return chunk.length
}

// A rename is durable only once the directory entry is on disk (fsync of the directory).
async function syncDirectory(path: string): Promise<void> {
  const dir = await open(path, constants.O_RDONLY)
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}
