import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { AuthenticationFailed, MalformedSaslMessage } from '../../src/sasl/errors.ts'
import type { Authenticate } from '../../src/sasl/mechanism.ts'
import { parseXoauth2Message, xoauth2, xoauth2Server } from '../../src/sasl/xoauth2.ts'
import { bytes, exchange, text } from './exchange.ts'

// The example from Google's XOAUTH2 protocol documentation.
const googleUser = 'someuser@example.com'
const googleToken = 'ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg'
const googleMessage = `user=${googleUser}\x01auth=Bearer ${googleToken}\x01\x01`

const authenticate: Authenticate = (request) =>
  request.mechanism === 'XOAUTH2' && request.username === googleUser && request.token === googleToken

describe('XOAUTH2 client', () => {
  test("sends Google's documented initial response", () => {
    const client = xoauth2({ username: googleUser, accessToken: googleToken })
    assert.equal(client.name, 'XOAUTH2')
    assert.equal(client.sendsPasswordInClear, true)
    assert.equal(text(client.start()!), googleMessage)
    assert.equal(client.isComplete, true)
  })

  test('answers a JSON error challenge with an empty response and keeps the error', () => {
    const client = xoauth2({ username: googleUser, accessToken: googleToken })
    client.start()
    const error = { status: '401', schemes: 'bearer mac', scope: 'https://mail.google.com/' }
    assert.deepEqual(client.next(bytes(JSON.stringify(error))), new Uint8Array(0))
    assert.deepEqual(client.serverError, error)
    assert.throws(() => client.next(bytes('{}')), MalformedSaslMessage)
  })

  test('rejects a challenge that is not a JSON object', () => {
    for (const bad of ['not json', '[1]', '"text"', 'null']) {
      const client = xoauth2({ username: googleUser, accessToken: googleToken })
      client.start()
      assert.throws(() => client.next(bytes(bad)), MalformedSaslMessage, bad)
    }
  })

  test('sends the message after an empty first challenge when no initial response was sent', () => {
    const client = xoauth2({ username: googleUser, accessToken: googleToken })
    assert.equal(text(client.next(new Uint8Array(0))), googleMessage)
  })

  test('refuses usernames with control characters and tokens with spaces', () => {
    assert.throws(() => xoauth2({ username: 'a\x01b', accessToken: 'tok' }), TypeError)
    assert.throws(() => xoauth2({ username: '', accessToken: 'tok' }), TypeError)
    assert.throws(() => xoauth2({ username: 'a', accessToken: 'to k' }), TypeError)
    assert.throws(() => xoauth2({ username: 'a', accessToken: '' }), TypeError)
  })
})

describe('XOAUTH2 message parsing', () => {
  test("reads Google's example, with the scheme name in any case", () => {
    assert.deepEqual(parseXoauth2Message(bytes(googleMessage)), { username: googleUser, token: googleToken })
    assert.deepEqual(parseXoauth2Message(bytes(`auth=bearer ${googleToken}\x01user=${googleUser}\x01\x01`)), {
      username: googleUser,
      token: googleToken,
    })
  })

  test('rejects messages without user, without a bearer token, with repeated fields or without ^A^A', () => {
    for (const bad of [
      `user=${googleUser}\x01auth=Bearer ${googleToken}\x01`,
      `auth=Bearer ${googleToken}\x01\x01`,
      `user=${googleUser}\x01auth=Basic abc\x01\x01`,
      `user=${googleUser}\x01auth=Bearer \x01\x01`,
      `user=a\x01user=b\x01auth=Bearer t\x01\x01`,
      `user=${googleUser}\x01garbage\x01auth=Bearer t\x01\x01`,
      '',
    ]) {
      assert.throws(() => parseXoauth2Message(bytes(bad)), MalformedSaslMessage, JSON.stringify(bad))
    }
  })
})

describe('XOAUTH2 server', () => {
  test('authenticates a good token', async () => {
    assert.equal(await exchange(xoauth2({ username: googleUser, accessToken: googleToken }), xoauth2Server(authenticate)), googleUser)
  })

  test('answers a refused token with a JSON error challenge, then fails on the empty response', async () => {
    const client = xoauth2({ username: googleUser, accessToken: 'expired-token' })
    const server = xoauth2Server(authenticate)
    const step = await server.next(client.start())
    assert.ok(!step.done)
    assert.deepEqual(JSON.parse(text(step.challenge)), { status: '401', schemes: 'bearer' })
    const response = client.next(step.challenge)
    assert.equal(response.length, 0)
    assert.equal(client.serverError?.status, '401')
    await assert.rejects(server.next(response), AuthenticationFailed)
  })

  test('runs the same error flow when the hook throws AuthenticationFailed, keeping its reason', async () => {
    const server = xoauth2Server(() => {
      throw new AuthenticationFailed('token revoked')
    })
    const step = await server.next(bytes(googleMessage))
    assert.equal(step.done, false)
    await assert.rejects(server.next(new Uint8Array(0)), /token revoked/)
  })

  test('passes other hook errors through without the error flow', async () => {
    const failure = new Error('token service unreachable')
    const server = xoauth2Server(() => {
      throw failure
    })
    await assert.rejects(server.next(bytes(googleMessage)), (error) => error === failure)
  })

  test('rejects a non-empty response to the error challenge as malformed', async () => {
    const server = xoauth2Server(() => false)
    await server.next(bytes(googleMessage))
    await assert.rejects(server.next(bytes('x')), MalformedSaslMessage)
  })

  test('asks for the message with an empty challenge when there is no initial response', async () => {
    const identity = await exchange(xoauth2({ username: googleUser, accessToken: googleToken }), xoauth2Server(authenticate), {
      sendInitialResponse: false,
    })
    assert.equal(identity, googleUser)
  })

  test('rejects a malformed message before calling the hook', async () => {
    let called = false
    const server = xoauth2Server(() => (called = true))
    await assert.rejects(server.next(bytes('user=x\x01\x01')), MalformedSaslMessage)
    assert.equal(called, false)
  })
})

describe('client mechanism options', () => {
  test("each factory names an unknown key, with nodemailer's user and pass pointed to username and password", async () => {
    const { plain } = await import('../../src/sasl/plain.ts')
    const { login } = await import('../../src/sasl/login.ts')
    const { cramMd5 } = await import('../../src/sasl/cram-md5.ts')
    const { scramSha256 } = await import('../../src/sasl/scram-sha-256.ts')
    assert.throws(() => plain({ user: 'u', pass: 'p' } as never), /plain\(\): unknown option "user"; use username/)
    assert.throws(() => login({ username: 'u', pass: 'p' } as never), /login\(\): unknown option "pass"; use password/)
    assert.throws(() => cramMd5({ username: 'u', password: 'p', salt: 'x' } as never), /cramMd5\(\): unknown option "salt"/)
    assert.throws(() => scramSha256({ username: 'u', password: 'p', maxIterations: '5' } as never), /"maxIterations" must be number/)
    assert.throws(() => xoauth2({ username: 'u', accessToken: 't', refreshToken: 'r' } as never), /"refreshToken".*accessToken: async/)
    assert.throws(() => xoauth2({ username: 'u', accessToken: 5 } as never), /"accessToken" must be string or function/)
  })
})
