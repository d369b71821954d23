import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { AuthenticationFailed, MalformedSaslMessage } from '../../src/sasl/errors.ts'
import type { ClientMechanism } from '../../src/sasl/mechanism.ts'
import { deriveScramCredentials, scramSha256, scramSha256WithTestNonce } from '../../src/sasl/scram-sha-256.ts'
import { bytes, text } from './exchange.ts'

// RFC 7677 §3.
const vector = {
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
}

function vectorClient(): ClientMechanism {
  return scramSha256WithTestNonce({ username: 'user', password: 'pencil' }, 'rOprNGfwEbeRWgbNEkqO')
}

function clientAtFinal(): ClientMechanism {
  const client = vectorClient()
  client.start()
  client.next(bytes(vector.serverFirst))
  return client
}

describe('SCRAM-SHA-256 client', () => {
  test('reproduces the RFC 7677 example exchange and verifies the server', () => {
    const client = vectorClient()
    assert.equal(client.name, 'SCRAM-SHA-256')
    assert.equal(client.sendsPasswordInClear, false)
    assert.equal(text(client.start()!), vector.clientFirst)
    assert.equal(text(client.next(bytes(vector.serverFirst))), vector.clientFinal)
    assert.equal(client.isComplete, false)
    assert.deepEqual(client.next(bytes(vector.serverFinal)), new Uint8Array(0))
    assert.equal(client.isComplete, true)
    assert.throws(() => client.next(new Uint8Array(0)), MalformedSaslMessage)
  })

  test('throws AuthenticationFailed on a server signature that does not match', () => {
    const client = clientAtFinal()
    assert.throws(() => client.next(bytes('v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=')), AuthenticationFailed)
    assert.equal(client.isComplete, false)
    assert.throws(() => clientAtFinal().next(bytes('v=AAAA')), AuthenticationFailed)
  })

  test('throws AuthenticationFailed with the reason when the server sends e=', () => {
    assert.throws(() => clientAtFinal().next(bytes('e=invalid-proof')), /invalid-proof/)
    assert.throws(() => clientAtFinal().next(bytes('e=other-error')), AuthenticationFailed)
  })

  test('rejects a server nonce that does not extend the client nonce', () => {
    for (const serverFirst of ['r=someoneElse123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096', 'r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096']) {
      const client = vectorClient()
      client.start()
      assert.throws(() => client.next(bytes(serverFirst)), MalformedSaslMessage, serverFirst)
    }
  })

  test('rejects malformed server-first-messages', () => {
    const nonce = 'r=rOprNGfwEbeRWgbNEkqOxyz'
    for (const bad of [
      `m=ext,${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`,
      `${nonce},s=not*base64,i=4096`,
      `${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0`,
      `${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1`,
      `${nonce},i=4096,s=W22ZaJ0SNY7soEsUEjb6gQ==`,
      `${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==`,
      `${nonce},,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`,
      '',
    ]) {
      const client = vectorClient()
      client.start()
      assert.throws(() => client.next(bytes(bad)), MalformedSaslMessage, bad)
    }
  })

  test('ignores extensions after the iteration count', () => {
    const client = vectorClient()
    client.start()
    assert.doesNotThrow(() => client.next(bytes(`${vector.serverFirst},x=extension`)))
  })

  test('refuses an iteration count above maxIterations instead of freezing', () => {
    const client = scramSha256WithTestNonce({ username: 'user', password: 'pencil', maxIterations: 10_000 }, 'abc')
    client.start()
    assert.throws(() => client.next(bytes('r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4000000000')), /maxIterations/)
  })

  test('refuses an iteration count below 4096 (RFC 7677 §4), which would make a captured exchange cheap to crack', () => {
    for (const count of [1, 4095]) {
      const client = scramSha256WithTestNonce({ username: 'user', password: 'pencil' }, 'abc')
      client.start()
      assert.throws(() => client.next(bytes(`r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=${count}`)), AuthenticationFailed)
    }
  })

  test('writes the authzid into the gs2 header and escapes = and , in names', () => {
    const client = scramSha256WithTestNonce({ username: 'a=b,c', password: 'pencil', authorizationId: 'x,y=z' }, 'nonce')
    assert.equal(text(client.start()!), 'n,a=x=2Cy=3Dz,n=a=3Db=2Cc,r=nonce')
    const final = text(client.next(bytes('r=nonceSERVER,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')))
    assert.match(final, new RegExp(`^c=${Buffer.from('n,a=x=2Cy=3Dz,').toString('base64')},r=nonceSERVER,p=`))
  })

  test('applies SASLprep to username and password', () => {
    const client = scramSha256WithTestNonce({ username: 'us\u00ADer', password: 'pen\u00ADcil' }, 'rOprNGfwEbeRWgbNEkqO')
    assert.equal(text(client.start()!), vector.clientFirst)
    assert.equal(text(client.next(bytes(vector.serverFirst))), vector.clientFinal)
    assert.throws(() => scramSha256({ username: 'us\x07er', password: 'x' }), TypeError)
    assert.throws(() => scramSha256({ username: '\u00AD', password: 'x' }), TypeError)
  })

  test('uses a fresh random nonce each time', () => {
    const a = text(scramSha256({ username: 'user', password: 'pencil' }).start()!)
    const b = text(scramSha256({ username: 'user', password: 'pencil' }).start()!)
    assert.match(a, /^n,,n=user,r=[\x21-\x2b\x2d-\x7e]{24}$/)
    assert.notEqual(a, b)
  })

  test('sends client-first after an empty first challenge when no initial response was sent', () => {
    assert.equal(text(vectorClient().next(new Uint8Array(0))), vector.clientFirst)
  })
})

describe('deriveScramCredentials', () => {
  test('derives keys that verify the RFC 7677 example proof', async () => {
    const credentials = await deriveScramCredentials('pencil', { salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64') })
    assert.equal(credentials.iterations, 4096)
    assert.equal(Buffer.from(credentials.salt).toString('base64'), 'W22ZaJ0SNY7soEsUEjb6gQ==')
    assert.equal(credentials.storedKey.length, 32)
    assert.equal(credentials.serverKey.length, 32)
    // The full server-side check of this vector is in scram-sha-256-server.test.ts.
  })

  test('picks a random 16-byte salt by default', async () => {
    const a = await deriveScramCredentials('pencil', { iterations: 1 })
    const b = await deriveScramCredentials('pencil', { iterations: 1 })
    assert.equal(a.salt.length, 16)
    assert.notDeepEqual(a.salt, b.salt)
  })

  test('prepares the password with SASLprep', async () => {
    const salt = Buffer.from('salt')
    assert.deepEqual(
      await deriveScramCredentials('I\u00ADX', { salt, iterations: 2 }),
      await deriveScramCredentials('\u2168', { salt, iterations: 2 }),
    )
  })

  test('refuses bad iteration counts and empty salts', async () => {
    await assert.rejects(deriveScramCredentials('x', { iterations: 0 }), RangeError)
    await assert.rejects(deriveScramCredentials('x', { iterations: 1.5 }), RangeError)
    await assert.rejects(deriveScramCredentials('x', { salt: new Uint8Array(0) }), RangeError)
  })
})
