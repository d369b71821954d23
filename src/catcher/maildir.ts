import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { createReadStream, readFileSync, statSync } from 'node:fs'
import { mkdir, open, readdir, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'

/** Where a delivered message landed. */
export interface MaildirDelivery {
  /** The file name in `new/`. */
  readonly name: string
  /** The full path of the delivered file. */
  readonly path: string
  /** Bytes written, prefix included. */
  readonly bytes: number
}

/** A message found in `new/` or `cur/` by {@link Maildir.scan}. */
export interface MaildirEntry {
  /** The unique part of the file name (before `:2,`), stable when flags change. */
  readonly id: string
  /** `new/NAME` or `cur/NAME:2,FLAGS`, relative to the root. */
  readonly file: string
  /** Bytes on disk. */
  readonly size: number
  /** When it was delivered: from the name's time stamp, or the file's mtime for foreign names. */
  readonly receivedAt: Date
  /** The `S` (seen) flag is set (maildir(5)). */
  readonly isSeen: boolean
}

/** How old a file in `tmp/` must be to count as left by a killed delivery (maildir(5): 36 hours). */
export const STALE_TMP_MS = 36 * 60 * 60 * 1000

// Files stat'ed between two turns of the event loop while scanning.
const STAT_SLICE = 512

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

  /**
   * Creates `tmp/`, `new/` and `cur/` (mode 0700) if they are missing, and removes what a killed
   * delivery left in `tmp/` ({@link removeStaleTmp}).
   */
  async init(): Promise<void> {
    for (const sub of ['tmp', 'new', 'cur']) await mkdir(join(this.root, sub), { recursive: true, mode: 0o700 })
    await this.removeStaleTmp()
  }

  /**
   * Removes files in `tmp/` not modified for 36 hours: the partial files of deliveries that a kill
   * or crash cut short. maildir(5) sets that age, as qmail does; a delivery in progress is never
   * that old. Resolves with how many were removed.
   */
  async removeStaleTmp(now = Date.now()): Promise<number> {
    const tmp = join(this.root, 'tmp')
    let removed = 0
    for (const name of await readdir(tmp)) {
      const info = await stat(join(tmp, name)).catch(() => undefined)
      if (!info?.isFile() || now - info.mtimeMs <= STALE_TMP_MS) continue
      await this.remove(`tmp/${name}`)
      removed++
    }
    return removed
  }

  /**
   * Streams `prefix` (trace headers) and then `message` into a new file and moves it into `new/`,
   * named `name` ({@link uniqueName} by default). Rejects, leaving nothing in `new/`, when the
   * source or the disk fails.
   */
  async deliver(message: AsyncIterable<Uint8Array>, prefix?: Uint8Array, name = this.uniqueName()): Promise<MaildirDelivery> {
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

  /**
   * Lists every message in `new/` and `cur/` (files whose name starts with a dot are skipped,
   * as maildir(5) says), newest first.
   */
  async scan(): Promise<MaildirEntry[]> {
    return this.describe(await this.list())
  }

  /** The names (`new/NAME`, `cur/NAME:2,FLAGS`) of the messages in `new/` and `cur/`, unsorted, without a stat. */
  async list(): Promise<string[]> {
    const files: string[] = []
    for (const sub of ['new', 'cur']) {
      for (const name of await readdir(join(this.root, sub))) if (!name.startsWith('.')) files.push(`${sub}/${name}`)
    }
    return files
  }

  /**
   * Stats message files (as {@link list} names them), newest first; a file gone meanwhile is left
   * out. The stats are synchronous, in slices with the event loop let in between: a stat of a
   * directory entry the kernel has cached costs microseconds, a round trip through libuv's thread
   * pool several times that, and 10,000 of them are the start of `serve --ui`.
   */
  async describe(files: readonly string[]): Promise<MaildirEntry[]> {
    const entries: MaildirEntry[] = []
    for (let at = 0; at < files.length; at += STAT_SLICE) {
      if (at > 0) await new Promise((resolve) => setImmediate(resolve))
      for (const file of files.slice(at, at + STAT_SLICE)) {
        const info = statSync(join(this.root, file), { throwIfNoEntry: false })
        if (info?.isFile()) entries.push(describeFile(file, info.size, info.mtime))
      }
    }
    return entries.sort(newestFirst)
  }

  /** Reads up to `maxBytes` from the start of a message file (`file` as {@link MaildirEntry.file}). */
  async readHead(file: string, maxBytes: number): Promise<Buffer> {
    const handle = await open(join(this.root, file), constants.O_RDONLY)
    try {
      const buffer = Buffer.allocUnsafe(maxBytes)
      let length = 0
      while (length < maxBytes) {
        const { bytesRead } = await handle.read(buffer, length, maxBytes - length, length)
        if (bytesRead === 0) break
        length += bytesRead
      }
      return buffer.subarray(0, length)
    } finally {
      await handle.close()
    }
  }

  /** Reads a whole message file. */
  readAll(file: string): Promise<Buffer> {
    return readFile(join(this.root, file))
  }

  /** Reads a whole message file at once: for small files, where the thread pool's round trip costs more than the read. */
  readAllSync(file: string): Buffer {
    return readFileSync(join(this.root, file))
  }

  /** Streams a message file. */
  stream(file: string): Readable {
    return createReadStream(join(this.root, file))
  }

  /**
   * Sets or clears the `S` (seen) flag. A message leaves `new/` for `cur/` the first time (maildir(5)),
   * flags stay in ASCII order. Resolves with the file's new name.
   */
  async setSeen(file: string, isSeen: boolean): Promise<string> {
    const { id, flags } = splitName(file.slice(4))
    const kept = flags.filter((flag) => flag !== 'S')
    const target = `cur/${id}:2,${(isSeen ? [...kept, 'S'] : kept).sort().join('')}`
    if (target === file) return file
    await rename(join(this.root, file), join(this.root, target))
    return target
  }

  /** Deletes a message file; one already gone is not an error. */
  async remove(file: string): Promise<void> {
    await unlink(join(this.root, file)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error
    })
  }

  /** A new file name, `time.M<usec>P<pid>Q<n>R<random>.host`: unique across processes and restarts (maildir(5)). */
  uniqueName(): string {
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

/** The unique part and the flags of a Maildir file name (`ID:2,FLAGS`, maildir(5)). */
export function splitName(name: string): { id: string; flags: string[] } {
  const colon = name.indexOf(':2,')
  return colon === -1 ? { id: name, flags: [] } : { id: name.slice(0, colon), flags: [...name.slice(colon + 3)] }
}

// Names we (and most delivery agents) write start with seconds and microseconds: `1700000000.M123456P...`.
const TIME_NAME = /^(\d{1,12})\.M(\d{1,6})P/

function describeFile(file: string, size: number, mtime: Date): MaildirEntry {
  const { id, flags } = splitName(file.slice(4))
  const time = TIME_NAME.exec(id)
  const receivedAt = time ? new Date(Number(time[1]) * 1000 + Math.floor(Number(time[2]) / 1000)) : mtime
  return { id, file, size, receivedAt, isSeen: flags.includes('S') }
}

function newestFirst(a: MaildirEntry, b: MaildirEntry): number {
  return b.receivedAt.getTime() - a.receivedAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)
}

/** The {@link MaildirEntry} of a message just delivered into `new/`. */
export function describeDelivery(delivery: MaildirDelivery): MaildirEntry {
  return describeFile(`new/${delivery.name}`, delivery.bytes, new Date())
}
