// The one timer behind a connection's read and hook timeouts: each wait times out after its own
// delay, whatever the waits before it left the shared timer set to.
import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import { Deadline } from '../../src/server/deadline.ts'

// Mocked timers and Date; the Deadline reads Date.now() as its clock here, since
// mock.timers does not move performance.now().
function fakeClock(t: TestContext): void {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 })
}

test('a wait times out after its delay, once, and not before', (t) => {
  fakeClock(t)
  const deadline = new Deadline(() => Date.now())
  let fired = 0
  deadline.start(100, () => fired++)
  t.mock.timers.tick(99)
  assert.equal(fired, 0)
  t.mock.timers.tick(1)
  assert.equal(fired, 1)
  t.mock.timers.tick(1000)
  assert.equal(fired, 1)
})

test('a stopped wait never times out', (t) => {
  fakeClock(t)
  const deadline = new Deadline(() => Date.now())
  const onTimeout = (): void => assert.fail('stopped wait timed out')
  deadline.start(100, onTimeout)
  t.mock.timers.tick(50)
  deadline.stop(onTimeout)
  t.mock.timers.tick(1000)
})

test('a later wait with the same delay times out after its own full delay, not the first one’s', (t) => {
  fakeClock(t)
  const deadline = new Deadline(() => Date.now())
  const first = (): void => assert.fail('the first wait had ended')
  deadline.start(100, first)
  t.mock.timers.tick(60)
  deadline.stop(first)
  let fired = 0
  deadline.start(100, () => fired++)
  // The shared timer still fires at 100: it must re-arm for the 60 ms left, not time out.
  t.mock.timers.tick(40)
  assert.equal(fired, 0)
  t.mock.timers.tick(59)
  assert.equal(fired, 0)
  t.mock.timers.tick(1)
  assert.equal(fired, 1)
})

test('a shorter wait after a longer one times out on its own, earlier, delay', (t) => {
  fakeClock(t)
  const deadline = new Deadline(() => Date.now())
  const long = (): void => assert.fail('the long wait had ended')
  deadline.start(10_000, long)
  deadline.stop(long)
  let fired = 0
  deadline.start(10, () => fired++)
  t.mock.timers.tick(10)
  assert.equal(fired, 1)
})

test('stop with an old callback leaves the current wait alone', (t) => {
  fakeClock(t)
  const deadline = new Deadline(() => Date.now())
  const old = (): void => assert.fail('replaced wait timed out')
  let fired = 0
  const current = (): number => fired++
  deadline.start(100, old)
  deadline.start(100, current)
  deadline.stop(old)
  t.mock.timers.tick(100)
  assert.equal(fired, 1)
})

test('dispose keeps the timeout of a wait still running', (t) => {
  fakeClock(t)
  const deadline = new Deadline(() => Date.now())
  let fired = 0
  deadline.start(100, () => fired++)
  deadline.dispose()
  t.mock.timers.tick(100)
  assert.equal(fired, 1)
})

test('dispose clears the timer when no wait is running, so a closed connection holds no timer', () => {
  // Real timers: the count of the process's active timeouts shows whether one is left armed.
  const timeouts = (): number => process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length
  const before = timeouts()
  const deadline = new Deadline(() => Date.now())
  const ended = (): void => assert.fail('ended wait timed out')
  deadline.start(60_000, ended)
  deadline.stop(ended)
  assert.equal(timeouts(), before + 1, 'the timer stays armed between waits')
  deadline.dispose()
  assert.equal(timeouts(), before)
})

test('a delay beyond setTimeout’s range is capped instead of firing at once', (t) => {
  fakeClock(t)
  const deadline = new Deadline(() => Date.now())
  let fired = 0
  deadline.start(2 ** 40, () => fired++)
  t.mock.timers.tick(1)
  assert.equal(fired, 0)
})

test('the closing grace fires after its delay, beside a wait that a later start does not make it lose', (t) => {
  fakeClock(t)
  const deadline = new Deadline(() => Date.now())
  const fired: string[] = []
  deadline.start(500, () => fired.push('hook'))
  deadline.startClosing(200, () => fired.push('grace'))
  // A wait started after the grace (a hook settling while the socket closes) does not replace it.
  deadline.start(300, () => fired.push('later hook'))
  t.mock.timers.tick(199)
  assert.deepEqual(fired, [])
  t.mock.timers.tick(1)
  assert.deepEqual(fired, ['grace'])
  t.mock.timers.tick(100)
  assert.deepEqual(fired, ['grace', 'later hook'])
  t.mock.timers.tick(1000)
  assert.deepEqual(fired, ['grace', 'later hook'])
})

test('a wait that ends before the closing grace leaves the grace to fire on time', (t) => {
  fakeClock(t)
  const deadline = new Deadline(() => Date.now())
  const fired: string[] = []
  deadline.startClosing(2000, () => fired.push('grace'))
  deadline.start(100, () => fired.push('read'))
  t.mock.timers.tick(100)
  assert.deepEqual(fired, ['read'])
  t.mock.timers.tick(1899)
  assert.deepEqual(fired, ['read'])
  t.mock.timers.tick(1)
  assert.deepEqual(fired, ['read', 'grace'])
})

test('dispose (the peer closed) ends the closing grace and clears the timer; a grace after dispose never starts', (t) => {
  fakeClock(t)
  const deadline = new Deadline(() => Date.now())
  deadline.startClosing(2000, () => assert.fail('the grace outlived the stream'))
  t.mock.timers.tick(500)
  deadline.dispose()
  deadline.startClosing(10, () => assert.fail('a grace started after dispose'))
  t.mock.timers.tick(5000)
})

test('dispose ends the grace but keeps the timeout of a wait still running', (t) => {
  fakeClock(t)
  const deadline = new Deadline(() => Date.now())
  let fired = 0
  deadline.start(3000, () => fired++)
  deadline.startClosing(2000, () => assert.fail('the grace outlived the stream'))
  deadline.dispose()
  t.mock.timers.tick(3000)
  assert.equal(fired, 1)
})
