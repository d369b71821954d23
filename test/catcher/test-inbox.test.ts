// createTestInbox(): the in-process catcher tests use, by node:test.
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { createTestInbox } from '../../src/catcher/index.ts'
import { sendMail } from '../../src/client/index.ts'
import { compose } from '../../src/message/index.ts'

async function send(url: string, to: string, subject: string, text: string, options: { html?: string; bcc?: string } = {}): Promise<void> {
  const message = compose({ from: 'App <app@example.test>', to, ...(options.bcc ? { bcc: options.bcc } : {}), subject, text, ...(options.html ? { html: options.html } : {}) })
  await sendMail(url, { from: 'bounces@example.test', to: options.bcc ? [to, options.bcc] : [to], message })
}

test('waitFor finds a message already caught or the next one; messages() parses them all, oldest first', async () => {
  await using inbox = await createTestInbox()
  assert.match(inbox.url, /^smtp:\/\/127\.0\.0\.1:\d+$/)
  await send(inbox.url, 'ada@example.test', 'Welcome', 'Hi Ada')
  const early = await inbox.waitFor({ to: 'ada@example.test' })
  assert.equal(early.subject, 'Welcome')
  const later = inbox.waitFor({ to: 'ada@example.test', subject: /reset/i })
  await send(inbox.url, 'ada@example.test', 'Reset your password', 'Open https://app.example.test/reset?token=t0k3n-=long-enough-to-be-folded-by-quoted-printable-encoding-0123456789')
  const reset = await later
  assert.match(reset.text!, /reset\?token=t0k3n-=long-enough/)
  assert.deepEqual(reset.envelope.to, ['ada@example.test'])
  assert.equal(reset.envelope.from, 'bounces@example.test')
  assert.equal(reset.envelope.remoteAddress, '127.0.0.1')
  assert.match(reset.raw.toString(), /^Return-Path: <bounces@example\.test>/)
  const all = await inbox.messages()
  assert.deepEqual(
    all.map((m) => m.subject),
    ['Welcome', 'Reset your password'],
  )
  await inbox.clear()
  assert.deepEqual(await inbox.messages(), [])
})

test('waitFor: a predicate, Bcc recipients through the envelope, and a timeout that names the match', async () => {
  await using inbox = await createTestInbox()
  await send(inbox.url, 'visible@example.test', 'Hello', 'text', { bcc: 'secret@example.test' })
  const hidden = await inbox.waitFor({ to: 'secret@example.test' })
  assert.equal(hidden.subject, 'Hello')
  const byBody = await inbox.waitFor((m) => m.text?.includes('text') ?? false)
  assert.equal(byBody.id, hidden.id)
  await assert.rejects(inbox.waitFor({ to: 'nobody@example.test' }, { timeout: 50 }), { name: 'TimeoutError', message: /no message matching \{"to":"nobody@example.test"\} arrived within 50 ms/ })
  const controller = new AbortController()
  const waiting = inbox.waitFor({ to: 'nobody@example.test' }, { signal: controller.signal })
  controller.abort(new Error('test over'))
  await assert.rejects(waiting, { message: 'test over' })
})

test('nothing is written to disk unless asked; with maildir the messages are files', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'smtpkit-inbox-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  const inbox = await createTestInbox({ maildir: root })
  await send(inbox.url, 'a@example.test', 'On disk', 'x')
  await inbox.waitFor({ subject: 'On disk' })
  assert.equal((await readdir(join(root, 'new'))).length, 1)
  await inbox.close()
  await inbox.close()
})

test('ui: true serves the REST API for the same messages; insecureAcceptAnyAuth logs any user in', async () => {
  await using inbox = await createTestInbox({ ui: true, insecureAcceptAnyAuth: true })
  const server = { host: inbox.host, port: inbox.port, tls: 'none', auth: { username: 'anyone', password: 'anything' }, insecureAuthWithoutTls: true } as const
  await sendMail(server, { from: 'app@example.test', to: 'b@example.test', message: 'Subject: via auth\r\n\r\nhi\r\n' })
  const caught = await inbox.waitFor({ subject: 'via auth' })
  assert.equal(caught.envelope.authUser, 'anyone')
  const page = (await (await fetch(`${inbox.uiUrl}/api/v1/messages`)).json()) as { total: number }
  assert.equal(page.total, 1)
})

test('bad options are TypeErrors that name them', async () => {
  await assert.rejects(createTestInbox({ maildri: 'x' } as never), { name: 'TypeError', message: /maildri/ })
  await assert.rejects(createTestInbox({ maxMessages: 0 }), { name: 'RangeError', message: /maxMessages/ })
})

test('waitFor keeps one abort listener however many other messages arrive while it waits', async () => {
  await using inbox = await createTestInbox()
  const warnings: Error[] = []
  const onWarning = (warning: Error): void => void warnings.push(warning)
  process.on('warning', onWarning)
  try {
    const waiting = inbox.waitFor({ subject: 'the one' }, { signal: new AbortController().signal })
    for (let i = 0; i < 15; i++) await send(inbox.url, 'ada@example.test', `other ${i}`, 'not it')
    await send(inbox.url, 'ada@example.test', 'the one', 'it')
    assert.equal((await waiting).subject, 'the one')
    await new Promise((resolve) => setImmediate(resolve))
  } finally {
    process.off('warning', onWarning)
  }
  assert.deepEqual(warnings.map((w) => w.name), [])
})

test('each caught message is parsed once however often messages() and waitFor() ask; each caller gets its own object', async () => {
  await using inbox = await createTestInbox({ maxMessages: 2 })
  await send(inbox.url, 'ada@example.test', 'One', 'first')
  await send(inbox.url, 'bob@example.test', 'Two', 'second')
  const [one, two] = await inbox.messages()
  const [oneAgain, twoAgain] = await inbox.messages()
  const found = await inbox.waitFor({ to: 'bob@example.test' })
  // The parse's own objects are shared: they came from one parse, not three.
  assert.equal(oneAgain!.headers, one!.headers)
  assert.equal(twoAgain!.headers, two!.headers)
  assert.equal(found.headers, two!.headers)
  // What a test does to the message it got does not reach the next caller.
  ;(one as { subject: string | undefined }).subject = 'changed by a test'
  assert.equal((await inbox.messages())[0]!.subject, 'One')
  // A message the catcher lets go (maxMessages) is no longer kept.
  await send(inbox.url, 'cy@example.test', 'Three', 'third')
  const after = await inbox.messages()
  assert.deepEqual(
    after.map((m) => m.subject),
    ['Two', 'Three'],
  )
  assert.equal(after[0]!.headers, two!.headers)
})
