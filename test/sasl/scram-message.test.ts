import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { MalformedSaslMessage } from '../../src/sasl/errors.ts'
import type { ScramSha256AuthRequest } from '../../src/sasl/mechanism.ts'
import {
  escapeSaslName,
  formatClientFirst,
  parseClientFinal,
  parseClientFirst,
  parseServerFinal,
  parseServerFirst,
  unescapeSaslName,
} from '../../src/sasl/scram-message.ts'
import { scramSha256Server } from '../../src/sasl/scram-sha-256-server.ts'
import { scramSha256 } from '../../src/sasl/scram-sha-256.ts'

describe('saslname escaping', () => {
  test('writes = as =3D and , as =2C (RFC 5802 §5.1)', () => {
    assert.equal(escapeSaslName('a=b,c'), 'a=3Db=2Cc')
    assert.equal(escapeSaslName('=2C'), '=3D2C')
    assert.equal(unescapeSaslName('a=3Db=2Cc'), 'a=b,c')
    assert.equal(unescapeSaslName('=3D2C'), '=2C')
  })

  test('refuses = followed by anything but 2C or 3D', () => {
    for (const bad of ['=', 'a=', '=2c', '=3d', '=41', 'a=b']) assert.equal(unescapeSaslName(bad), undefined, bad)
  })

  test('round-trips any string', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (name) => unescapeSaslName(escapeSaslName(name)) === name))
  })

  test('round-trips any username through our client and server to the hook', async () => {
    const name = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ',', '=', ' ', '2', 'C', 'D', '3', 'é', 'ß', '中'), minLength: 1, maxLength: 20 })
    await fc.assert(
      fc.asyncProperty(name, fc.option(name, { nil: undefined }), async (username, authorizationId) => {
        let seen: ScramSha256AuthRequest | undefined
        const server = scramSha256Server(
          (request) => {
            seen = request as ScramSha256AuthRequest
            return null
          },
          { iterations: 1 },
        )
        await server.next(scramSha256({ username, password: 'x', authorizationId }).start())
        assert.equal(seen?.username, username.normalize('NFKC'))
        assert.equal(seen?.authorizationId, authorizationId?.normalize('NFKC'))
      }),
      { numRuns: 200 },
    )
  })
})

describe('SCRAM message parsing', () => {
  test('formats and parses a client-first-message with and without authzid', () => {
    for (const authorizationId of [undefined, 'ad,min']) {
      const formatted = formatClientFirst('us=er', authorizationId, 'n0nce')
      const parsed = parseClientFirst(formatted.text)
      assert.deepEqual(parsed, {
        gs2Header: formatted.gs2Header,
        bare: formatted.bare,
        authorizationId,
        username: 'us=er',
        nonce: 'n0nce',
      })
    }
  })

  test('ignores extensions after the nonce in a client-first-message', () => {
    assert.equal(parseClientFirst('n,,n=user,r=abc,x=ext').nonce, 'abc')
  })

  test('parses a server-first-message', () => {
    const parsed = parseServerFirst('r=abcdef,s=c2FsdA==,i=4096')
    assert.equal(parsed.nonce, 'abcdef')
    assert.equal(Buffer.from(parsed.salt).toString(), 'salt')
    assert.equal(parsed.iterations, 4096)
  })

  test('parses a client-final-message, keeping the part without proof', () => {
    const parsed = parseClientFinal('c=biws,r=abcdef,x=ext,p=AAAA')
    assert.equal(Buffer.from(parsed.channelBinding).toString(), 'n,,')
    assert.equal(parsed.withoutProof, 'c=biws,r=abcdef,x=ext')
    assert.equal(parsed.proof.length, 3)
  })

  test('parses both kinds of server-final-message', () => {
    assert.deepEqual(parseServerFinal('e=invalid-proof'), { error: 'invalid-proof' })
    assert.deepEqual(parseServerFinal('v=AAAA,x=ext'), { verifier: Buffer.alloc(3) })
    assert.throws(() => parseServerFinal('x=1'), MalformedSaslMessage)
    assert.throws(() => parseServerFinal('v=A'), MalformedSaslMessage)
  })

  test('parsers throw only MalformedSaslMessage or AuthenticationFailed on arbitrary input', () => {
    const parsers = [parseClientFirst, parseServerFirst, parseClientFinal, parseServerFinal]
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('n', 'y', 'p', 'a', 'r', 's', 'i', 'c', 'v', 'e', 'm', '=', ',', 'A', '3', 'D', '2', '+', '/') }), (input) => {
        for (const parse of parsers) {
          try {
            parse(input)
          } catch (error) {
            assert.ok((error as Error).name === 'MalformedSaslMessage' || (error as Error).name === 'AuthenticationFailed', String(error))
          }
        }
      }),
      { numRuns: 500 },
    )
  })
})
