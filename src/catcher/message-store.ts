import { existsSync, watch, type FSWatcher } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { describeDelivery, Maildir, splitName, type MaildirEntry } from './maildir.ts'

/** A stored message as the catcher indexes it. */
export interface StoredMessage {
  readonly id: string
  readonly size: number
  readonly receivedAt: Date
  readonly isSeen: boolean
}

/**
 * The largest message a catcher reads with {@link MessageStore.readAllSync}: a read of a few
 * cached kilobytes takes microseconds, a third of the round trip through libuv's thread pool.
 */
export const MAX_SYNC_READ_BYTES = 64 * 1024

/** Where a catcher keeps messages: a Maildir on disk, or memory for a test inbox. */
export interface MessageStore {
  /** Stores `prefix` then `message`; resolves, durable, with the new message. */
  deliver(message: AsyncIterable<Uint8Array>, prefix: Uint8Array): Promise<StoredMessage & { readonly name: string; readonly bytes: number }>
  /** Every message already stored, newest first. */
  scan(): Promise<StoredMessage[]>
  readHead(id: string, maxBytes: number): Promise<Buffer>
  /** Rejects when the message is gone (never throws: a removal can race any read). */
  readAll(id: string): Promise<Buffer>
  /** Reads a small message at once (see {@link MAX_SYNC_READ_BYTES}); throws when it is gone. */
  readAllSync(id: string): Buffer
  /** The message's bytes; the stream errors when the message is gone (the call never throws). */
  stream(id: string): Readable
  setSeen(id: string, isSeen: boolean): Promise<void>
  remove(id: string): Promise<void>
  /**
   * Calls `onChange` when something else may have changed the store (a file written, renamed
   * or removed by another process); {@link sync} then says what. Absent for a store only this
   * process writes.
   */
  watch?(onChange: () => void): { close(): void }
  /** What changed in the store since it was last scanned or synced, by others than this object. */
  sync?(): Promise<StoreChanges>
}

/** What {@link MessageStore.sync} found. */
export interface StoreChanges {
  readonly added: readonly StoredMessage[]
  readonly removed: readonly string[]
  /** Messages whose seen flag another process changed. */
  readonly seen: readonly { readonly id: string; readonly isSeen: boolean }[]
}

/**
 * A Maildir as a {@link MessageStore}: ids are the unique part of file names. Files another
 * process delivers, renames or removes are found by {@link sync}; {@link watch} says when to look.
 */
export class MaildirStore implements MessageStore {
  readonly maildir: Maildir
  // id -> `new/NAME` or `cur/NAME:2,FLAGS`; only ids found here reach the file system, so no
  // request can name a path outside the Maildir.
  readonly #files = new Map<string, string>()
  // Our own changes, which a sync must not mistake for someone else's: each operation's id is
  // stamped when it starts and ends, and a sync leaves alone what was stamped since it began.
  readonly #stamps = new Map<string, number>()
  readonly #busy = new Set<string>()
  #clock = 0

  constructor(root: string) {
    this.maildir = new Maildir(root)
  }

  async deliver(message: AsyncIterable<Uint8Array>, prefix: Uint8Array): Promise<StoredMessage & { name: string; bytes: number }> {
    const name = this.maildir.uniqueName()
    return this.#change(name, async () => {
      const delivery = await this.maildir.deliver(message, prefix, name)
      const entry = describeDelivery(delivery)
      this.#files.set(entry.id, entry.file)
      return { ...toStored(entry), name: delivery.name, bytes: delivery.bytes }
    })
  }

  async scan(): Promise<StoredMessage[]> {
    await this.maildir.init()
    const entries = await this.maildir.scan()
    for (const entry of entries) this.#files.set(entry.id, entry.file)
    return entries.map(toStored)
  }

  readHead(id: string, maxBytes: number): Promise<Buffer> {
    const file = this.#files.get(id)
    return file === undefined ? Promise.reject(noMessage(id)) : this.maildir.readHead(file, maxBytes)
  }

  readAll(id: string): Promise<Buffer> {
    const file = this.#files.get(id)
    return file === undefined ? Promise.reject(noMessage(id)) : this.maildir.readAll(file)
  }

  readAllSync(id: string): Buffer {
    return this.maildir.readAllSync(this.#file(id))
  }

  stream(id: string): Readable {
    const file = this.#files.get(id)
    return file === undefined ? failedStream(noMessage(id)) : this.maildir.stream(file)
  }

  async setSeen(id: string, isSeen: boolean): Promise<void> {
    await this.#change(id, async () => void this.#files.set(id, await this.maildir.setSeen(this.#file(id), isSeen)))
  }

  async remove(id: string): Promise<void> {
    const file = this.#files.get(id)
    if (file === undefined) return
    await this.#change(id, async () => {
      this.#files.delete(id)
      await this.maildir.remove(file)
    })
  }

  async sync(): Promise<StoreChanges> {
    const began = this.#clock
    const onDisk = new Map<string, string>()
    for (const file of await this.maildir.list()) onDisk.set(splitName(file.slice(4)).id, file)
    const isOurs = (id: string): boolean => this.#busy.has(id) || (this.#stamps.get(id) ?? -1) >= began
    const fresh: string[] = []
    const seen: { id: string; isSeen: boolean }[] = []
    for (const [id, file] of onDisk) {
      if (isOurs(id)) continue
      const known = this.#files.get(id)
      if (known === undefined) {
        fresh.push(file)
      } else if (known !== file) {
        this.#files.set(id, file)
        const isSeen = isSeenName(file)
        if (isSeen !== isSeenName(known)) seen.push({ id, isSeen })
      }
    }
    const removed: string[] = []
    for (const id of this.#files.keys()) if (!onDisk.has(id) && !isOurs(id)) removed.push(id)
    for (const id of removed) this.#files.delete(id)
    const added: StoredMessage[] = []
    for (const entry of await this.maildir.describe(fresh)) {
      if (isOurs(entry.id) || this.#files.has(entry.id)) continue
      this.#files.set(entry.id, entry.file)
      added.push(toStored(entry))
    }
    for (const [id, stamp] of this.#stamps) if (stamp < began) this.#stamps.delete(id)
    return { added, removed, seen }
  }

  watch(onChange: () => void): { close(): void } {
    const watchers: FSWatcher[] = []
    for (const sub of ['new', 'cur']) {
      const watcher = watch(join(this.maildir.root, sub), { persistent: false }, (_, name) => this.#noticed(sub, name, onChange))
      // A watch that fails (the directory removed, too many watches) leaves the periodic rescan.
      watcher.on('error', () => watcher.close())
      watchers.push(watcher)
    }
    return { close: () => watchers.forEach((watcher) => watcher.close()) }
  }

  // A file event: our own files in their place need no sync, unless one of them has gone.
  #noticed(sub: string, name: string | Buffer | null, onChange: () => void): void {
    if (typeof name !== 'string') return onChange()
    const id = splitName(name).id
    if (this.#busy.has(id)) return
    const file = `${sub}/${name}`
    if (this.#files.get(id) !== file) return onChange()
    // Ours, where we put it, unless someone removed it: a synchronous check of a cached directory
    // entry costs microseconds, a thread-pool round trip per delivered message several times that.
    if (!existsSync(join(this.maildir.root, file))) onChange()
  }

  async #change<T>(id: string, operation: () => Promise<T>): Promise<T> {
    const stampId = splitName(id).id
    this.#busy.add(stampId)
    this.#stamps.set(stampId, ++this.#clock)
    try {
      return await operation()
    } finally {
      this.#busy.delete(stampId)
      this.#stamps.set(stampId, ++this.#clock)
    }
  }

  #file(id: string): string {
    const file = this.#files.get(id)
    if (file === undefined) throw noMessage(id)
    return file
  }
}

function isSeenName(file: string): boolean {
  return splitName(file.slice(4)).flags.includes('S')
}

function toStored(entry: MaildirEntry): StoredMessage {
  return { id: entry.id, size: entry.size, receivedAt: entry.receivedAt, isSeen: entry.isSeen }
}

/** Messages kept in memory only, for a test inbox that writes nothing to disk. */
export class MemoryStore implements MessageStore {
  readonly #messages = new Map<string, Buffer>()
  #counter = 0

  async deliver(message: AsyncIterable<Uint8Array>, prefix: Uint8Array): Promise<StoredMessage & { name: string; bytes: number }> {
    const chunks: Uint8Array[] = [prefix]
    for await (const chunk of message) chunks.push(chunk)
    const bytes = Buffer.concat(chunks)
    const id = `${Date.now()}.${++this.#counter}`
    this.#messages.set(id, bytes)
    return { id, name: id, bytes: bytes.length, size: bytes.length, receivedAt: new Date(), isSeen: false }
  }

  async scan(): Promise<StoredMessage[]> {
    return []
  }

  async readHead(id: string, maxBytes: number): Promise<Buffer> {
    return this.#bytes(id).subarray(0, maxBytes)
  }

  async readAll(id: string): Promise<Buffer> {
    return this.#bytes(id)
  }

  readAllSync(id: string): Buffer {
    return this.#bytes(id)
  }

  stream(id: string): Readable {
    const bytes = this.#messages.get(id)
    return bytes === undefined ? failedStream(noMessage(id)) : Readable.from([bytes])
  }

  async setSeen(): Promise<void> {}

  async remove(id: string): Promise<void> {
    this.#messages.delete(id)
  }

  #bytes(id: string): Buffer {
    const bytes = this.#messages.get(id)
    if (bytes === undefined) throw noMessage(id)
    return bytes
  }
}

function noMessage(id: string): Error {
  return new Error(`no message ${id}: it was removed before it could be read`)
}

// A stream that fails on its first read, for a message removed before it was opened.
function failedStream(error: Error): Readable {
  return new Readable({
    read() {
      this.destroy(error)
    },
  })
}
