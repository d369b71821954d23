import type { Readable } from 'node:stream'
import { ENVELOPE_FIELD, parseEnvelopeHeader, type CaughtEnvelope } from './envelope-header.ts'
import type { MessageStore } from './message-store.ts'
import { listMailboxes, type ApiAddress, type ParsedMail, type ParseMail } from './parsed-mail.ts'
import { matchesSearch, needsBody, parseSearchQuery, type SearchableText } from './search-query.ts'
import type { MessageSink } from './store-session.ts'

/** What the list shows of a message: its header and envelope, without parsing the body. */
export interface MessageSummary {
  readonly id: string
  readonly messageId: string
  readonly isSeen: boolean
  readonly from: ApiAddress | null
  readonly to: readonly ApiAddress[]
  readonly cc: readonly ApiAddress[]
  readonly bcc: readonly ApiAddress[]
  readonly replyTo: readonly ApiAddress[]
  readonly subject: string
  /** The `Date:` field, or null when missing or unreadable. */
  readonly date: Date | null
  /** When the catcher stored it. */
  readonly receivedAt: Date
  readonly size: number
  /**
   * Attachments: the exact count once the message has been parsed, before that 1 for a
   * `multipart/mixed` message and 0 otherwise.
   */
  readonly attachments: number
  readonly envelope: CaughtEnvelope | null
}

/** A change the catcher announces to subscribers (the page's live updates). */
export type CatcherEvent =
  | { readonly type: 'new'; readonly message: MessageSummary }
  | { readonly type: 'delete'; readonly ids: readonly string[] }
  | { readonly type: 'read'; readonly ids: readonly string[]; readonly isSeen: boolean }

/** A page of messages, newest first. */
export interface MessagePage {
  /** Messages stored. */
  readonly total: number
  readonly unread: number
  /** Messages that match the search (all when there is none). */
  readonly matched: number
  readonly start: number
  readonly messages: readonly MessageSummary[]
}

/** Options of {@link Catcher.open}. */
export interface CatcherOptions {
  readonly store: MessageStore
  readonly parse: ParseMail
  /** Keep only the newest N messages, deleting older ones as new ones arrive. Default: keep all. */
  readonly maxMessages?: number | undefined
}

interface Entry {
  readonly id: string
  readonly size: number
  readonly receivedAt: Date
  isSeen: boolean
  // The header block captured while the message was delivered, until it is parsed.
  headBytes: Buffer | undefined
  head: Promise<Head> | undefined
  body: Promise<string> | undefined
  attachments: number | undefined
}

interface Head {
  readonly fields: readonly (readonly [string, string])[]
  readonly mail: ParsedMail | undefined
  readonly envelope: CaughtEnvelope | null
  readonly isMixed: boolean
  readonly search: Omit<SearchableText, 'isSeen' | 'body'>
}

// A header block larger than this is cut: the summary needs only the common fields.
const MAX_HEAD_BYTES = 64 * 1024
// Messages whose head (or body, for a search) is read at once.
const READ_CONCURRENCY = 16
// A body's text kept for searching, per message.
const MAX_SEARCH_TEXT = 1024 * 1024
// Parsed messages kept: the page asks for one message's JSON, then its HTML, then a part.
const PARSED_CACHE_SIZE = 8

/**
 * The catcher's index of caught mail over a {@link MessageStore} (the Maildir stays the source
 * of truth: the index is rebuilt from it at start). Headers are read lazily, when a page or a
 * search needs them; bodies are parsed on demand and only their text is kept, for search.
 * It is also the {@link MessageSink} the store session delivers into, so new messages are
 * indexed and announced as they arrive.
 */
export class Catcher implements MessageSink {
  readonly #store: MessageStore
  readonly #parse: ParseMail
  readonly #maxMessages: number | undefined
  // Newest first.
  #entries: Entry[] = []
  readonly #byId = new Map<string, Entry>()
  readonly #listeners = new Set<(event: CatcherEvent) => void>()
  readonly #parsed = new Map<string, Promise<ParsedMail>>()
  #unread = 0

  private constructor(options: CatcherOptions) {
    this.#store = options.store
    this.#parse = options.parse
    this.#maxMessages = options.maxMessages
  }

  /** Opens a catcher over `store`, indexing what it already holds (names and sizes only). */
  static async open(options: CatcherOptions): Promise<Catcher> {
    const catcher = new Catcher(options)
    for (const stored of await options.store.scan()) catcher.#add({ ...stored, headBytes: undefined, head: undefined, body: undefined, attachments: undefined }, false)
    await catcher.#trim()
    return catcher
  }

  /** Messages stored. */
  get total(): number {
    return this.#entries.length
  }

  /** Messages not marked read. */
  get unread(): number {
    return this.#unread
  }

  async deliver(message: AsyncIterable<Uint8Array>, prefix: Uint8Array): Promise<{ name: string; bytes: number }> {
    const head = captureHead(prefix)
    const stored = await this.#store.deliver(head.tap(message), prefix)
    const entry: Entry = { id: stored.id, size: stored.size, receivedAt: stored.receivedAt, isSeen: stored.isSeen, headBytes: head.bytes(), head: undefined, body: undefined, attachments: undefined }
    this.#add(entry, true)
    await this.#trim()
    // Announced after the reply: the client's 250 does not wait for the header to be parsed.
    if (this.#listeners.size > 0 && this.#byId.has(entry.id)) {
      void this.#summary(entry).then(
        (summary) => this.#emit({ type: 'new', message: summary }),
        () => {},
      )
    }
    return { name: stored.name, bytes: stored.bytes }
  }

  /** Calls `listener` for every change until the returned function is called. */
  subscribe(listener: (event: CatcherEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => void this.#listeners.delete(listener)
  }

  /** True when a message with this id is stored. */
  has(id: string): boolean {
    return this.#byId.has(id)
  }

  /** One page of messages, newest first, matching `query` (see {@link parseSearchQuery}) when given. */
  async list(options: { start?: number; limit?: number; query?: string | undefined } = {}): Promise<MessagePage> {
    const start = Math.max(0, options.start ?? 0)
    const limit = Math.max(0, options.limit ?? 50)
    const terms = parseSearchQuery(options.query ?? '')
    let matching: Entry[]
    if (terms.length === 0) {
      matching = this.#entries
    } else {
      const entries = this.#entries.slice()
      const withBody = needsBody(terms)
      const flags = await mapLimited(entries, async (entry) => {
        const head = await this.#head(entry)
        const body = withBody ? await this.#body(entry) : undefined
        return matchesSearch(terms, { ...head.search, isSeen: entry.isSeen, body })
      })
      matching = entries.filter((entry, i) => flags[i] && this.#byId.has(entry.id))
    }
    const page = matching.slice(start, start + limit)
    return { total: this.#entries.length, unread: this.#unread, matched: matching.length, start, messages: await mapLimited(page, (entry) => this.#summary(entry)) }
  }

  /** The summary of one message, or undefined. */
  async summary(id: string): Promise<MessageSummary | undefined> {
    const entry = this.#byId.get(id)
    return entry && this.#summary(entry)
  }

  /** The header fields of one message as stored (unfolded, undecoded), in order. */
  async headerFields(id: string): Promise<readonly (readonly [string, string])[] | undefined> {
    const entry = this.#byId.get(id)
    return entry && (await this.#head(entry)).fields
  }

  /** One message parsed (the last few are cached). Rejects when there is no such message. */
  parse(id: string): Promise<ParsedMail> {
    const cached = this.#parsed.get(id)
    if (cached) return cached
    const entry = this.#byId.get(id)
    if (!entry) return Promise.reject(new Error(`no message ${id}`))
    const parsed = this.#parse(this.#store.stream(id))
    this.#parsed.set(id, parsed)
    if (this.#parsed.size > PARSED_CACHE_SIZE) this.#parsed.delete(this.#parsed.keys().next().value!)
    parsed.then(
      (mail) => void (entry.attachments = mail.attachments.length),
      () => this.#parsed.delete(id),
    )
    return parsed
  }

  /** The stored bytes of one message, streamed; undefined when there is no such message. */
  stream(id: string): Readable | undefined {
    return this.#byId.has(id) ? this.#store.stream(id) : undefined
  }

  /** The stored bytes of one message; undefined when there is no such message. */
  async read(id: string): Promise<Buffer | undefined> {
    return this.#byId.has(id) ? this.#store.readAll(id) : undefined
  }

  /** Marks messages read or unread (all of them without `ids`); resolves with the ids changed. */
  async setSeen(ids: readonly string[] | undefined, isSeen: boolean): Promise<string[]> {
    const changed: string[] = []
    for (const entry of this.#select(ids)) {
      if (entry.isSeen === isSeen) continue
      await this.#store.setSeen(entry.id, isSeen)
      entry.isSeen = isSeen
      this.#unread += isSeen ? -1 : 1
      changed.push(entry.id)
    }
    if (changed.length > 0) this.#emit({ type: 'read', ids: changed, isSeen })
    return changed
  }

  /** Deletes messages (all of them without `ids`); resolves with the ids deleted. */
  async remove(ids?: readonly string[]): Promise<string[]> {
    const doomed = this.#select(ids)
    for (const entry of doomed) await this.#store.remove(entry.id)
    this.#forget(doomed)
    if (doomed.length > 0) this.#emit({ type: 'delete', ids: doomed.map((e) => e.id) })
    return doomed.map((e) => e.id)
  }

  /**
   * Resolves with the newest message (received at or after `since`, when given) for which `match`
   * is true: one already stored, or else the next to arrive. Rejects with the signal's reason.
   */
  async waitFor(match: (summary: MessageSummary) => boolean, options: { since?: Date | undefined; signal?: AbortSignal | undefined } = {}): Promise<MessageSummary> {
    const { since, signal } = options
    signal?.throwIfAborted()
    return new Promise<MessageSummary>((resolve, reject) => {
      let done = false
      const finish = (error: unknown, summary?: MessageSummary): void => {
        if (done) return
        done = true
        unsubscribe()
        signal?.removeEventListener('abort', onAbort)
        if (summary) resolve(summary)
        else reject(error)
      }
      const onAbort = (): void => finish(signal!.reason)
      // Subscribe before looking, so a message arriving during the look is not missed.
      const unsubscribe = this.subscribe((event) => {
        if (event.type === 'new' && match(event.message)) finish(undefined, event.message)
      })
      signal?.addEventListener('abort', onAbort, { once: true })
      const candidates = this.#entries.filter((entry) => since === undefined || entry.receivedAt >= since)
      void (async () => {
        for (const entry of candidates) {
          if (done) return
          if (!this.#byId.has(entry.id)) continue
          const summary = await this.#summary(entry)
          if (match(summary)) return finish(undefined, summary)
        }
      })().catch((error: unknown) => finish(error))
    })
  }

  #add(entry: Entry, isNew: boolean): void {
    if (isNew) {
      // New mail is the newest almost always; a clock set back puts it in its place.
      let at = 0
      while (at < this.#entries.length && this.#entries[at]!.receivedAt > entry.receivedAt) at++
      this.#entries.splice(at, 0, entry)
    } else {
      this.#entries.push(entry)
    }
    this.#byId.set(entry.id, entry)
    if (!entry.isSeen) this.#unread++
  }

  #select(ids: readonly string[] | undefined): Entry[] {
    if (ids === undefined) return this.#entries.slice()
    return ids.flatMap((id) => this.#byId.get(id) ?? [])
  }

  #forget(entries: readonly Entry[]): void {
    if (entries.length === 0) return
    const gone = new Set(entries)
    this.#entries = this.#entries.filter((entry) => !gone.has(entry))
    for (const entry of entries) {
      this.#byId.delete(entry.id)
      this.#parsed.delete(entry.id)
      if (!entry.isSeen) this.#unread--
    }
  }

  async #trim(): Promise<void> {
    if (this.#maxMessages === undefined || this.#entries.length <= this.#maxMessages) return
    await this.remove(this.#entries.slice(this.#maxMessages).map((entry) => entry.id))
  }

  #emit(event: CatcherEvent): void {
    for (const listener of this.#listeners) listener(event)
  }

  #head(entry: Entry): Promise<Head> {
    entry.head ??= (async () => {
      const bytes = entry.headBytes ?? (await this.#store.readHead(entry.id, MAX_HEAD_BYTES))
      entry.headBytes = undefined
      return this.#readHead(bytes)
    })()
    return entry.head
  }

  async #readHead(bytes: Buffer): Promise<Head> {
    const block = bytes.subarray(0, headerEnd(bytes) ?? bytes.length)
    const fields = splitFields(block.toString('utf8'))
    // The header block alone is a message with an empty body, which the parser decodes.
    const mail = await this.#parse(Buffer.concat([block, Buffer.from('\r\n\r\n')])).catch(() => undefined)
    const envelopeField = fields.find(([name]) => name.toLowerCase() === ENVELOPE_FIELD.toLowerCase())
    const envelope = envelopeField ? (parseEnvelopeHeader(envelopeField[1]) ?? null) : null
    const contentType = fields.find(([name]) => name.toLowerCase() === 'content-type')?.[1] ?? ''
    const addresses = (value: unknown): string =>
      listMailboxes(value)
        .map((a) => `${a.Name} <${a.Address}>`)
        .join(', ')
        .toLowerCase()
    const to = [addresses(mail?.to), addresses(mail?.cc), ...(envelope?.to ?? [])].join(' ').toLowerCase()
    return {
      fields,
      mail,
      envelope,
      isMixed: /^\s*multipart\/mixed\b/i.test(contentType),
      search: { from: `${addresses(mail?.from)} ${envelope?.from ?? ''}`.toLowerCase(), to, subject: (mail?.subject ?? '').toLowerCase() },
    }
  }

  #body(entry: Entry): Promise<string> {
    entry.body ??= this.parse(entry.id).then(
      (mail) => `${mail.text ?? ''}\n${htmlText(mail.html ?? '')}`.slice(0, MAX_SEARCH_TEXT).toLowerCase(),
      () => '',
    )
    return entry.body
  }

  async #summary(entry: Entry): Promise<MessageSummary> {
    const head = await this.#head(entry)
    const mail = head.mail
    const date = mail?.date instanceof Date && !Number.isNaN(mail.date.getTime()) ? mail.date : null
    return {
      id: entry.id,
      // Mailpit's MessageID has no angle brackets.
      messageId: (mail?.messageId ?? '').replace(/^\s*<|>\s*$/g, ''),
      isSeen: entry.isSeen,
      from: listMailboxes(mail?.from)[0] ?? null,
      to: listMailboxes(mail?.to),
      cc: listMailboxes(mail?.cc),
      bcc: listMailboxes(mail?.bcc),
      replyTo: listMailboxes(mail?.replyTo),
      subject: mail?.subject ?? '',
      date,
      receivedAt: entry.receivedAt,
      size: entry.size,
      attachments: entry.attachments ?? (head.isMixed ? 1 : 0),
      envelope: head.envelope,
    }
  }
}

/** Keeps the header block of a message as it streams past (up to {@link MAX_HEAD_BYTES}). */
function captureHead(prefix: Uint8Array): { tap(message: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array>; bytes(): Buffer } {
  const chunks: Buffer[] = [Buffer.from(prefix)]
  let length = prefix.length
  let isComplete = false
  return {
    async *tap(message) {
      for await (const chunk of message) {
        if (!isComplete) {
          chunks.push(Buffer.from(chunk.subarray(0, MAX_HEAD_BYTES - length)))
          length += Math.min(chunk.length, MAX_HEAD_BYTES - length)
          // Search only around the new chunk's start, for a blank line split across chunks.
          const joined = Buffer.concat(chunks.splice(0), length)
          chunks.push(joined)
          isComplete = length >= MAX_HEAD_BYTES || headerEnd(joined) !== undefined
        }
        yield chunk
      }
    },
    bytes: () => Buffer.concat(chunks),
  }
}

/** The offset of the blank line that ends the header block (CRLF or bare LF), or undefined. */
function headerEnd(bytes: Buffer): number | undefined {
  const crlf = bytes.indexOf('\r\n\r\n')
  const lf = bytes.indexOf('\n\n')
  const ends = [crlf, lf].filter((i) => i !== -1)
  return ends.length === 0 ? undefined : Math.min(...ends)
}

/** Splits a header block into `[name, unfolded value]` pairs (RFC 5322 §2.2.3), in order. */
function splitFields(block: string): [string, string][] {
  const fields: [string, string][] = []
  for (const line of block.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && fields.length > 0) {
      fields[fields.length - 1]![1] += line
    } else {
      const colon = line.indexOf(':')
      if (colon > 0) fields.push([line.slice(0, colon).trim(), line.slice(colon + 1).trimStart()])
    }
  }
  return fields
}

/**
 * The text of an HTML body for searching: tags, scripts and styles out, link targets kept (a
 * reset link is searched for by its URL), common entities decoded.
 */
function htmlText(html: string): string {
  return html
    .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)')[^>]*>/gi, (_, double?: string, single?: string) => ` ${double ?? single} `)
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
}

async function mapLimited<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, items.length) }, worker))
  return results
}
