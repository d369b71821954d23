import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RateLimiter } from '../../src/client/rate-limiter.ts'

const settle = () => new Promise((resolve) => setImmediate(resolve))

test('grants `messages` starts at once, then one more each time the oldest leaves the window', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  let now = 0
  const limiter = new RateLimiter({ messages: 2, perMs: 100 }, () => now)
  const granted: number[] = []
  const takes = Array.from({ length: 5 }, (_, i) => limiter.take().then(() => granted.push(i)))
  await settle()
  assert.deepEqual(granted, [0, 1])
  assert.equal(limiter.waiting, 3)
  now = 99
  t.mock.timers.tick(99)
  await settle()
  assert.deepEqual(granted, [0, 1])
  now = 100
  t.mock.timers.tick(1)
  await settle()
  assert.deepEqual(granted, [0, 1, 2, 3])
  now = 200
  t.mock.timers.tick(100)
  await Promise.all(takes)
  assert.deepEqual(granted, [0, 1, 2, 3, 4])
})

test('a timer that fires early never lets a start through before the window allows', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  let now = 0
  const limiter = new RateLimiter({ messages: 1, perMs: 50 }, () => now)
  await limiter.take()
  let done = false
  const second = limiter.take().then(() => { done = true })
  now = 49.5
  t.mock.timers.tick(50)
  await settle()
  assert.equal(done, false)
  now = 50
  t.mock.timers.tick(1)
  await second
  assert.equal(done, true)
})

test('an aborted waiter leaves the queue; cancelAll rejects the rest', async () => {
  const limiter = new RateLimiter({ messages: 1, perMs: 1000 }, () => 0)
  await limiter.take()
  const controller = new AbortController()
  const aborted = limiter.take(controller.signal)
  const cancelled = limiter.take()
  controller.abort()
  await assert.rejects(aborted, { name: 'AbortError' })
  assert.equal(limiter.waiting, 1)
  limiter.cancelAll(new Error('closed'))
  await assert.rejects(cancelled, /closed/)
  assert.equal(limiter.waiting, 0)
})

test('rejects a limit that is not a positive count per positive window', () => {
  assert.throws(() => new RateLimiter({ messages: 0, perMs: 10 }), RangeError)
  assert.throws(() => new RateLimiter({ messages: 1, perMs: 0 }), RangeError)
  assert.throws(() => new RateLimiter({ messages: 1, perMs: Number.POSITIVE_INFINITY }), RangeError)
})

test('when the last waiter aborts, no timer is left to keep the process alive', async () => {
  const timeouts = (): number => process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length
  const before = timeouts()
  const limiter = new RateLimiter({ messages: 1, perMs: 60_000 })
  await limiter.take()
  const controller = new AbortController()
  const waiting = limiter.take(controller.signal)
  assert.equal(timeouts(), before + 1)
  controller.abort(new Error('gave up'))
  await assert.rejects(waiting, /gave up/)
  assert.equal(timeouts(), before)
})
