import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { AuthenticationFailed, MalformedSaslMessage } from '../../src/sasl/errors.ts'
import type { Authenticate, PlainAuthRequest } from '../../src/sasl/mechanism.ts'
import { parsePlainMessage, plain, plainServer } from '../../src/sasl/plain.ts'
import { bytes, exchange } from './exchange.ts'

const users = new Map([
  ['tim', 'tanstaaftanstaaf'],
  ['Kurt', 'xipj3plmq'],
])

const authenticate: Authenticate = (request) => {
  assert.equal(request.mechanism, 'PLAIN')
  const { username, password, authorizationId } = request as PlainAuthRequest
  if (users.get(username) !== password) return false
  // Kurt may act as Ursel; everyone may act as themselves.
  if (authorizationId === 'Ursel' && username === 'Kurt') return { identity: 'Ursel' }
  return true
}

describe('PLAIN client', () => {
  test('sends the RFC 4616 §4 example messages as the initial response', () => {
    assert.deepEqual(plain({ username: 'tim', password: 'tanstaaftanstaaf' }).start(), bytes('\0tim\0tanstaaftanstaaf'))
    assert.deepEqual(
      plain({ authorizationId: 'Ursel', username: 'Kurt', password: 'xipj3plmq' }).start(),
      bytes('Ursel\0Kurt\0xipj3plmq'),
    )
  })

  test('sends the password in clear and is complete once the message is sent', () => {
    const client = plain({ username: 'tim', password: 'x' })
    assert.equal(client.name, 'PLAIN')
    assert.equal(client.sendsPasswordInClear, true)
    assert.equal(client.isComplete, false)
    client.start()
    assert.equal(client.isComplete, true)
  })

  test('answers an empty first challenge with the message when no initial response was sent', () => {
    const client = plain({ username: 'tim', password: 'tanstaaftanstaaf' })
    assert.deepEqual(client.next(new Uint8Array(0)), bytes('\0tim\0tanstaaftanstaaf'))
  })

  test('rejects a challenge after the message and a non-empty first challenge', () => {
    const sent = plain({ username: 'tim', password: 'x' })
    sent.start()
    assert.throws(() => sent.next(new Uint8Array(0)), MalformedSaslMessage)
    assert.throws(() => plain({ username: 'tim', password: 'x' }).next(bytes('hello')), MalformedSaslMessage)
  })

  test('refuses empty or NUL-containing credentials with a TypeError that does not echo the password', () => {
    assert.throws(() => plain({ username: '', password: 'x' }), TypeError)
    assert.throws(() => plain({ username: 'tim', password: '' }), TypeError)
    assert.throws(() => plain({ username: 'ti\0m', password: 'x' }), TypeError)
    assert.throws(() => plain({ username: 'tim', password: 'se\0cret' }), (error: Error) => {
      assert.ok(error instanceof TypeError)
      assert.doesNotMatch(error.message, /se.?cret/)
      return true
    })
    assert.throws(() => plain({ username: 'tim', password: 'x', authorizationId: 'a\0b' }), TypeError)
    assert.throws(() => plain({ username: 'tim', password: '\uD800' }), TypeError)
  })
})

describe('PLAIN message parsing', () => {
  test('reads the RFC 4616 §4 examples, an empty authzid as undefined', () => {
    assert.deepEqual(parsePlainMessage(bytes('\0tim\0tanstaaftanstaaf')), {
      authorizationId: undefined,
      username: 'tim',
      password: 'tanstaaftanstaaf',
    })
    assert.deepEqual(parsePlainMessage(bytes('Ursel\0Kurt\0xipj3plmq')), {
      authorizationId: 'Ursel',
      username: 'Kurt',
      password: 'xipj3plmq',
    })
  })

  test('rejects messages without exactly two NULs, with empty authcid or passwd, or not UTF-8', () => {
    for (const bad of ['tim', '\0tim', '\0tim\0pw\0', '\0\0pw', '\0tim\0', '']) {
      assert.throws(() => parsePlainMessage(bytes(bad)), MalformedSaslMessage, JSON.stringify(bad))
    }
    assert.throws(() => parsePlainMessage(Uint8Array.of(0, 0x74, 0, 0xff)), MalformedSaslMessage)
  })
})

describe('PLAIN server', () => {
  test('authenticates a round trip with and without an initial response', async () => {
    assert.equal(await exchange(plain({ username: 'tim', password: 'tanstaaftanstaaf' }), plainServer(authenticate)), 'tim')
    assert.equal(
      await exchange(plain({ username: 'tim', password: 'tanstaaftanstaaf' }), plainServer(authenticate), { sendInitialResponse: false }),
      'tim',
    )
  })

  test('sends an empty challenge when the client gave no initial response', async () => {
    const step = await plainServer(authenticate).next(null)
    assert.deepEqual(step, { done: false, challenge: new Uint8Array(0) })
  })

  test('fails a wrong password and an unknown user alike, without the password in the message', async () => {
    for (const [username, password] of [['tim', 'wrong-pw'], ['nobody', 'wrong-pw']] as const) {
      await assert.rejects(exchange(plain({ username, password }), plainServer(authenticate)), (error: Error) => {
        assert.ok(error instanceof AuthenticationFailed)
        assert.doesNotMatch(error.message, /wrong-pw/)
        return true
      })
    }
  })

  test('grants an authzid only when the hook returns that identity', async () => {
    const client = plain({ authorizationId: 'Ursel', username: 'Kurt', password: 'xipj3plmq' })
    assert.equal(await exchange(client, plainServer(authenticate)), 'Ursel')
    // The hook returns plain `true` for tim acting as Kurt: that is not a grant.
    await assert.rejects(
      exchange(plain({ authorizationId: 'Kurt', username: 'tim', password: 'tanstaaftanstaaf' }), plainServer(authenticate)),
      AuthenticationFailed,
    )
    assert.equal(await exchange(plain({ authorizationId: 'tim', username: 'tim', password: 'tanstaaftanstaaf' }), plainServer(authenticate)), 'tim')
  })

  test('rejects a malformed message with MalformedSaslMessage before calling the hook', async () => {
    let called = false
    const server = plainServer(() => {
      called = true
      return true
    })
    await assert.rejects(server.next(bytes('tim\0only-one-nul')), MalformedSaslMessage)
    assert.equal(called, false)
  })

  test('treats a hook result of the wrong kind as a TypeError, never as success', async () => {
    await assert.rejects(plainServer(() => 'tim').next(bytes('\0tim\0pw')), TypeError)
    await assert.rejects(plainServer(() => ({ credentials: 'pw', identity: 'tim' })).next(bytes('\0tim\0pw')), TypeError)
  })

  test('passes errors thrown by the hook through unchanged', async () => {
    const failure = new Error('database down')
    await assert.rejects(
      plainServer(() => {
        throw failure
      }).next(bytes('\0tim\0pw')),
      (error) => error === failure,
    )
  })

  test('is spent after one exchange', async () => {
    const server = plainServer(authenticate)
    await server.next(bytes('\0tim\0tanstaaftanstaaf'))
    await assert.rejects(server.next(bytes('\0tim\0tanstaaftanstaaf')), /already finished/)
  })

  test('round-trips any username, password and authzid without NUL', async () => {
    const field = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter((s) => !s.includes('\0'))
    await fc.assert(
      fc.asyncProperty(field, field, fc.option(field, { nil: undefined }), async (username, password, authorizationId) => {
        let seen: PlainAuthRequest | undefined
        const server = plainServer((request) => {
          seen = request as PlainAuthRequest
          return { identity: 'ok' }
        })
        assert.equal(await exchange(plain({ username, password, authorizationId }), server), 'ok')
        assert.deepEqual(seen, { mechanism: 'PLAIN', username, password, authorizationId })
      }),
      { numRuns: 200 },
    )
  })
})
