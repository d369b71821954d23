import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { test } from 'node:test'
import { canReadTwice } from '../../src/protocol/message-source.ts'

test('canReadTwice: strings, bytes, chunk arrays and stream() sources yes; one-shot streams and isRereadable: false no', () => {
  assert.equal(canReadTwice('text'), true)
  assert.equal(canReadTwice(Buffer.from('bytes')), true)
  assert.equal(canReadTwice([Buffer.from('a'), Buffer.from('b')]), true)
  assert.equal(canReadTwice({ stream: () => [Buffer.from('x')] }), true)
  assert.equal(canReadTwice({ stream: () => [Buffer.from('x')], isRereadable: true }), true)
  assert.equal(canReadTwice({ stream: () => [Buffer.from('x')], isRereadable: false }), false)
  assert.equal(canReadTwice(Readable.from([Buffer.from('x')])), false)
  assert.equal(canReadTwice((async function* () { yield Buffer.from('x') })()), false)
})
