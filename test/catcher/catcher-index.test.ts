// The catcher's index over a Maildir: rebuilt at start, lazy headers, paging, flags on disk.
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readdir, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { test } from 'node:test'
import { Catcher } from '../../src/catcher/catcher.ts'
import { MaildirStore, MemoryStore, type MessageStore } from '../../src/catcher/message-store.ts'
import { parseMail } from '../../src/catcher/parse-mail.ts'

const COUNT = 10_000
const BASE_SECONDS = 1_800_000_000

async function generateMaildir(t: { after: (fn: () => Promise<void>) => void }, count: number): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'smtpkit-index-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  for (const sub of ['tmp', 'new', 'cur']) await mkdir(join(root, sub))
  const batch = 256
  for (let start = 0; start < count; start += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, count - start) }, (_, k) => {
        const i = start + k
        const text = `From: Sender ${i} <s${i}@example.test>\r\nTo: r${i}@example.test\r\nSubject: message ${i}\r\nMessage-ID: <m${i}@example.test>\r\n\r\nBody of message ${i}.\r\n`
        return writeFile(join(root, 'new', `${BASE_SECONDS + i}.M0P1Q${i}R00.host`), text)
      }),
    )
  }
  return root
}

test(`${COUNT} messages: the index opens, pages newest first and searches; flags survive a restart`, async (t) => {
  const root = await generateMaildir(t, COUNT)
  const started = performance.now()
  const catcher = await Catcher.open({ store: new MaildirStore(root), parse: parseMail })
  const first = await catcher.list({ start: 0, limit: 50 })
  const firstPageMs = performance.now() - started
  t.diagnostic(`open + first page of ${COUNT}: ${firstPageMs.toFixed(0)} ms`)
  assert.equal(first.total, COUNT)
  assert.equal(first.unread, COUNT)
  assert.equal(first.messages.length, 50)
  assert.equal(first.messages[0]!.subject, `message ${COUNT - 1}`)
  assert.equal(first.messages[49]!.subject, `message ${COUNT - 50}`)
  const last = await catcher.list({ start: COUNT - 10, limit: 50 })
  assert.deepEqual(
    last.messages.map((m) => m.subject),
    Array.from({ length: 10 }, (_, i) => `message ${9 - i}`),
  )
  const found = await catcher.list({ query: 'subject:"message 4321"' })
  assert.deepEqual(
    found.messages.map((m) => m.subject),
    ['message 4321'],
  )
  const id = first.messages[0]!.id
  await catcher.setSeen([id], true)
  assert.deepEqual(
    (await readdir(join(root, 'cur'))).filter((name) => name.startsWith(id)),
    [`${id}:2,S`],
  )
  const reopened = await Catcher.open({ store: new MaildirStore(root), parse: parseMail })
  assert.equal(reopened.unread, COUNT - 1)
  assert.equal((await reopened.summary(id))!.isSeen, true)
  await reopened.remove([id])
  assert.equal(reopened.total, COUNT - 1)
  assert.deepEqual(
    (await readdir(join(root, 'cur'))).filter((name) => name.startsWith(id)),
    [],
  )
})

test('a foreign Maildir name is dated by its mtime, and a file without our envelope field still lists', async (t) => {
  const root = await generateMaildir(t, 0)
  await writeFile(join(root, 'cur', 'delivered-by-someone-else:2,RS'), 'Subject: foreign\r\n\r\nhi\r\n')
  await writeFile(join(root, 'new', '.hidden'), 'Subject: skipped\r\n\r\n')
  const catcher = await Catcher.open({ store: new MaildirStore(root), parse: parseMail })
  const page = await catcher.list()
  assert.deepEqual(
    page.messages.map((m) => [m.id, m.subject, m.isSeen, m.envelope]),
    [['delivered-by-someone-else', 'foreign', true, null]],
  )
  await catcher.setSeen(['delivered-by-someone-else'], false)
  assert.deepEqual(await readdir(join(root, 'cur')), ['delivered-by-someone-else:2,R'])
})

test('the attachment mark is read from the MIME structure, for mail delivered and mail found at start, before any parse', async (t) => {
  const root = await generateMaildir(t, 0)
  const related = (extra: string): string =>
    `From: a@example.test\r\nSubject: ${extra}\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: multipart/related; boundary=r\r\n\r\n--r\r\nContent-Type: text/html\r\n\r\n<img src="cid:i@x">\r\n--r\r\nContent-Type: image/png\r\nContent-ID: <i@x>\r\n\r\npng\r\n--r--\r\n${extra === 'with pdf' ? '--m\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n\r\npdf\r\n' : ''}--m--\r\n`
  await writeFile(join(root, 'new', `${BASE_SECONDS}.M0P1Q1R00.host`), related('with pdf'))
  await writeFile(join(root, 'new', `${BASE_SECONDS + 1}.M0P1Q2R00.host`), related('inline only'))
  let parses = 0
  const catcher = await Catcher.open({ store: new MaildirStore(root), parse: (source) => (parses++, parseMail(source)) })
  for (const subject of ['with pdf', 'inline only']) await catcher.deliver(Readable.from([Buffer.from(related(subject))]), Buffer.from('X-Trace: 1\r\n'))
  const page = await catcher.list()
  assert.deepEqual(
    page.messages.map((m) => [m.subject, m.attachments]),
    [
      ['inline only', 0],
      ['with pdf', 1],
      ['inline only', 0],
      ['with pdf', 1],
    ],
  )
  assert.equal(parses, 0, 'the list parsed no message')
})

test('the background index reads every body once, newest first, so a search parses nothing more; a file gone meanwhile is no error', async (t) => {
  const root = await generateMaildir(t, 300)
  const parsed: number[] = []
  const catcher = await Catcher.open({
    store: new MaildirStore(root),
    indexInBackground: true,
    parse: (source) => {
      parsed.push(parsed.length)
      return parseMail(source)
    },
  })
  t.after(() => catcher.close())
  // Waits on the count, bounded: the index runs in slices between other work.
  for (let i = 0; i < 600 && parsed.length < 300; i++) await new Promise((resolve) => setTimeout(resolve, 25))
  assert.equal(parsed.length, 300)
  const found = await catcher.list({ query: '"body of message 123."' })
  assert.deepEqual(
    found.messages.map((m) => m.subject),
    ['message 123'],
  )
  assert.equal(parsed.length, 300, 'the search parsed no message again')
  const none = await catcher.list({ query: 'nowhere-to-be-found' })
  assert.equal(none.matched, 0)
  assert.equal(parsed.length, 300)
})

test('a message the store no longer has (removed as the index reached it) is skipped by the background index, which goes on', async (t) => {
  // --max-messages removes the oldest message while the index may be about to read it. Here
  // the store forgets a large message (read as a stream, not in one read) before the catcher
  // has seen it go: reading it used to throw out of the index and end the process.
  const root = await generateMaildir(t, 20)
  await writeFile(join(root, 'new', `${BASE_SECONDS + 100}.M0P1Q100R00.host`), `Subject: big\r\n\r\n${'x'.repeat(76)}\r\n`.repeat(16_000))
  const inner = new MaildirStore(root)
  const streamed: string[] = []
  const store: MessageStore = {
    deliver: (message, prefix) => inner.deliver(message, prefix),
    scan: async () => {
      const found = await inner.scan()
      await inner.remove(found.find((entry) => entry.size > 1024 * 1024)!.id)
      return found
    },
    readHead: (id, maxBytes) => inner.readHead(id, maxBytes),
    readAll: (id) => inner.readAll(id),
    readAllSync: (id) => inner.readAllSync(id),
    stream: (id) => (streamed.push(id), inner.stream(id)),
    setSeen: (id, isSeen) => inner.setSeen(id, isSeen),
    remove: (id) => inner.remove(id),
  }
  let parsed = 0
  const catcher = await Catcher.open({ store, indexInBackground: true, parse: (source) => (parsed++, parseMail(source)) })
  t.after(() => catcher.close())
  for (let i = 0; i < 600 && parsed < 21; i++) await new Promise((resolve) => setTimeout(resolve, 25))
  assert.equal(parsed, 21, 'every message was read for the index, the missing one too')
  assert.ok(streamed.some((id) => id.startsWith(`${BASE_SECONDS + 100}.`)), 'the missing message was asked for')
  const found = await catcher.list({ query: '"body of message 7."' })
  assert.deepEqual(
    found.messages.map((m) => m.subject),
    ['message 7'],
  )
  for (const store of [inner, new MemoryStore()]) {
    await assert.rejects(store.readAll('nothing-here'), /no message nothing-here/)
    await assert.rejects(store.readHead('nothing-here', 10), /no message nothing-here/)
    await assert.rejects(async () => {
      for await (const chunk of store.stream('nothing-here')) void chunk
    }, /no message nothing-here/)
  }
})

test('a search reads each small message once for its header and body; a message removed by hand is skipped', async (t) => {
  const root = await generateMaildir(t, 50)
  let parses = 0
  const catcher = await Catcher.open({ store: new MaildirStore(root), parse: (source) => (parses++, parseMail(source)) })
  await unlink(join(root, 'new', `${BASE_SECONDS + 7}.M0P1Q7R00.host`))
  const found = await catcher.list({ query: 'message' })
  assert.equal(found.matched, 49)
  assert.equal(parses, 49)
  assert.deepEqual((await catcher.list({ query: '"of message 8."' })).messages.map((m) => m.subject), ['message 8'])
  assert.equal(parses, 49)
})

test('a search through many messages lets other work in while it reads them', async () => {
  const catcher = await Catcher.open({ store: new MemoryStore(), parse: parseMail })
  for (let i = 0; i < 400; i++) await catcher.deliver(Readable.from([Buffer.from(`Subject: m${i}\r\n\r\nbody ${i}\r\n`)]), Buffer.alloc(0))
  const order: string[] = []
  const search = catcher.list({ query: 'nothing-matches' }).then(() => order.push('search'))
  setImmediate(() => order.push('other work'))
  await search
  assert.deepEqual(order, ['other work', 'search'])
})
