import assert from 'node:assert/strict'
import { test } from 'node:test'
import { defaultEnhancedCode, isEnhancedCode, splitEnhancedCode } from '../../src/protocol/enhanced-code.ts'

test('recognises well-formed enhanced codes only', () => {
  for (const ok of ['2.0.0', '5.1.1', '4.7.999', '5.5.10']) assert.equal(isEnhancedCode(ok), true, ok)
  for (const bad of ['3.0.0', '2.0', '5.01.1', '5.1.1000', 'x.1.1', '2.0.0.0']) assert.equal(isEnhancedCode(bad), false, bad)
})

test('splits a class-matching enhanced code off reply text', () => {
  assert.deepEqual(splitEnhancedCode(550, '5.1.1 No such user'), { enhancedCode: '5.1.1', text: 'No such user' })
  assert.deepEqual(splitEnhancedCode(250, '5.1.1 odd'), { enhancedCode: undefined, text: '5.1.1 odd' })
  assert.deepEqual(splitEnhancedCode(250, '2.0.0'), { enhancedCode: '2.0.0', text: '' })
})

test('gives a default enhanced code of the same class for common reply codes', () => {
  assert.equal(defaultEnhancedCode(250), '2.0.0')
  assert.equal(defaultEnhancedCode(503), '5.5.1')
  assert.equal(defaultEnhancedCode(552), '5.3.4')
  assert.equal(defaultEnhancedCode(421), '4.3.0')
  assert.equal(defaultEnhancedCode(354), undefined)
  // Not 5.1.1 ("no such mailbox") for a 550 that may be about content.
  assert.equal(defaultEnhancedCode(550), '5.0.0')
  assert.equal(defaultEnhancedCode(553), '5.1.0')
})
