import assert from 'node:assert/strict'
import { createHook } from 'node:async_hooks'
import { test } from 'node:test'
import type { Readable } from 'node:stream'
import { MessageStream } from '../../src/server/message-stream.ts'
import { UP_TO_DATA, connect } from './harness.ts'

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve))
}

test('a slow consumer holds the socket back: bytes read stay bounded until it reads', async (t) => {
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  let message: Readable | undefined
  let received = 0
  const h = connect(t, {
    newSession: () => ({
      async data(stream) {
        message = stream
        await gate
        for await (const chunk of stream) received += (chunk as Buffer).length
      },
    }),
  })
  await h.play(`
    ${UP_TO_DATA}
  `)
  const line = Buffer.from(`${'x'.repeat(1022)}\r\n`)
  const chunk = Buffer.concat(Array.from({ length: 64 }, () => line)) // 64 KiB
  const total = 64 * chunk.length // 4 MiB
  let accepted = 0
  for (let i = 0; i < 64; i++) h.peer.write(chunk, () => (accepted += chunk.length))
  h.peer.write('.\r\n')
  // Let the server fill every buffer it has, then check it stopped reading.
  const signal = AbortSignal.timeout(3000)
  while (!(message && message.readableLength >= message.readableHighWaterMark) && !signal.aborted) await turns(1)
  await turns(50)
  assert.ok(message, 'the data hook ran')
  assert.ok(accepted < 512 * 1024, `the server took ${accepted} bytes while its consumer was stalled`)
  assert.ok(message.readableLength <= message.readableHighWaterMark + chunk.length)
  release()
  await h.play('S: 250 2.0.0 Message accepted')
  assert.equal(received, total)
})

test('MessageStream: write reports backpressure, demand settles on the next read', async () => {
  const stream = new MessageStream(4)
  assert.equal(stream.write(Buffer.from('abcdef')), false)
  let settled = false
  const demand = stream.demand(5000).then((wanted) => (settled = wanted))
  await turns(2)
  assert.equal(settled, false)
  assert.equal(stream.read()?.toString(), 'abcdef')
  await demand
  assert.equal(settled, true)
})

test('MessageStream: destroying with an error neither crashes nor blocks the writer', async () => {
  const stream = new MessageStream(4)
  stream.write(Buffer.from('abcdef'))
  const demand = stream.demand(5000)
  stream.destroy(new Error('too big'))
  assert.equal(await demand, true)
  assert.equal(stream.write(Buffer.from('x')), false)
  await assert.rejects(async () => {
    for await (const _ of stream) void _
  }, /too big/)
})

test('MessageStream: demand gives up with false when the consumer does not read within the timeout', async () => {
  const stream = new MessageStream(4)
  assert.equal(stream.write(Buffer.from('abcdef')), false)
  assert.equal(await stream.demand(20), false)
  // A read after the timeout wakes nobody and breaks nothing.
  assert.equal(stream.read()?.toString(), 'abcdef')
})

test('DATA passes on every decoded part of a read, then waits for the consumer once: no promise per dot-stuffed line', async (t) => {
  let bytes = 0
  const h = connect(t, {
    newSession: () => ({
      async data(stream) {
        for await (const chunk of stream) bytes += (chunk as Buffer).length
      },
    }),
  })
  await h.play(`
    ${UP_TO_DATA}
  `)
  let promises = 0
  const hook = createHook({ init: (_id, type) => void (type === 'PROMISE' && promises++) })
  hook.enable()
  t.after(() => hook.disable())
  // 8192 dot-stuffed lines (about 200 KB) in one write: a few reads, thousands of decoded parts.
  h.peer.write(`${'..stuffed line of text\r\n'.repeat(8192)}.\r\n`)
  await h.play('S: 250 2.0.0 Message accepted')
  hook.disable()
  assert.equal(bytes, '.stuffed line of text\r\n'.length * 8192)
  assert.ok(promises < 1000, `${promises} promises for one message of 8192 stuffed lines`)
})
