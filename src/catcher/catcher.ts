import type { Readable } from 'node:stream'
import { readCommonFields, type CommonFields } from '../message/parse/common-fields.ts'
import { parseHeaderBlock, type ParsedHeaders } from '../message/parse/parsed-headers.ts'
import { isInlinePart } from './api-json.ts'
import { ENVELOPE_FIELD, parseEnvelopeHeader, type CaughtEnvelope } from './envelope-header.ts'
import { OutlineScanner, type MessageOutline } from './message-outline.ts'
import { MAX_SYNC_READ_BYTES, type MessageStore, type StoredMessage } from './message-store.ts'
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
   * Attachments offered as files (inline `cid:` parts not counted), from the MIME structure read
   * when the message was indexed, and exact once it has been parsed.
   */
  readonly attachments: number
  readonly envelope: CaughtEnvelope | null
}

/**
 * A change the catcher announces to subscribers (the page's live updates). A new message is
 * announced by id alone: its summary is built only when someone asks for it.
 */
export type CatcherEvent =
  | { readonly type: 'new'; readonly id: string }
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
  /**
   * Follow changes other processes make to the store (mail they deliver into the Maildir, flags
   * they set, files they remove) until {@link Catcher.close}. Default: false.
   */
  readonly watch?: boolean | undefined
  /** How often the store is looked at in full when watching, for changes the file events missed. Default 10 s. */
  readonly rescanMs?: number | undefined
  /**
   * Read the bodies' text for search in the background while no mail arrives (at start, and after
   * a burst), a few messages at a time, so the first search finds it ready. Default: false (the
   * first search reads what it needs).
   */
  readonly indexInBackground?: boolean | undefined
}

interface Entry {
  readonly id: string
  readonly size: number
  readonly receivedAt: Date
  isSeen: boolean
  // What was learnt while the message was delivered, until its header is read.
  outline: MessageOutline | undefined
  head: Promise<Head> | undefined
  body: Promise<string> | undefined
  // Files attached: from the outline, then from the parse.
  attachments: number | undefined
  // Characters of body text kept in the index.
  textLength: number
}

interface Head {
  readonly headers: ParsedHeaders
  readonly common: CommonFields | undefined
  readonly envelope: CaughtEnvelope | null
  readonly search: Omit<SearchableText, 'isSeen' | 'body'>
}

// A message stored before start is read this far for its outline; past it, attachments further
// on are counted when the message is opened.
const MAX_OUTLINE_SCAN_BYTES = 16 * 1024 * 1024
// File events arriving within this time are looked at together.
const SYNC_DELAY_MS = 100
const RESCAN_MS = 10_000
// Messages whose head (or body, for a search) is read at once, and how many a search goes
// through between two turns of the event loop.
const READ_CONCURRENCY = 16
const YIELD_EVERY = 32
// A body's text kept for searching, per message, and in all (characters); past that, a search
// reads the bodies it needs again.
const MAX_SEARCH_TEXT = 1024 * 1024
const MAX_INDEXED_TEXT = 128 * 1024 * 1024
// A message up to this size is read whole, once, for both its header and its text.
const MAX_ONE_READ_BYTES = 1024 * 1024
// The background index waits for this long without new mail, then reads this many messages at a
// time, yielding to the event loop between slices.
const INDEX_IDLE_MS = 300
const INDEX_SLICE = 32
const INDEX_CONCURRENCY = 4
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
  // Following the store: its watch, the periodic rescan, and the sync pending or running.
  #watch: { close(): void } | undefined
  #rescan: NodeJS.Timeout | undefined
  #syncTimer: NodeJS.Timeout | undefined
  #syncing: Promise<void> | undefined
  #syncAgain = false
  // The background index of body text.
  readonly #indexInBackground: boolean
  #indexTimer: NodeJS.Timeout | undefined
  #indexing = false
  #isClosed = false
  #indexedText = 0

  private constructor(options: CatcherOptions) {
    this.#store = options.store
    this.#parse = options.parse
    this.#maxMessages = options.maxMessages
    this.#indexInBackground = options.indexInBackground ?? false
  }

  /** Opens a catcher over `store`, indexing what it already holds (names and sizes only). */
  static async open(options: CatcherOptions): Promise<Catcher> {
    const catcher = new Catcher(options)
    for (const stored of await options.store.scan()) catcher.#add(newEntry(stored), false)
    await catcher.#trim()
    if (options.watch && options.store.watch && options.store.sync) {
      catcher.#watch = options.store.watch(() => catcher.#syncSoon())
      catcher.#rescan = setInterval(() => catcher.#syncSoon(), options.rescanMs ?? RESCAN_MS)
      catcher.#rescan.unref()
    }
    catcher.#indexSoon()
    return catcher
  }

  /** Stops following the store (see {@link CatcherOptions.watch}); resolves once a sync under way is done. */
  async close(): Promise<void> {
    this.#isClosed = true
    clearTimeout(this.#indexTimer)
    this.#watch?.close()
    this.#watch = undefined
    clearInterval(this.#rescan)
    clearTimeout(this.#syncTimer)
    this.#syncAgain = false
    await this.#syncing
  }

  /**
   * Looks at the store for changes made by others, and announces them. Called by the watch and
   * the periodic rescan; tests call it to look at once.
   */
  async sync(): Promise<void> {
    if (this.#syncing) {
      this.#syncAgain = true
      return this.#syncing
    }
    this.#syncing = (async () => {
      try {
        do {
          this.#syncAgain = false
          await this.#applyChanges()
        } while (this.#syncAgain)
      } finally {
        this.#syncing = undefined
      }
    })()
    return this.#syncing
  }

  #syncSoon(): void {
    if (this.#watch === undefined) return
    this.#syncTimer ??= setTimeout(() => {
      this.#syncTimer = undefined
      this.sync().catch(() => {
        // The store could not be read just now (a directory being replaced): the next event or
        // rescan tries again.
      })
    }, SYNC_DELAY_MS)
  }

  async #applyChanges(): Promise<void> {
    const changes = await this.#store.sync?.()
    if (!changes) return
    const added = changes.added.filter((stored) => !this.#byId.has(stored.id))
    for (const stored of added) this.#add(newEntry(stored), true)
    if (added.length > 0) this.#indexSoon()
    const gone = changes.removed.flatMap((id) => this.#byId.get(id) ?? [])
    this.#forget(gone)
    const seen = new Map<boolean, string[]>([
      [true, []],
      [false, []],
    ])
    for (const { id, isSeen } of changes.seen) {
      const entry = this.#byId.get(id)
      if (!entry || entry.isSeen === isSeen) continue
      entry.isSeen = isSeen
      this.#unread += isSeen ? -1 : 1
      seen.get(isSeen)!.push(id)
    }
    // Oldest first, as they would have arrived.
    for (const stored of added.slice().sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime())) if (this.#byId.has(stored.id)) this.#emit({ type: 'new', id: stored.id })
    if (gone.length > 0) this.#emit({ type: 'delete', ids: gone.map((entry) => entry.id) })
    for (const [isSeen, ids] of seen) if (ids.length > 0) this.#emit({ type: 'read', ids, isSeen })
    await this.#trim()
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
    // The outline (header block, attachments) is read as the bytes go to disk: nothing is parsed
    // on the way, and nothing is read back.
    const scanner = new OutlineScanner()
    scanner.write(prefix)
    const stored = await this.#store.deliver(outlineTap(message, scanner), prefix)
    const outline = scanner.end()
    // An outline cut short (a hostile header) counts what it saw; the parse makes it exact.
    const entry: Entry = { ...newEntry(stored), outline, attachments: outline.attachments }
    this.#add(entry, true)
    await this.#trim()
    if (this.#byId.has(entry.id)) this.#emit({ type: 'new', id: entry.id })
    this.#indexSoon()
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
        const [head, body] = withBody ? await this.#searchable(entry) : [await this.#head(entry), undefined]
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
    if (!entry) return undefined
    return [...(await this.#head(entry)).headers].map((field) => [field.name, field.raw.slice(field.raw.indexOf(':') + 1).replace(/\r\n/g, '').trimStart()] as const)
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
      (mail) => void (entry.attachments = mail.attachments.filter((part) => !isInlinePart(part)).length),
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
        if (event.type !== 'new') return
        void this.summary(event.id).then(
          (summary) => void (summary && match(summary) && finish(undefined, summary)),
          (error: unknown) => finish(error),
        )
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
    if (this.#byId.has(entry.id)) return
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
    entries = entries.filter((entry) => this.#byId.get(entry.id) === entry)
    if (entries.length === 0) return
    const gone = new Set(entries)
    this.#entries = this.#entries.filter((entry) => !gone.has(entry))
    for (const entry of entries) {
      this.#byId.delete(entry.id)
      this.#parsed.delete(entry.id)
      this.#indexedText -= entry.textLength
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

  // A message whose file cannot be read (removed by hand, not yet noticed) lists with empty
  // fields, and is read again next time.
  #head(entry: Entry): Promise<Head> {
    entry.head ??= (async () => {
      let outline = entry.outline
      entry.outline = undefined
      if (outline === undefined) {
        outline = await this.#readOutline(entry.id, entry.size)
        entry.attachments ??= outline.attachments
      }
      return readHead(outline.head)
    })()
    return this.#unlessUnreadable(entry, entry.head)
  }

  #unlessUnreadable(entry: Entry, head: Promise<Head>): Promise<Head> {
    return head.catch(() => {
      if (entry.head === head) entry.head = undefined
      return readHead(Buffer.alloc(0))
    })
  }

  // The outline of a message stored before start (or by another process), read from disk.
  async #readOutline(id: string, size: number): Promise<MessageOutline> {
    const scanner = new OutlineScanner()
    if (size <= MAX_SYNC_READ_BYTES) {
      scanner.write(this.#store.readAllSync(id))
      return scanner.end()
    }
    const stream = this.#store.stream(id)
    let read = 0
    try {
      for await (const chunk of stream) {
        scanner.write(chunk as Buffer)
        read += (chunk as Buffer).length
        if (scanner.isDone || read >= MAX_OUTLINE_SCAN_BYTES) break
      }
    } finally {
      stream.destroy()
    }
    return scanner.end()
  }

  // The header and the body's text of a message; read whole, once, when neither is known yet.
  async #searchable(entry: Entry): Promise<[Head, string]> {
    if (entry.head === undefined && entry.body === undefined && entry.outline === undefined && entry.size <= MAX_ONE_READ_BYTES) {
      const bytes = entry.size <= MAX_SYNC_READ_BYTES ? readNow(() => this.#store.readAllSync(entry.id)) : this.#store.readAll(entry.id)
      entry.head = bytes.then((raw) => {
        const scanner = new OutlineScanner()
        scanner.write(raw)
        const outline = scanner.end()
        entry.attachments ??= outline.attachments
        return readHead(outline.head)
      })
      this.#keepBody(entry, bytes.then((raw) => this.#parse(raw)))
    }
    return Promise.all([this.#head(entry), this.#body(entry)])
  }

  #body(entry: Entry): Promise<string> {
    return entry.body ?? this.#keepBody(entry, this.#parse(this.#store.stream(entry.id)))
  }

  // The searchable text of a parse, kept on the entry while the index has room for it.
  #keepBody(entry: Entry, parsed: Promise<ParsedMail>): Promise<string> {
    const body = parsed.then(
      (mail) => {
        entry.attachments = mail.attachments.filter((part) => !isInlinePart(part)).length
        const text = `${mail.text ?? ''}\n${htmlText(mail.html ?? '')}`.slice(0, MAX_SEARCH_TEXT).toLowerCase()
        if (this.#byId.get(entry.id) === entry && entry.body === body) {
          entry.textLength = text.length
          this.#indexedText += text.length
        } else if (entry.body === body) {
          entry.body = undefined
        }
        return text
      },
      () => {
        // Unreadable now (removed, not yet noticed): not kept, so it is read again next time.
        if (entry.body === body) entry.body = undefined
        return ''
      },
    )
    if (this.#indexedText < MAX_INDEXED_TEXT) entry.body = body
    return body
  }

  // (Re)starts the background index once no mail has arrived for INDEX_IDLE_MS.
  #indexSoon(): void {
    if (!this.#indexInBackground || this.#isClosed) return
    clearTimeout(this.#indexTimer)
    this.#indexTimer = setTimeout(() => {
      this.#indexTimer = undefined
      // The index only saves a search some reading: a failure (a message removed as it was
      // read) must not end the process that serves the page; a search reads what is missing.
      this.#indexBodies().catch(() => {})
    }, INDEX_IDLE_MS)
    this.#indexTimer.unref()
  }

  async #indexBodies(): Promise<void> {
    if (this.#indexing) return
    this.#indexing = true
    try {
      // Newest first: what the page shows first is searched first.
      let at = 0
      // New mail sets the timer again, which stops this loop until the mail has stopped.
      while (!this.#isClosed && this.#indexTimer === undefined && this.#indexedText < MAX_INDEXED_TEXT) {
        const slice: Entry[] = []
        for (; at < this.#entries.length && slice.length < INDEX_SLICE; at++) if (this.#entries[at]!.body === undefined) slice.push(this.#entries[at]!)
        if (slice.length === 0) break
        await mapLimited(slice, (entry) => this.#searchable(entry), INDEX_CONCURRENCY)
        // Let requests and mail in between slices.
        await new Promise((resolve) => setImmediate(resolve))
      }
    } finally {
      this.#indexing = false
    }
  }


  async #summary(entry: Entry): Promise<MessageSummary> {
    const head = await this.#head(entry)
    const mail = head.common
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
      attachments: entry.attachments ?? 0,
      envelope: head.envelope,
    }
  }
}

function readNow(read: () => Buffer): Promise<Buffer> {
  try {
    return Promise.resolve(read())
  } catch (error) {
    return Promise.reject(error as Error)
  }
}

function newEntry(stored: StoredMessage): Entry {
  return { id: stored.id, size: stored.size, receivedAt: stored.receivedAt, isSeen: stored.isSeen, outline: undefined, head: undefined, body: undefined, attachments: undefined, textLength: 0 }
}

/** Passes a message through, showing each chunk to `scanner` until it has learnt all it can. */
async function* outlineTap(message: AsyncIterable<Uint8Array>, scanner: OutlineScanner): AsyncGenerator<Uint8Array> {
  for await (const chunk of message) {
    if (!scanner.isDone) scanner.write(chunk)
    yield chunk
  }
}

/**
 * What the list and the search need of a header block: the common fields decoded (the parser's
 * own header reader, without a parse of the message) and the envelope smtpkit recorded.
 */
function readHead(block: Buffer): Head {
  const headers = parseHeaderBlock(block)
  let common: CommonFields | undefined
  try {
    common = readCommonFields(headers, () => {})
  } catch {
    // A header too broken to read: the list shows the message without its fields.
  }
  // The first one is ours (written above the message's own header); read raw, as JSON.
  const envelopeField = headers.getFields(ENVELOPE_FIELD)[0]?.raw
  const envelope = envelopeField === undefined ? null : (parseEnvelopeHeader(envelopeField.slice(envelopeField.indexOf(':') + 1).replace(/\r\n/g, '')) ?? null)
  const addresses = (value: unknown): string =>
    listMailboxes(value)
      .map((a) => `${a.Name} <${a.Address}>`)
      .join(', ')
  const to = [addresses(common?.to), addresses(common?.cc), ...(envelope?.to ?? [])].join(' ').toLowerCase()
  return {
    headers,
    common,
    envelope,
    search: { from: `${addresses(common?.from)} ${envelope?.from ?? ''}`.toLowerCase(), to, subject: (common?.subject ?? '').toLowerCase() },
  }
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

/**
 * Maps with at most `concurrency` calls in flight, letting the event loop in every
 * {@link YIELD_EVERY} items: a message read and parsed from memory resolves in microtasks only,
 * and a search through thousands of them would otherwise hold off every other request.
 */
async function mapLimited<T, R>(items: readonly T[], fn: (item: T) => Promise<R>, concurrency = READ_CONCURRENCY): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  // Every worker waits for the same turn, so the microtasks run dry and I/O gets its turn.
  let turn: Promise<void> | undefined
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      if (turn) await turn
      if (next >= items.length) break
      const i = next++
      if (i > 0 && i % YIELD_EVERY === 0) {
        turn = new Promise((resolve) =>
          setImmediate(() => {
            turn = undefined
            resolve()
          }),
        )
        await turn
      }
      results[i] = await fn(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
  return results
}
