import { mkdir } from 'node:fs/promises'
import type { ParsedMessage } from '../message/index.ts'
import { checkOptions } from '../options/check-options.ts'
import { Server, type ServerOptions } from '../server/index.ts'
import { Catcher } from './catcher.ts'
import { acceptAnyLogin } from './chaos.ts'
import { ENVELOPE_FIELD, parseEnvelopeHeader, type CaughtEnvelope } from './envelope-header.ts'
import { MaildirStore, MemoryStore } from './message-store.ts'
import { parseMail } from './parse-mail.ts'
import { listMailboxes } from './parsed-mail.ts'
import { createStoreSession } from './store-session.ts'
import { startUi, type RunningUi } from './ui-server.ts'

/** Options of {@link createTestInbox}. Every one is optional. */
export interface TestInboxOptions {
  /** Store messages in this Maildir (created if missing) instead of memory. Default: memory only, nothing written to disk. */
  readonly maildir?: string | undefined
  /** Also serve the web page and REST API on an ephemeral loopback port (see `uiUrl`). Default false. */
  readonly ui?: boolean | undefined
  /** Keep only the newest N messages. Default: all. */
  readonly maxMessages?: number | undefined
  /**
   * Offer AUTH (PLAIN, LOGIN) on the plain loopback connection and accept every user and
   * password, for an app that always logs in. Default false: AUTH is not offered.
   */
  readonly insecureAcceptAnyAuth?: boolean | undefined
  /** More server options (limits, hostname, ...), as `new Server()` takes them; not `newSession`. */
  readonly server?: Omit<ServerOptions, 'newSession'> | undefined
}

/** A caught message: parsed by `parseMessage`, with the catcher's id, arrival time, envelope and raw bytes. */
export interface CaughtMessage extends ParsedMessage {
  readonly id: string
  readonly receivedAt: Date
  /** MAIL FROM, RCPT TO (Bcc recipients included), client address, TLS and AUTH user. */
  readonly envelope: CaughtEnvelope
  /** The bytes as stored, trace fields included. */
  readonly raw: Buffer
}

/** What {@link TestInbox.waitFor} looks for: fields that must all match, or a predicate. */
export type MessageMatch =
  | {
      /** An address in To, Cc or RCPT TO (ignoring case). */
      readonly to?: string | undefined
      /** The From address or MAIL FROM (ignoring case). */
      readonly from?: string | undefined
      /** A substring of the subject (ignoring case), or a pattern. */
      readonly subject?: string | RegExp | undefined
    }
  | ((message: CaughtMessage) => boolean)

/** A catching SMTP server for tests; see {@link createTestInbox}. */
export interface TestInbox extends AsyncDisposable {
  /** `smtp://127.0.0.1:PORT`, for the application's SMTP setting. */
  readonly url: string
  readonly host: string
  readonly port: number
  /** With `ui: true`, the page and REST API's `http://127.0.0.1:PORT`; else undefined. */
  readonly uiUrl: string | undefined
  /** Every message caught so far, parsed (each once, however often asked), oldest first. */
  messages(): Promise<CaughtMessage[]>
  /**
   * Resolves with the first message (oldest first) that matches: one already caught, or else the
   * next to arrive. Rejects after `timeout` ms (default 10000) with an error naming the match,
   * or with `signal`'s reason.
   */
  waitFor(match: MessageMatch, options?: { readonly timeout?: number | undefined; readonly signal?: AbortSignal | undefined }): Promise<CaughtMessage>
  /** Deletes every message caught so far. */
  clear(): Promise<void>
  /** Stops the server (and the UI); `await using` calls it. */
  close(): Promise<void>
}

const DEFAULT_WAIT_MS = 10_000

/**
 * Starts a catching SMTP server on an ephemeral loopback port, for node:test, vitest or jest:
 * point the application at `inbox.url`, run it, then assert on `await inbox.waitFor({ to })`.
 * Messages are parsed with `parseMessage`; nothing is written to disk unless `maildir` is given.
 *
 * ```ts
 * await using inbox = await createTestInbox()
 * await app.signUp({ email: 'ada@example.test', smtpUrl: inbox.url })
 * const mail = await inbox.waitFor({ to: 'ada@example.test', subject: 'Confirm' })
 * ```
 */
export async function createTestInbox(options: TestInboxOptions = {}): Promise<TestInbox> {
  checkOptions('createTestInbox()', options, { maildir: 'string', ui: 'boolean', maxMessages: 'number', insecureAcceptAnyAuth: 'boolean', server: 'object' })
  if (options.server && 'newSession' in options.server) throw new TypeError('createTestInbox(): server.newSession is not an option: the inbox makes the sessions')
  if (options.maxMessages !== undefined && !(Number.isInteger(options.maxMessages) && options.maxMessages >= 1)) {
    throw new RangeError(`createTestInbox(): maxMessages must be a whole number of at least 1, got ${options.maxMessages}`)
  }
  if (options.maildir !== undefined) await mkdir(options.maildir, { recursive: true })
  const store = options.maildir === undefined ? new MemoryStore() : new MaildirStore(options.maildir)
  const catcher = await Catcher.open({ store, parse: parseMail, maxMessages: options.maxMessages })
  const onError = options.server?.onError ?? ((error: unknown) => console.error(error))
  const server = new Server({
    hostname: 'inbox.test',
    ...options.server,
    ...(options.insecureAcceptAnyAuth ? { auth: acceptAnyLogin, authMechanisms: ['PLAIN', 'LOGIN'], insecureAuthWithoutTls: true } : {}),
    newSession: (conn) =>
      createStoreSession(conn, {
        store: options.maildir === undefined ? { kind: 'memory', sink: catcher } : { kind: 'maildir', root: options.maildir, maildir: catcher },
        lmtp: options.server?.lmtp ?? false,
        hostname: options.server?.hostname ?? 'inbox.test',
        log: () => {},
        onError: (error) => onError(error, conn),
      }),
  })
  const address = await server.listen({ host: '127.0.0.1', port: 0 })
  let ui: RunningUi | undefined
  try {
    if (options.ui) ui = await startUi({ catcher, port: 0, onError: (error) => onError(error, undefined) })
  } catch (error) {
    await server.close()
    throw error
  }

  const caught = async (id: string): Promise<CaughtMessage | undefined> => {
    const [raw, summary] = await Promise.all([catcher.read(id), catcher.summary(id)])
    if (!raw || !summary) return undefined
    const parsed = await parseMail(raw)
    const field = parsed.headers.get(ENVELOPE_FIELD)
    const envelope = (typeof field === 'string' ? parseEnvelopeHeader(field) : undefined) ?? summary.envelope
    return { ...parsed, id, receivedAt: summary.receivedAt, envelope: envelope ?? { from: '', to: [], remoteAddress: '', helo: null, tls: null, authUser: null }, raw }
  }
  // A caught message never changes: each is read and parsed once, however often a long suite
  // asks (every messages() and waitFor() parsed every message again). Each caller gets its own
  // copy of the top-level object; entries go when the catcher removes their message.
  const parsedById = new Map<string, Promise<CaughtMessage | undefined>>()
  const unsubscribeRemovals = catcher.subscribe((event) => {
    if (event.type === 'delete') for (const id of event.ids) parsedById.delete(id)
  })
  const caughtOnce = async (id: string): Promise<CaughtMessage | undefined> => {
    let parsed = parsedById.get(id)
    if (parsed === undefined) {
      parsed = caught(id)
      parsedById.set(id, parsed)
      // Not found or unreadable is not kept: asked again, it is read again.
      parsed.then(
        (message) => void (message === undefined && parsedById.get(id) === parsed && parsedById.delete(id)),
        () => void (parsedById.get(id) === parsed && parsedById.delete(id)),
      )
    }
    const message = await parsed
    return message && { ...message }
  }
  const allIds = async (): Promise<string[]> => (await catcher.list({ limit: Number.MAX_SAFE_INTEGER })).messages.map((m) => m.id).reverse()

  let isClosed = false
  const inbox: TestInbox = {
    url: `smtp://127.0.0.1:${address.port}`,
    host: '127.0.0.1',
    port: address.port,
    uiUrl: ui?.url,
    async messages() {
      const list = await Promise.all((await allIds()).map(caughtOnce))
      return list.filter((m): m is CaughtMessage => m !== undefined)
    },
    async waitFor(match, waitOptions = {}) {
      checkOptions('waitFor()', waitOptions, { timeout: 'number', signal: 'object' })
      const predicate = toPredicate(match)
      const timeoutMs = waitOptions.timeout ?? DEFAULT_WAIT_MS
      const timer = AbortSignal.timeout(timeoutMs)
      const signal = waitOptions.signal ? AbortSignal.any([waitOptions.signal, timer]) : timer
      const arrived: string[] = []
      let wake = (): void => {}
      const unsubscribe = catcher.subscribe((event) => {
        if (event.type !== 'new') return
        arrived.push(event.id)
        wake()
      })
      // One abort listener for the whole wait, however many messages arrive meanwhile.
      const onAbort = (): void => wake()
      signal.addEventListener('abort', onAbort, { once: true })
      try {
        const checked = new Set<string>()
        let pending = await allIds()
        for (;;) {
          for (const id of pending) {
            if (checked.has(id)) continue
            checked.add(id)
            const message = await caughtOnce(id)
            if (message && predicate(message)) return message
          }
          if (signal.aborted) break
          if (arrived.length === 0) {
            await new Promise<void>((resolve) => {
              wake = resolve
            })
          }
          pending = arrived.splice(0)
        }
      } finally {
        unsubscribe()
        signal.removeEventListener('abort', onAbort)
      }
      if (waitOptions.signal?.aborted) throw waitOptions.signal.reason
      throw Object.assign(new Error(`no message matching ${describeMatch(match)} arrived within ${timeoutMs} ms`), { name: 'TimeoutError' })
    },
    async clear() {
      await catcher.remove()
      parsedById.clear()
    },
    async close() {
      if (isClosed) return
      isClosed = true
      unsubscribeRemovals()
      parsedById.clear()
      await ui?.close()
      await server.close({ signal: AbortSignal.timeout(5_000) })
    },
    [Symbol.asyncDispose]() {
      return inbox.close()
    },
  }
  return inbox
}

function toPredicate(match: MessageMatch): (message: CaughtMessage) => boolean {
  if (typeof match === 'function') return match
  checkOptions('waitFor() match', match, { to: 'string', from: 'string', subject: ['string', 'object'] })
  const to = match.to?.toLowerCase()
  const from = match.from?.toLowerCase()
  const subject = match.subject
  return (message) => {
    const addresses = (value: unknown): string[] => listMailboxes(value).map((a) => a.Address.toLowerCase())
    const recipients = [...addresses(message.to), ...addresses(message.cc), ...message.envelope.to.map((a) => a.toLowerCase())]
    const senders = [...addresses(message.from), message.envelope.from.toLowerCase()]
    const text = message.subject ?? ''
    return (
      (to === undefined || recipients.includes(to)) &&
      (from === undefined || senders.includes(from)) &&
      (subject === undefined || (typeof subject === 'string' ? text.toLowerCase().includes(subject.toLowerCase()) : subject.test(text)))
    )
  }
}

function describeMatch(match: MessageMatch): string {
  if (typeof match === 'function') return 'the predicate'
  return JSON.stringify(match, (_, value: unknown) => (value instanceof RegExp ? String(value) : value))
}
