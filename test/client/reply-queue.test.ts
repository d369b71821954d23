import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ReplyQueue, type ReplyWait } from '../../src/client/reply-queue.ts'

const reply = { code: 250, enhancedCode: undefined, lines: ['Ok'] }

test('one timer serves every waiter: a later waiter with a nearer deadline still times out on time', async () => {
  const aborted: ReplyWait[] = []
  const queue = new ReplyQueue((_error, wait) => aborted.push(wait))
  const first = queue.expect({ awaits: 'slow reply', timeoutMs: 60_000 })
  const second = queue.expect({ awaits: 'quick reply', timeoutMs: 30 })
  await assert.rejects(second, (err: unknown) => err instanceof DOMException && err.name === 'TimeoutError' && err.message === 'no quick reply within 30 ms')
  assert.deepEqual(aborted.map((w) => w.awaits), ['quick reply'])
  queue.failAll(() => new Error('done'))
  await assert.rejects(first)
  queue.dispose()
})

test('a timer armed for an answered waiter re-arms for the next one instead of failing it', async () => {
  const aborted: ReplyWait[] = []
  const queue = new ReplyQueue((_error, wait) => aborted.push(wait))
  const first = queue.expect({ awaits: 'first', timeoutMs: 20 })
  const second = queue.expect({ awaits: 'second', timeoutMs: 80 })
  queue.deliver(reply)
  assert.equal(await first, reply)
  await new Promise((resolve) => setTimeout(resolve, 40))
  assert.deepEqual(aborted, [], 'the second waiter has time left when the first deadline passes')
  await assert.rejects(second, (err: unknown) => err instanceof DOMException && err.message === 'no second within 80 ms')
  queue.dispose()
})

test('deadlines count from when each waiter was queued, on the given clock', async () => {
  let now = 0
  const aborted: string[] = []
  const queue = new ReplyQueue((_error, wait) => aborted.push(wait.awaits), () => now)
  const pending = queue.expect({ awaits: 'reply', timeoutMs: 10 })
  now = 5
  queue.deliver(reply)
  await pending
  const later = queue.expect({ awaits: 'later', timeoutMs: 10 })
  now = 14
  await new Promise((resolve) => setTimeout(resolve, 30))
  assert.deepEqual(aborted, [], 'queued at 5 with 10 ms, it is not overdue at 14')
  now = 15
  await new Promise((resolve) => setTimeout(resolve, 30))
  assert.deepEqual(aborted, ['later'])
  await assert.rejects(later)
  queue.dispose()
})

test('expectAll: one promise for a group, resolved with its replies in order once all are in', async () => {
  const queue = new ReplyQueue(() => {})
  const refused = { code: 550, enhancedCode: undefined, lines: ['no'] }
  const group = queue.expectAll([{ awaits: 'MAIL', timeoutMs: 1000 }, { awaits: 'RCPT', timeoutMs: 1000 }, { awaits: 'DATA', timeoutMs: 1000, endsGroup: true }])
  let settled = false
  void group.then(() => (settled = true))
  assert.equal(queue.size, 3)
  assert.equal(queue.blocks(true), true, 'DATA ends the group')
  queue.deliver(reply)
  queue.deliver(refused)
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(settled, false, 'not before the last reply')
  assert.equal(queue.deliver(reply)?.awaits, 'DATA')
  assert.deepEqual(await group, [reply, refused, reply])
  assert.equal(queue.size, 0)
  queue.dispose()
})

test('expectAll: a failed group rejects with the error of its first waiter that failed, in order, not in time', async () => {
  // The owner fails the rest when one is aborted, as a connection does by closing.
  const queue: ReplyQueue = new ReplyQueue(() => queue.failAll((wait) => new Error(`closed while waiting for ${wait.awaits}`)))
  const group = queue.expectAll([{ awaits: 'MAIL', timeoutMs: 60_000 }, { awaits: 'RCPT', timeoutMs: 60_000 }, { awaits: 'DATA', timeoutMs: 20 }])
  queue.deliver(reply)
  // DATA's deadline passes first; RCPT, still unanswered before it, is what a caller awaiting
  // each reply in turn would have seen fail.
  await assert.rejects(group, { message: 'closed while waiting for RCPT' })
  assert.equal(queue.size, 0)
  queue.dispose()
})

test('expectAll: a signal already aborted aborts the group once all of it is queued', async () => {
  const aborted: string[] = []
  const queue: ReplyQueue = new ReplyQueue((_error, wait) => {
    aborted.push(wait.awaits)
    queue.failAll(() => new Error('closed'))
  })
  const reason = new Error('stop')
  const signal = AbortSignal.abort(reason)
  const group = queue.expectAll([{ awaits: 'MAIL', timeoutMs: 1000, signal }, { awaits: 'RCPT', timeoutMs: 1000, signal }])
  await assert.rejects(group, (err: unknown) => err === reason)
  assert.deepEqual(aborted, ['MAIL'])
  assert.equal(queue.size, 0)
  queue.dispose()
})
