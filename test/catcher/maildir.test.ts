import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { Maildir } from '../../src/catcher/maildir.ts'

async function tempMaildir(t: { after: (fn: () => Promise<void>) => void }): Promise<Maildir> {
  const root = await mkdtemp(join(tmpdir(), 'smtpkit-maildir-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  const maildir = new Maildir(root)
  await maildir.init()
  return maildir
}

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield Buffer.from(part)
}

test('delivers prefix and message into new/ and leaves tmp/ empty', async (t) => {
  const maildir = await tempMaildir(t)
  const result = await maildir.deliver(chunks('Subject: hi\r\n\r\n', 'body\r\n'), Buffer.from('Return-Path: <a@b>\r\n'))
  assert.equal(await readFile(result.path, 'utf8'), 'Return-Path: <a@b>\r\nSubject: hi\r\n\r\nbody\r\n')
  assert.equal(result.bytes, 41)
  assert.deepEqual(await readdir(join(maildir.root, 'tmp')), [])
  assert.deepEqual(await readdir(join(maildir.root, 'new')), [result.name])
  assert.deepEqual(await readdir(join(maildir.root, 'cur')), [])
})

test('gives every delivery a distinct name', async (t) => {
  const maildir = await tempMaildir(t)
  const results = await Promise.all(Array.from({ length: 50 }, () => maildir.deliver(chunks('x\r\n'))))
  assert.equal(new Set(results.map((r) => r.name)).size, 50)
  assert.equal((await readdir(join(maildir.root, 'new'))).length, 50)
})

test('a failing source leaves nothing in new/ or tmp/', async (t) => {
  const maildir = await tempMaildir(t)
  async function* failing(): AsyncGenerator<Uint8Array> {
    yield Buffer.from('partial')
    throw new Error('client went away')
  }
  await assert.rejects(maildir.deliver(failing()), /client went away/)
  assert.deepEqual(await readdir(join(maildir.root, 'new')), [])
  assert.deepEqual(await readdir(join(maildir.root, 'tmp')), [])
})

test('a disk error rejects the delivery and nothing reaches new/', async (t) => {
  const maildir = await tempMaildir(t)
  // Replacing tmp/ by a file makes every open fail, even for root (permissions would not).
  await rm(join(maildir.root, 'tmp'), { recursive: true })
  await writeFile(join(maildir.root, 'tmp'), '')
  await assert.rejects(maildir.deliver(chunks('x')), /ENOTDIR/)
  assert.deepEqual(await readdir(join(maildir.root, 'new')), [])
})

test('at start, files a killed delivery left in tmp/ over 36 hours ago are removed; newer ones stay', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'smtpkit-maildir-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  await new Maildir(root).init()
  const hours = (n: number): Date => new Date(Date.now() - n * 3600_000)
  for (const [name, age] of [['stale', 37], ['recent', 35], ['fresh', 0]] as const) {
    await writeFile(join(root, 'tmp', name), 'partial')
    await utimes(join(root, 'tmp', name), hours(age), hours(age))
  }
  await writeFile(join(root, 'new', 'old-but-delivered'), 'Subject: x\r\n\r\n')
  await utimes(join(root, 'new', 'old-but-delivered'), hours(100), hours(100))
  await new Maildir(root).init()
  assert.deepEqual((await readdir(join(root, 'tmp'))).sort(), ['fresh', 'recent'])
  assert.deepEqual(await readdir(join(root, 'new')), ['old-but-delivered'])
})
