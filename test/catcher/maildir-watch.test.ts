// Mail another process puts into the catcher's Maildir (a second serve, a file dropped in new/ or
// cur/) appears without a restart; files removed or re-flagged elsewhere follow.
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { test, type TestContext } from 'node:test'
import { Catcher, type CatcherEvent } from '../../src/catcher/catcher.ts'
import { MaildirStore } from '../../src/catcher/message-store.ts'
import { parseMail } from '../../src/catcher/parse-mail.ts'

async function maildir(t: TestContext): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'smtpkit-watch-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  for (const sub of ['tmp', 'new', 'cur']) await mkdir(join(root, sub))
  return root
}

async function open(t: TestContext, store: MaildirStore, rescanMs = 60_000): Promise<Catcher & { events: CatcherEvent[]; until(match: (e: CatcherEvent) => boolean): Promise<CatcherEvent> }> {
  const catcher = await Catcher.open({ store, parse: parseMail, watch: true, rescanMs })
  t.after(() => catcher.close())
  const events: CatcherEvent[] = []
  const waiting = new Set<{ match: (e: CatcherEvent) => boolean; resolve: (e: CatcherEvent) => void; timer?: NodeJS.Timeout }>()
  catcher.subscribe((event) => {
    events.push(event)
    for (const w of waiting) {
      if (!w.match(event)) continue
      waiting.delete(w)
      clearTimeout(w.timer)
      w.resolve(event)
    }
  })
  return Object.assign(catcher, {
    events,
    // Resolves with the first event, already seen or next, that matches; fails after 10 s. The
    // timer keeps the process alive while it waits: the catcher's own timers (the periodic
    // rescan) are unref'd, and a wait on them alone would find the event loop empty.
    until(match: (e: CatcherEvent) => boolean): Promise<CatcherEvent> {
      const seen = events.find(match)
      if (seen) return Promise.resolve(seen)
      return new Promise<CatcherEvent>((resolve, reject) => {
        const w: { match: typeof match; resolve: typeof resolve; timer?: NodeJS.Timeout } = { match, resolve }
        waiting.add(w)
        w.timer = setTimeout(() => {
          waiting.delete(w)
          reject(new Error('no such event within 10 s'))
        }, 10_000)
      })
    },
  })
}

const message = (subject: string): string => `From: a@example.test\r\nTo: b@example.test\r\nSubject: ${subject}\r\n\r\nbody\r\n`
const isNew = (id: string) => (e: CatcherEvent) => e.type === 'new' && e.id === id
const ids = (page: { messages: readonly { id: string }[] }) => page.messages.map((m) => m.id)

test('two catchers over one Maildir: what one delivers, flags and deletes, the other follows', async (t) => {
  const root = await maildir(t)
  const a = await open(t, new MaildirStore(root))
  const b = await open(t, new MaildirStore(root))
  const { name } = await a.deliver(Readable.from([Buffer.from(message('from a'))]), Buffer.alloc(0))
  await b.until(isNew(name))
  assert.deepEqual((await b.list()).messages.map((m) => [m.id, m.subject, m.isSeen]), [[name, 'from a', false]])

  await a.setSeen([name], true)
  await b.until((e) => e.type === 'read' && e.ids.includes(name) && e.isSeen)
  assert.equal(b.unread, 0)
  assert.equal((await b.summary(name))!.isSeen, true)

  await a.remove([name])
  await b.until((e) => e.type === 'delete' && e.ids.includes(name))
  assert.equal(b.total, 0)

  // The deliverer saw its own message once, and a sync finds nothing of its own to add or remove.
  await a.sync()
  assert.deepEqual(
    a.events.map((e) => e.type),
    ['new', 'read', 'delete'],
  )
})

test('a file written into tmp/ and moved into new/, or put straight into cur/ with flags, appears; one removed by hand disappears', async (t) => {
  const root = await maildir(t)
  const catcher = await open(t, new MaildirStore(root))
  await writeFile(join(root, 'tmp', '1800000000.M1P9Q1.other'), message('dropped in new'))
  await rename(join(root, 'tmp', '1800000000.M1P9Q1.other'), join(root, 'new', '1800000000.M1P9Q1.other'))
  await writeFile(join(root, 'cur', '1800000001.M1P9Q2.other:2,S'), message('dropped in cur'))
  await catcher.until(isNew('1800000000.M1P9Q1.other'))
  await catcher.until(isNew('1800000001.M1P9Q2.other'))
  const page = await catcher.list()
  assert.deepEqual(
    page.messages.map((m) => [m.subject, m.isSeen]),
    [
      ['dropped in cur', true],
      ['dropped in new', false],
    ],
  )
  assert.equal(catcher.unread, 1)
  // Read through the catcher, the file moves to cur/ and stays one message.
  await catcher.setSeen(['1800000000.M1P9Q1.other'], true)
  await unlink(join(root, 'cur', '1800000001.M1P9Q2.other:2,S'))
  await catcher.until((e) => e.type === 'delete' && e.ids.includes('1800000001.M1P9Q2.other'))
  assert.deepEqual(ids(await catcher.list()), ['1800000000.M1P9Q1.other'])
  assert.deepEqual(await readdir(join(root, 'cur')), ['1800000000.M1P9Q1.other:2,S'])
})

test('without file events the periodic rescan finds the changes; a burst of files is announced, each once', async (t) => {
  class SilentStore extends MaildirStore {
    override watch(): { close(): void } {
      return { close() {} }
    }
  }
  const root = await maildir(t)
  const catcher = await open(t, new SilentStore(root), 50)
  const names = Array.from({ length: 200 }, (_, i) => `${1800000000 + i}.M0P9Q${i}.other`)
  await Promise.all(names.map((name) => writeFile(join(root, 'new', name), message(name))))
  for (const name of names) await catcher.until(isNew(name))
  assert.equal(catcher.total, 200)
  const announced = catcher.events.flatMap((e) => (e.type === 'new' ? [e.id] : []))
  assert.deepEqual(announced.slice().sort(), names.slice().sort())
  assert.deepEqual(ids(await catcher.list({ limit: 2 })), [names[199], names[198]])
})

test('after close, changes are found when a sync is asked for', async (t) => {
  const root = await maildir(t)
  const catcher = await open(t, new MaildirStore(root), 20)
  await catcher.close()
  await writeFile(join(root, 'new', '1800000000.M0P9Q1.late'), message('late'))
  await catcher.sync()
  assert.equal(catcher.total, 1)
})
