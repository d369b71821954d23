// The live event stream's text: new mail is announced by id in batches, other changes at once.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { CatcherEvent } from '../../src/catcher/catcher.ts'
import { LIVE_BATCH_MS, startLiveEvents } from '../../src/catcher/live-events.ts'

function fakeCatcher() {
  const listeners = new Set<(event: CatcherEvent) => void>()
  return {
    total: 0,
    unread: 0,
    subscribe(listener: (event: CatcherEvent) => void) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
    emit(event: CatcherEvent) {
      for (const listener of listeners) listener(event)
    },
    get listeners() {
      return listeners.size
    },
  }
}

test('a burst of new messages is one event and one write; a later change flushes the batch first, in order', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  const source = fakeCatcher()
  const writes: string[] = []
  const live = startLiveEvents(source, (text) => writes.push(text))
  assert.deepEqual(writes, ['retry: 2000\n\nevent: stats\ndata: {"Total":0,"Unread":0}\n\n'])
  for (let i = 0; i < 100; i++) {
    source.total++
    source.unread++
    source.emit({ type: 'new', id: `m${i}` })
  }
  assert.equal(writes.length, 1, 'nothing written before the batch time')
  t.mock.timers.tick(LIVE_BATCH_MS)
  assert.equal(writes.length, 2)
  const ids = Array.from({ length: 100 }, (_, i) => `m${i}`)
  assert.equal(writes[1], `event: new\ndata: ${JSON.stringify({ IDs: ids })}\n\nevent: stats\ndata: {"Total":100,"Unread":100}\n\n`)

  source.emit({ type: 'new', id: 'late' })
  source.unread--
  source.emit({ type: 'read', ids: ['late'], isSeen: true })
  assert.equal(writes[2], 'event: new\ndata: {"IDs":["late"]}\n\nevent: read\ndata: {"IDs":["late"],"Read":true}\n\nevent: stats\ndata: {"Total":100,"Unread":99}\n\n')
  t.mock.timers.tick(LIVE_BATCH_MS)
  assert.equal(writes.length, 3, 'the flushed batch is not written again')

  source.emit({ type: 'new', id: 'unsent' })
  live.stop()
  t.mock.timers.tick(LIVE_BATCH_MS)
  assert.equal(writes.length, 3, 'nothing is written after stop')
  assert.equal(source.listeners, 0)
})
