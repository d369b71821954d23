import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { cramMd5, cramMd5Server, parseCramMd5Response } from '../../src/sasl/cram-md5.ts'
import { AuthenticationFailed, MalformedSaslMessage } from '../../src/sasl/errors.ts'
import type { Authenticate } from '../../src/sasl/mechanism.ts'
import { bytes, exchange, text } from './exchange.ts'

const passwords = new Map([['tim', 'tanstaaftanstaaf']])

const authenticate: Authenticate = (request) => {
  if (request.mechanism !== 'CRAM-MD5') return false
  const password = passwords.get(request.username)
  return password !== undefined && request.verify(password)
}

const hostname = 'mx.example.test'

describe('CRAM-MD5 client', () => {
  test('answers the RFC 2195 example challenge with the published response', () => {
    const client = cramMd5({ username: 'tim', password: 'tanstaaftanstaaf' })
    assert.equal(client.start(), null)
    assert.equal(text(client.next(bytes('<1896.697170952@postoffice.reston.mci.net>'))), 'tim b913a602c7eda7a495b4e6e7334d3890')
    assert.equal(client.isComplete, true)
  })

  test('does not send the password in clear', () => {
    assert.equal(cramMd5({ username: 'tim', password: 'x' }).sendsPasswordInClear, false)
  })

  test('rejects an empty challenge and a second challenge', () => {
    assert.throws(() => cramMd5({ username: 'tim', password: 'x' }).next(new Uint8Array(0)), MalformedSaslMessage)
    const client = cramMd5({ username: 'tim', password: 'x' })
    client.next(bytes('<1.2@h>'))
    assert.throws(() => client.next(bytes('<1.2@h>')), MalformedSaslMessage)
  })

  test('refuses an empty username', () => {
    assert.throws(() => cramMd5({ username: '', password: 'x' }), TypeError)
  })
})

describe('CRAM-MD5 server', () => {
  test('challenges with <random.timestamp@hostname>, different every time', async () => {
    const first = await cramMd5Server(authenticate, { hostname }).next(null)
    const second = await cramMd5Server(authenticate, { hostname }).next(null)
    assert.ok(!first.done && !second.done)
    assert.match(text(first.challenge), /^<\d+\.\d+@mx\.example\.test>$/)
    assert.notEqual(text(first.challenge), text(second.challenge))
  })

  test('accepts the RFC 2195 response to its own challenge', async () => {
    assert.equal(await exchange(cramMd5({ username: 'tim', password: 'tanstaaftanstaaf' }), cramMd5Server(authenticate, { hostname })), 'tim')
  })

  test('fails a wrong password and an unknown user', async () => {
    await assert.rejects(exchange(cramMd5({ username: 'tim', password: 'wrong' }), cramMd5Server(authenticate, { hostname })), AuthenticationFailed)
    await assert.rejects(exchange(cramMd5({ username: 'nobody', password: 'x' }), cramMd5Server(authenticate, { hostname })), AuthenticationFailed)
  })

  test('never succeeds when the hook says yes without a successful verify()', async () => {
    const lazy = cramMd5Server(() => true, { hostname })
    await assert.rejects(exchange(cramMd5({ username: 'tim', password: 'anything' }), lazy), TypeError)
    const ignoresVerify: Authenticate = (request) => {
      if (request.mechanism === 'CRAM-MD5') request.verify('not-the-password')
      return true
    }
    await assert.rejects(exchange(cramMd5({ username: 'tim', password: 'anything' }), cramMd5Server(ignoresVerify, { hostname })), TypeError)
  })

  test('rejects an initial response, since CRAM-MD5 has none', async () => {
    await assert.rejects(cramMd5Server(authenticate, { hostname }).next(bytes('tim 00')), MalformedSaslMessage)
  })

  test('rejects a response that is not "username digest"', async () => {
    for (const bad of ['tim', ' b913a602c7eda7a495b4e6e7334d3890', 'tim b913a602c7eda7a495b4e6e7334d389', 'tim b913a602c7eda7a495b4e6e7334d389z']) {
      const server = cramMd5Server(authenticate, { hostname })
      await server.next(null)
      await assert.rejects(server.next(bytes(bad)), MalformedSaslMessage, bad)
    }
  })

  test('splits the response at the last space, so usernames may contain spaces', () => {
    const { username, sent } = parseCramMd5Response(bytes('tim berners lee B913A602C7EDA7A495B4E6E7334D3890'))
    assert.equal(username, 'tim berners lee')
    assert.equal(sent.toString('hex'), 'b913a602c7eda7a495b4e6e7334d3890')
  })

  test('refuses a hostname that cannot go into a challenge', () => {
    for (const bad of ['', 'a b', 'x>y', 'a\r\nb']) assert.throws(() => cramMd5Server(authenticate, { hostname: bad }), TypeError)
  })
})
