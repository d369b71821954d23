import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { ContentBuffer } from '../../../src/message/parse/content-buffer.ts'

// Writes `pieces` the way the parser does: room for a piece (plus `slack` unused bytes), then the piece.
function fill(content: ContentBuffer, pieces: readonly Uint8Array[], slack = 0): Buffer {
  for (const piece of pieces) {
    const out = content.room(piece.length + slack)
    out.set(piece, content.length)
    content.length += piece.length
  }
  return content.take()
}

function bytes(length: number, seed: number): Buffer {
  return Buffer.from(Array.from({ length }, (_, i) => ((i + seed) * 2654435761) >>> 24))
}

describe('ContentBuffer', () => {
  test('property: any pieces, with any room asked beyond them, come back exactly', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 20 }), fc.nat({ max: 5000 }), (pieces, slack) => {
        assert.deepEqual(fill(new ContentBuffer(1 << 20), pieces, slack), Buffer.concat(pieces))
      }),
      { numRuns: 200 },
    )
  })

  test('a body past 1 MiB grows in place in a resizable buffer and comes back exactly', () => {
    const pieces = Array.from({ length: 60 }, (_, i) => bytes(48 * 1024 + i, i))
    const content = new ContentBuffer(128 << 20)
    const taken = fill(content, pieces, 1000)
    assert.deepEqual(taken, Buffer.concat(pieces))
    assert.equal((taken.buffer as ArrayBuffer & { resizable?: boolean }).resizable, true, 'the large body is not copied out of its resizable buffer')
    // At most a quarter of the buffer is room never written.
    assert.ok(taken.buffer.byteLength <= taken.length * 1.25 + 1000 + 48 * 1024)
  })

  test('a body that outgrows the space it reserved goes on in a copy', () => {
    const pieces = Array.from({ length: 40 }, (_, i) => bytes(64 * 1024, i))
    // The limit is below what arrives: the resizable buffer fills, then the body is copied on.
    assert.deepEqual(fill(new ContentBuffer(1536 * 1024), pieces, 100), Buffer.concat(pieces))
  })

  test('a small body in a larger buffer is copied into one of its own size', () => {
    const content = new ContentBuffer(1 << 20)
    const taken = fill(content, [Buffer.from('hello')], 60_000)
    assert.equal(taken.toString(), 'hello')
    assert.ok(taken.buffer.byteLength < 60_000, 'the 60 kB of unused room is not kept alive by the result')
  })

  test('nothing written gives an empty buffer', () => {
    assert.equal(new ContentBuffer(100).take().length, 0)
  })
})
