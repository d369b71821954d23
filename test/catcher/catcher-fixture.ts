// A catcher over a temporary Maildir, with its SMTP server and web UI on loopback ports.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { Catcher } from '../../src/catcher/catcher.ts'
import { MaildirStore, MemoryStore } from '../../src/catcher/message-store.ts'
import { parseMail } from '../../src/catcher/parse-mail.ts'
import { createStoreSession } from '../../src/catcher/store-session.ts'
import { startUi, type RunningUi } from '../../src/catcher/ui-server.ts'
import type { ReleaseMessage } from '../../src/catcher/http-api.ts'
import type { ApiSummary, formatMessage } from '../../src/catcher/api-json.ts'
import { sendMail } from '../../src/client/index.ts'
import { Server, type ServerOptions } from '../../src/server/index.ts'

export interface CatcherFixture {
  readonly catcher: Catcher
  readonly ui: RunningUi
  readonly smtpPort: number
  readonly root: string
  send(message: string, envelope?: { from?: string; to?: string[] }): Promise<void>
  get(path: string, init?: RequestInit): Promise<Response>
  /** GET a list route (messages, search). */
  page(path: string): Promise<ApiPage>
  /** GET a route that answers with a JSON object. */
  json<T = ApiMessage>(path: string): Promise<T>
}

/** The list routes' answer. */
export interface ApiPage {
  readonly total: number
  readonly unread: number
  readonly count: number
  readonly messages_count: number
  readonly start: number
  readonly messages: ApiSummary[]
}

/** One message, as `/api/v1/message/{ID}` answers. */
export type ApiMessage = ReturnType<typeof formatMessage>

/** Starts a catcher; everything stops and the Maildir is removed when the test ends. */
export async function startCatcher(
  t: TestContext,
  options: { root?: string; memory?: boolean; maxMessages?: number; release?: ReleaseMessage; server?: Partial<ServerOptions>; auth?: { username: string; password: string } } = {},
): Promise<CatcherFixture> {
  let root = options.root ?? ''
  if (!options.root && !options.memory) {
    root = await mkdtemp(join(tmpdir(), 'smtpkit-catcher-'))
    t.after(() => rm(root, { recursive: true, force: true }))
  }
  const store = options.memory ? new MemoryStore() : new MaildirStore(root)
  const catcher = await Catcher.open({ store, parse: parseMail, maxMessages: options.maxMessages })
  const server = new Server({
    hostname: 'catcher.test',
    newSession: (conn) => createStoreSession(conn, { store: { kind: 'memory', sink: catcher }, lmtp: false, hostname: 'catcher.test', log: () => {}, onError: () => {} }),
    ...options.server,
  })
  const address = await server.listen({ host: '127.0.0.1', port: 0 })
  const ui = await startUi({ catcher, port: 0, release: options.release, auth: options.auth, version: 'test', onError: (error) => console.error(error) })
  t.after(async () => {
    await ui.close()
    await server.close()
  })
  return {
    catcher,
    ui,
    smtpPort: address.port,
    root,
    async send(message, envelope = {}) {
      await sendMail({ host: '127.0.0.1', port: address.port, tls: 'none' }, { from: envelope.from ?? 'app@example.test', to: envelope.to ?? ['user@example.test'], message })
    },
    get: (path, init) => fetch(`${ui.url}${path}`, init),
    page: async (path) => (await (await fetch(`${ui.url}${path}`)).json()) as ApiPage,
    json: async <T>(path: string) => (await (await fetch(`${ui.url}${path}`)).json()) as T,
  }
}

/** A small message with the given subject, text and extra header lines. */
export function simpleMessage(subject: string, body = 'Hello.\r\n', extra = ''): string {
  return `From: App <app@example.test>\r\nTo: User <user@example.test>\r\nSubject: ${subject}\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.test>\r\n${extra}\r\n${body}`
}
