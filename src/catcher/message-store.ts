import { Readable } from 'node:stream'
import { describeDelivery, Maildir, type MaildirEntry } from './maildir.ts'

/** A stored message as the catcher indexes it. */
export interface StoredMessage {
  readonly id: string
  readonly size: number
  readonly receivedAt: Date
  readonly isSeen: boolean
}

/** Where a catcher keeps messages: a Maildir on disk, or memory for a test inbox. */
export interface MessageStore {
  /** Stores `prefix` then `message`; resolves, durable, with the new message. */
  deliver(message: AsyncIterable<Uint8Array>, prefix: Uint8Array): Promise<StoredMessage & { readonly name: string; readonly bytes: number }>
  /** Every message already stored, newest first. */
  scan(): Promise<StoredMessage[]>
  readHead(id: string, maxBytes: number): Promise<Buffer>
  readAll(id: string): Promise<Buffer>
  stream(id: string): Readable
  setSeen(id: string, isSeen: boolean): Promise<void>
  remove(id: string): Promise<void>
}

/** A Maildir as a {@link MessageStore}: ids are the unique part of file names. */
export class MaildirStore implements MessageStore {
  readonly maildir: Maildir
  // id -> `new/NAME` or `cur/NAME:2,FLAGS`; only ids found here reach the file system, so no
  // request can name a path outside the Maildir.
  readonly #files = new Map<string, string>()

  constructor(root: string) {
    this.maildir = new Maildir(root)
  }

  async deliver(message: AsyncIterable<Uint8Array>, prefix: Uint8Array): Promise<StoredMessage & { name: string; bytes: number }> {
    const delivery = await this.maildir.deliver(message, prefix)
    const entry = describeDelivery(delivery)
    this.#files.set(entry.id, entry.file)
    return { ...toStored(entry), name: delivery.name, bytes: delivery.bytes }
  }

  async scan(): Promise<StoredMessage[]> {
    await this.maildir.init()
    const entries = await this.maildir.scan()
    for (const entry of entries) this.#files.set(entry.id, entry.file)
    return entries.map(toStored)
  }

  readHead(id: string, maxBytes: number): Promise<Buffer> {
    return this.maildir.readHead(this.#file(id), maxBytes)
  }

  readAll(id: string): Promise<Buffer> {
    return this.maildir.readAll(this.#file(id))
  }

  stream(id: string): Readable {
    return this.maildir.stream(this.#file(id))
  }

  async setSeen(id: string, isSeen: boolean): Promise<void> {
    this.#files.set(id, await this.maildir.setSeen(this.#file(id), isSeen))
  }

  async remove(id: string): Promise<void> {
    const file = this.#files.get(id)
    if (file === undefined) return
    this.#files.delete(id)
    await this.maildir.remove(file)
  }

  #file(id: string): string {
    const file = this.#files.get(id)
    if (file === undefined) throw new Error(`no message ${id}`)
    return file
  }
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

  stream(id: string): Readable {
    return Readable.from([this.#bytes(id)])
  }

  async setSeen(): Promise<void> {}

  async remove(id: string): Promise<void> {
    this.#messages.delete(id)
  }

  #bytes(id: string): Buffer {
    const bytes = this.#messages.get(id)
    if (bytes === undefined) throw new Error(`no message ${id}`)
    return bytes
  }
}
