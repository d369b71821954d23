import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { AuthenticationFailed, MalformedSaslMessage } from '../../src/sasl/errors.ts'
import { login, loginServer } from '../../src/sasl/login.ts'
import type { Authenticate } from '../../src/sasl/mechanism.ts'
import { bytes, exchange, text } from './exchange.ts'

const authenticate: Authenticate = (request) =>
  request.mechanism === 'LOGIN' && request.username === 'alice' && request.password === 'wonderland'

describe('LOGIN client', () => {
  test('has no initial response and answers the two prompts in order, whatever they say', () => {
    const client = login({ username: 'alice', password: 'wonderland' })
    assert.equal(client.name, 'LOGIN')
    assert.equal(client.sendsPasswordInClear, true)
    assert.equal(client.start(), null)
    assert.deepEqual(client.next(bytes('User Name\0')), bytes('alice'))
    assert.equal(client.isComplete, false)
    assert.deepEqual(client.next(bytes('Password:')), bytes('wonderland'))
    assert.equal(client.isComplete, true)
  })

  test('rejects a third challenge', () => {
    const client = login({ username: 'alice', password: 'wonderland' })
    client.next(bytes('Username:'))
    client.next(bytes('Password:'))
    assert.throws(() => client.next(bytes('Again:')), MalformedSaslMessage)
  })

  test('refuses an empty username', () => {
    assert.throws(() => login({ username: '', password: 'x' }), TypeError)
  })
})

describe('LOGIN server', () => {
  test('prompts with Username: and Password:', async () => {
    const server = loginServer(authenticate)
    const first = await server.next(null)
    assert.equal(first.done, false)
    assert.equal(!first.done && text(first.challenge), 'Username:')
    const second = await server.next(bytes('alice'))
    assert.equal(!second.done && text(second.challenge), 'Password:')
    assert.deepEqual(await server.next(bytes('wonderland')), { done: true, identity: 'alice' })
  })

  test('takes an initial response as the username and skips the first prompt', async () => {
    const server = loginServer(authenticate)
    const step = await server.next(bytes('alice'))
    assert.equal(!step.done && text(step.challenge), 'Password:')
    assert.deepEqual(await server.next(bytes('wonderland')), { done: true, identity: 'alice' })
  })

  test('authenticates a client round trip', async () => {
    assert.equal(await exchange(login({ username: 'alice', password: 'wonderland' }), loginServer(authenticate)), 'alice')
  })

  test('fails a wrong password and an unknown user', async () => {
    await assert.rejects(exchange(login({ username: 'alice', password: 'nope' }), loginServer(authenticate)), AuthenticationFailed)
    await assert.rejects(exchange(login({ username: 'bob', password: 'wonderland' }), loginServer(authenticate)), AuthenticationFailed)
  })

  test('rejects an empty or non-UTF-8 username and a non-UTF-8 password as malformed', async () => {
    await assert.rejects(loginServer(authenticate).next(new Uint8Array(0)), MalformedSaslMessage)
    await assert.rejects(loginServer(authenticate).next(Uint8Array.of(0xc3)), MalformedSaslMessage)
    const server = loginServer(authenticate)
    await server.next(bytes('alice'))
    await assert.rejects(server.next(Uint8Array.of(0xff, 0xfe)), MalformedSaslMessage)
  })

  test('refuses a null response after the first step and any step after the end', async () => {
    const server = loginServer(authenticate)
    await server.next(null)
    await assert.rejects(server.next(null), TypeError)
    const done = loginServer(authenticate)
    await done.next(bytes('alice'))
    await done.next(bytes('wonderland'))
    await assert.rejects(done.next(bytes('x')), /already finished/)
  })
})
