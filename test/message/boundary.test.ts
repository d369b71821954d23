import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createBoundary } from '../../src/message/boundary.ts'

test('boundaries are 26 valid boundary characters starting with =_, and differ every time', () => {
  const seen = new Set<string>()
  for (let i = 0; i < 1000; i++) {
    const boundary = createBoundary()
    // RFC 2046 §5.1.1 bchars, without the space.
    assert.match(boundary, /^=_[0-9A-Za-z'()+_,\-./:=?]{24}$/)
    seen.add(boundary)
  }
  assert.equal(seen.size, 1000)
})
