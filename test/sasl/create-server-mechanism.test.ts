import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createServerMechanism, serverMechanismNames } from '../../src/sasl/create-server-mechanism.ts'
import { AuthenticationFailed, MalformedSaslMessage } from '../../src/sasl/errors.ts'
import { fromPassword } from '../../src/sasl/from-password.ts'
import type { Authenticate, ClientMechanism } from '../../src/sasl/mechanism.ts'
import { xoauth2 } from '../../src/sasl/xoauth2.ts'
import { bytes, exchange, text } from './exchange.ts'

const passwords = new Map([
  ['alice', 'wonderland'],
  ['admin', 'root-pw'],
])
const tokens = new Map([['alice', 'token-of-alice']])

// One hook for every mechanism, as a server would write it. admin may act as anyone.
const authenticate: Authenticate = (request) => {
  switch (request.mechanism) {
    case 'PLAIN': {
      if (passwords.get(request.username) !== request.password) return false
      return request.username === 'admin' && request.authorizationId !== undefined ? { identity: request.authorizationId } : true
    }
    case 'LOGIN':
      return passwords.get(request.username) === request.password
    case 'CRAM-MD5': {
      const password = passwords.get(request.username)
      return password !== undefined && request.verify(password)
    }
    case 'XOAUTH2':
      return tokens.get(request.username) === request.token
    case 'SCRAM-SHA-256': {
      const password = passwords.get(request.username) ?? null
      if (password !== null && request.username === 'admin' && request.authorizationId !== undefined) {
        return { credentials: password, identity: request.authorizationId }
      }
      return password
    }
  }
}

function serverFor(name: string) {
  const server = createServerMechanism(name, authenticate, { hostname: 'mx.example.test', scramIterations: 4096 })
  assert.ok(server, name)
  return server
}

const passwordMechanisms = ['SCRAM-SHA-256', 'CRAM-MD5', 'PLAIN', 'LOGIN'] as const

function client(name: string, username: string, password: string, authorizationId?: string): ClientMechanism {
  const mechanism = fromPassword(name, { username, password, authorizationId })
  assert.ok(mechanism, name)
  return mechanism
}

describe('createServerMechanism', () => {
  test('creates every listed mechanism, matching names without regard to case', () => {
    for (const name of serverMechanismNames) {
      assert.equal(createServerMechanism(name, authenticate)?.name, name)
      assert.equal(createServerMechanism(name.toLowerCase(), authenticate)?.name, name)
    }
  })

  test('returns undefined for mechanisms it does not implement', () => {
    assert.equal(createServerMechanism('GSSAPI', authenticate), undefined)
    assert.equal(createServerMechanism('SCRAM-SHA-1', authenticate), undefined)
  })

  test('refuses bad options and a missing hook', () => {
    assert.throws(() => createServerMechanism('CRAM-MD5', authenticate, { hostname: 'bad host' }), TypeError)
    assert.throws(() => createServerMechanism('SCRAM-SHA-256', authenticate, { scramIterations: 0 }), RangeError)
    assert.throws(() => createServerMechanism('PLAIN', undefined as unknown as Authenticate), TypeError)
  })
})

describe('client ⇄ server round trips', () => {
  for (const name of passwordMechanisms) {
    test(`${name}: authenticates the right password`, async () => {
      assert.equal(await exchange(client(name, 'alice', 'wonderland'), serverFor(name)), 'alice')
    })

    test(`${name}: fails a wrong password with AuthenticationFailed`, async () => {
      await assert.rejects(exchange(client(name, 'alice', 'looking-glass'), serverFor(name)), AuthenticationFailed)
    })

    test(`${name}: fails an unknown user with AuthenticationFailed`, async () => {
      await assert.rejects(exchange(client(name, 'mallory', 'wonderland'), serverFor(name)), AuthenticationFailed)
    })

    test(`${name}: rejects a garbage message with MalformedSaslMessage`, async () => {
      const server = serverFor(name)
      const first = await server.next(null)
      assert.equal(first.done, false)
      const garbage = name === 'LOGIN' ? new Uint8Array(0) : bytes('garbage')
      await assert.rejects(server.next(garbage), MalformedSaslMessage)
    })
  }

  for (const name of ['PLAIN', 'SCRAM-SHA-256'] as const) {
    test(`${name}: carries an authzid, granted only where the hook allows it`, async () => {
      assert.equal(await exchange(client(name, 'admin', 'root-pw', 'alice'), serverFor(name)), 'alice')
      await assert.rejects(exchange(client(name, 'alice', 'wonderland', 'admin'), serverFor(name)), AuthenticationFailed)
    })
  }

  test('XOAUTH2: authenticates a good token', async () => {
    assert.equal(await exchange(xoauth2({ username: 'alice', accessToken: 'token-of-alice' }), serverFor('XOAUTH2')), 'alice')
  })

  test('XOAUTH2: a bad token gets the error challenge, an empty answer, then AuthenticationFailed', async () => {
    const mechanism = xoauth2({ username: 'alice', accessToken: 'stolen' })
    await assert.rejects(exchange(mechanism, serverFor('XOAUTH2')), AuthenticationFailed)
    assert.equal(mechanism.serverError?.status, '401')
  })

  test('every exchange that succeeds leaves the client complete', async () => {
    for (const name of passwordMechanisms) {
      const mechanism = client(name, 'alice', 'wonderland')
      await exchange(mechanism, serverFor(name))
      assert.equal(mechanism.isComplete, true, name)
    }
  })

  test('LOGIN and CRAM-MD5 work without the client speaking first; the others with or without', async () => {
    for (const name of passwordMechanisms) {
      assert.equal(await exchange(client(name, 'alice', 'wonderland'), serverFor(name), { sendInitialResponse: false }), 'alice', name)
    }
  })

  test("the server's first challenge for LOGIN is Username:", async () => {
    const step = await serverFor('LOGIN').next(null)
    assert.equal(!step.done && text(step.challenge), 'Username:')
  })
})
