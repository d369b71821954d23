import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { test } from 'node:test'
import { canReadTwice, toChunks } from '../../src/protocol/message-source.ts'

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

test('toChunks: a large string comes in pieces of at most 64 KiB whose bytes are its UTF-8, characters never split', async () => {
  // Multi-byte characters and surrogate pairs straddle every possible cut.
  const samples = [
    'a'.repeat(200_000),
    'é'.repeat(70_000) + 'x',
    ('ab😀'.repeat(30_000) + 'z').repeat(2),
    'x'.repeat(65_535) + '😀' + 'y'.repeat(100),
    'x'.repeat(65_535) + '\ud800' + 'y',
    'plain\r\n'.repeat(10),
    '',
  ]
  for (const text of samples) {
    const pieces: Uint8Array[] = []
    for await (const piece of toChunks(text)) pieces.push(piece)
    assert.ok(pieces.every((piece) => piece.length <= 64 * 1024))
    assert.ok(Buffer.concat(pieces).equals(Buffer.from(text, 'utf8')), `the bytes of a ${text.length}-unit string`)
    const decodedApart = pieces.map((piece) => Buffer.from(piece).toString('utf8')).join('')
    assert.equal(decodedApart, Buffer.concat(pieces).toString('utf8'), 'no piece ends inside a character')
  }
})
