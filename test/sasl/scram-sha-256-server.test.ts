import assert from 'node:assert/strict'
import { pbkdf2Sync } from 'node:crypto'
import { describe, test } from 'node:test'
import { AuthenticationFailed, MalformedSaslMessage } from '../../src/sasl/errors.ts'
import type { Authenticate, ScramSha256AuthRequest, ServerMechanism } from '../../src/sasl/mechanism.ts'
import { scramSha256Server } from '../../src/sasl/scram-sha-256-server.ts'
import {
  deriveScramCredentials,
  hmac,
  keysFromSaltedPassword,
  scramSha256,
  scramSha256WithTestNonce,
  xor,
} from '../../src/sasl/scram-sha-256.ts'
import { bytes, exchange, text } from './exchange.ts'

// RFC 7677 §3.
const vector = {
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
}

const iterations = 4096 // the least a client accepts (RFC 7677 §4)
const stored = await deriveScramCredentials('hunter2', { iterations })
const vectorCredentials = await deriveScramCredentials('pencil', { salt: Buffer.from(vector.salt, 'base64') })

// alice's password comes back as a string, bob's as stored credentials; admin may act as anyone.
const authenticate: Authenticate = (request) => {
  const { username, authorizationId } = request as ScramSha256AuthRequest
  if (username === 'alice') return 'wonderland'
  if (username === 'bob') return stored
  if (username === 'admin') return { credentials: 'root-pw', identity: authorizationId ?? 'admin' }
  return null
}

function server(hook: Authenticate = authenticate): ServerMechanism {
  return scramSha256Server(hook, { iterations })
}

async function serverFirstOf(mechanism: ServerMechanism, username: string): Promise<string> {
  const step = await mechanism.next(bytes(`n,,n=${username},r=clientnonce`))
  assert.ok(!step.done)
  return text(step.challenge)
}

describe('SCRAM-SHA-256 server', () => {
  test('reproduces the RFC 7677 example exchange', async () => {
    const mechanism = scramSha256Server(() => vectorCredentials, { iterations: 4096, insecureTestNonce: vector.serverNonce })
    assert.deepEqual(await mechanism.next(bytes(vector.clientFirst)), { done: false, challenge: bytes(vector.serverFirst) })
    assert.deepEqual(await mechanism.next(bytes(vector.clientFinal)), { done: false, challenge: bytes(vector.serverFinal) })
    assert.deepEqual(await mechanism.next(new Uint8Array(0)), { done: true, identity: 'user' })
  })

  test('authenticates our client with a password string and with stored credentials', async () => {
    assert.equal(await exchange(scramSha256({ username: 'alice', password: 'wonderland' }), server()), 'alice')
    assert.equal(await exchange(scramSha256({ username: 'bob', password: 'hunter2' }), server()), 'bob')
    assert.equal(await exchange(scramSha256({ username: 'bob', password: 'hunter2' }), server(), { sendInitialResponse: false }), 'bob')
  })

  test('fails a wrong password at the client-final step, without sending the server signature', async () => {
    const mechanism = server()
    const client = scramSha256({ username: 'alice', password: 'wrong' })
    const first = await mechanism.next(client.start())
    assert.ok(!first.done)
    await assert.rejects(mechanism.next(client.next(first.challenge)), (error: Error) => {
      assert.ok(error instanceof AuthenticationFailed)
      assert.match(error.message, /wrong password/)
      return true
    })
  })

  test('runs an unknown user to the end and fails there, with a server-first like a real one', async () => {
    await assert.rejects(exchange(scramSha256({ username: 'mallory', password: 'x' }), server()), /unknown user/)
    const unknown = await serverFirstOf(server(), 'mallory')
    const known = await serverFirstOf(server(), 'alice')
    const shape = (message: string) => message.replace(new RegExp(`^r=clientnonce[^,]+,s=[^,]{24},i=${iterations}$`), 'same')
    assert.equal(shape(unknown), 'same')
    assert.equal(shape(known), 'same')
    // The made-up salt is stable per username, so probing twice shows nothing either.
    const salt = (message: string) => message.split(',')[1]
    assert.equal(salt(await serverFirstOf(server(), 'mallory')), salt(unknown))
  })

  test('grants an authzid only when the hook returns { credentials, identity }', async () => {
    const asBob = { username: 'admin', password: 'root-pw', authorizationId: 'bob' }
    assert.equal(await exchange(scramSha256(asBob), server()), 'bob')
    await assert.rejects(
      exchange(scramSha256({ username: 'alice', password: 'wonderland', authorizationId: 'bob' }), server()),
      /may not act as/,
    )
    assert.equal(await exchange(scramSha256({ username: 'alice', password: 'wonderland', authorizationId: 'alice' }), server()), 'alice')
  })

  test('passes the unescaped username and authzid to the hook', async () => {
    let seen: ScramSha256AuthRequest | undefined
    const mechanism = server((request) => {
      seen = request as ScramSha256AuthRequest
      return null
    })
    await mechanism.next(bytes('n,a=x=2Cy,n=a=3Db,r=abc'))
    assert.deepEqual(seen, { mechanism: 'SCRAM-SHA-256', username: 'a=b', authorizationId: 'x,y' })
  })

  test('accepts the y flag when c= carries the y gs2 header, and checks that it does', async () => {
    const mechanism = server()
    const first = await mechanism.next(bytes('y,,n=bob,r=abc'))
    assert.ok(!first.done)
    const serverFirst = text(first.challenge)
    const withoutProof = `c=${Buffer.from('y,,').toString('base64')},r=${serverFirst.split(',')[0]!.slice(2)}`
    const { clientKey, storedKey } = keysFromSaltedPassword(pbkdf2Sync('hunter2', stored.salt, iterations, 32, 'sha256'))
    const proof = xor(clientKey, hmac(storedKey, `n=bob,r=abc,${serverFirst},${withoutProof}`))
    const final = await mechanism.next(bytes(`${withoutProof},p=${proof.toString('base64')}`))
    assert.equal(final.done, false)
    assert.deepEqual(await mechanism.next(new Uint8Array(0)), { done: true, identity: 'bob' })

    // A client that says y,, but signs n,, (c=biws) is caught.
    const client = scramSha256WithTestNonce({ username: 'alice', password: 'wonderland' }, 'abc')
    const other = server()
    const step = await other.next(bytes('y,,n=alice,r=abc'))
    assert.ok(!step.done)
    client.start()
    await assert.rejects(other.next(client.next(step.challenge)), /channel binding/)
  })

  test('refuses channel binding and mandatory extensions it does not support', async () => {
    await assert.rejects(server().next(bytes('p=tls-unique,,n=alice,r=abc')), AuthenticationFailed)
    await assert.rejects(server().next(bytes('n,,m=ext,n=alice,r=abc')), AuthenticationFailed)
  })

  test('rejects malformed client-first-messages before calling the hook', async () => {
    let called = false
    const hook: Authenticate = () => {
      called = true
      return null
    }
    for (const bad of ['', 'n,,', 'n,n=alice,r=abc', 'x,,n=alice,r=abc', 'n,b=x,n=alice,r=abc', 'n,,r=abc,n=alice', 'n,,n=a=2Xb,r=abc', 'n,,n=alice', 'n,,n=alice,r=a b', 'n,,n=al\0ice,r=abc']) {
      await assert.rejects(server(hook).next(bytes(bad)), MalformedSaslMessage, JSON.stringify(bad))
    }
    await assert.rejects(server(hook).next(Uint8Array.of(0x6e, 0x2c, 0x2c, 0xff)), MalformedSaslMessage)
    assert.equal(called, false)
  })

  test('rejects malformed or mismatched client-final-messages', async () => {
    const proof = Buffer.alloc(32).toString('base64')
    const cases: [string, RegExp | typeof MalformedSaslMessage][] = [
      ['c=biws,r=clientnonceX', MalformedSaslMessage],
      [`c=biws,p=${proof}`, MalformedSaslMessage],
      [`c=biws,r=clientnonceX,p=AAAA`, MalformedSaslMessage],
      [`c=bad*,r=clientnonceX,p=${proof}`, MalformedSaslMessage],
      [`c=eSws,r=NONCE,p=${proof}`, /channel binding/],
      [`c=biws,r=clientnonce-other,p=${proof}`, /nonce/],
    ]
    for (const [message, expected] of cases) {
      const mechanism = server()
      const first = text(((await mechanism.next(bytes('n,,n=alice,r=clientnonce'))) as { challenge: Uint8Array }).challenge)
      const nonce = first.split(',')[0]!.slice(2)
      await assert.rejects(mechanism.next(bytes(message.replace('clientnonceX', nonce).replace('NONCE', nonce))), expected, message)
    }
  })

  test('requires an empty response to the server-final-message', async () => {
    const client = scramSha256({ username: 'alice', password: 'wonderland' })
    const mechanism = server()
    const first = await mechanism.next(client.start())
    assert.ok(!first.done)
    await mechanism.next(client.next(first.challenge))
    await assert.rejects(mechanism.next(bytes('x')), MalformedSaslMessage)
  })

  test('treats a hook result of the wrong kind as a TypeError', async () => {
    for (const wrong of [true, false, { identity: 'alice' }, { salt: new Uint8Array(1) }, 42]) {
      await assert.rejects(server(() => wrong as never).next(bytes('n,,n=alice,r=abc')), TypeError)
    }
  })

  test('is spent after a failure', async () => {
    const mechanism = server()
    await assert.rejects(mechanism.next(bytes('garbage')), MalformedSaslMessage)
    await assert.rejects(mechanism.next(bytes('n,,n=alice,r=abc')), /already finished/)
  })
})
