import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { Extensions } from '../../src/protocol/extensions.ts'
import { parseReply } from '../../src/protocol/reply.ts'

test('reads keywords and parameters from an EHLO reply', () => {
  const ext = Extensions.fromEhloReply(
    parseReply('250-mx.example.test greets you\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-AUTH PLAIN LOGIN\r\n250-AUTH=LOGIN CRAM-MD5\r\n250-8bitmime\r\n250 ENHANCEDSTATUSCODES\r\n'),
  )
  assert.equal(ext.has('pipelining'), true)
  assert.equal(ext.has('8BITMIME'), true)
  assert.equal(ext.maxSize, 10240000)
  assert.deepEqual(ext.authMechanisms, ['PLAIN', 'LOGIN', 'CRAM-MD5'])
  assert.equal(ext.has('STARTTLS'), false)
  assert.equal(ext.get('SIZE'), '10240000')
})

test('SIZE without a number means no fixed limit', () => {
  assert.equal(Extensions.fromEhloReply(parseReply('250-x\r\n250 SIZE\r\n')).maxSize, 0)
  assert.equal(Extensions.fromEhloReply(parseReply('250 x\r\n')).maxSize, undefined)
})

// The reading RFC 5321 §4.1.1.1 gives, written plainly: the keyword up to the first space or
// '=', upper-cased; `AUTH=` lines merged into AUTH; anything but an ehlo-keyword skipped.
function plainReading(lines: readonly string[]): [string, string][] {
  const map = new Map<string, string>()
  for (const line of lines.slice(1)) {
    const trimmed = line.trim()
    if (!trimmed) continue
    const space = trimmed.search(/[ =]/)
    const keyword = (space === -1 ? trimmed : trimmed.slice(0, space)).toUpperCase()
    const params = space === -1 ? '' : trimmed.slice(space + 1).trim()
    if (trimmed[space] === '=' && keyword !== 'AUTH') continue
    if (keyword === 'AUTH' && map.has('AUTH')) {
      const words = new Set([...(map.get('AUTH') ?? '').split(/\s+/), ...params.split(/\s+/)].filter(Boolean).map((w) => w.toUpperCase()))
      map.set('AUTH', [...words].join(' '))
      continue
    }
    if (!/^[A-Z0-9][A-Z0-9-]*$/.test(keyword)) continue
    map.set(keyword, params)
  }
  return [...map]
}

test('reads any EHLO reply as the plain reading of RFC 5321 §4.1.1.1 does (property)', () => {
  const piece = fc.constantFrom('SIZE', 'size', 'Pipelining', 'AUTH', 'auth', '8BITMIME', 'X-EXT', '-X', 'ſIZE', 'ı', 'é', ' ', '  ', '=', '\t', '-', '1', 'PLAIN', 'login', '\u00a0', '')
  const line = fc.array(fc.oneof(piece, fc.string({ maxLength: 4 })), { maxLength: 6 }).map((parts) => parts.join(''))
  fc.assert(
    fc.property(fc.array(line, { minLength: 1, maxLength: 8 }), (lines) => {
      const reply = { code: 250, enhancedCode: undefined, lines }
      assert.deepEqual([...Extensions.fromEhloReply(reply).entries()], plainReading(lines))
    }),
    { numRuns: 3000 },
  )
})
