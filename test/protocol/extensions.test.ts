import assert from 'node:assert/strict'
import { test } from 'node:test'
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
