import assert from 'node:assert/strict'
import { test } from 'node:test'
import { resolveServerLimits, serverLimitDefaults } from '../../src/server/limits.ts'

test('the defaults are frozen and follow RFC 5321 §4.5.3', () => {
  assert.equal(Object.isFrozen(serverLimitDefaults), true)
  assert.equal(serverLimitDefaults.maxLineBytes, 512)
  assert.equal(serverLimitDefaults.maxRecipients, 100)
  assert.equal(serverLimitDefaults.commandTimeoutMs, 5 * 60_000)
  assert.equal(serverLimitDefaults.maxMessageBytes, 25 * 1024 * 1024)
})

test('overrides merge onto the defaults; undefined keeps the default', () => {
  const limits = resolveServerLimits({ maxRecipients: 5, maxConnections: undefined as unknown as number })
  assert.equal(limits.maxRecipients, 5)
  assert.equal(limits.maxConnections, serverLimitDefaults.maxConnections)
  assert.equal(Object.isFrozen(limits), true)
})

test('rejects limits that are not positive numbers, naming the limit', () => {
  assert.throws(() => resolveServerLimits({ maxRecipients: 0 }), /limits\.maxRecipients/)
  assert.throws(() => resolveServerLimits({ commandTimeoutMs: Infinity }), /limits\.commandTimeoutMs/)
  assert.throws(() => resolveServerLimits({ maxMessageBytes: Number.NaN }), RangeError)
  assert.throws(() => resolveServerLimits({ maxLineBytes: 8 }), /at least 16/)
  assert.equal(resolveServerLimits({ authFailureDelayMs: 0, maxTextLineBytes: Infinity }).authFailureDelayMs, 0)
})
