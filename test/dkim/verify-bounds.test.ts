// dkimVerify on hostile keys and resolvers: what a key may cost, how long a lookup may take,
// and that the event loop keeps turning.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import { dkimSign, dkimVerify, parseDkimKeyRecord, type DkimSignOptions, type TxtResolver } from '../../src/dkim/index.ts'
import { collect, DOMAIN, ED_SELECTOR, ed25519, resolver, sampleMessage } from './fixtures.ts'

const edOptions: DkimSignOptions = { domain: DOMAIN, selector: ED_SELECTOR, privateKey: ed25519.privateKey }

async function signed(count = 1): Promise<string> {
  return (await collect(dkimSign(sampleMessage, Array.from({ length: count }, () => edOptions)))).toString('utf8')
}

// DER of a PKCS#1 RSAPublicKey (RFC 8017 A.1.1) with any modulus and exponent: a key record can
// hold numbers no key generator would make.
function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length])
  const bytes = Buffer.from(length.toString(16).padStart(length.toString(16).length + (length.toString(16).length % 2), '0'), 'hex')
  return Buffer.concat([Buffer.from([0x80 | bytes.length]), bytes])
}
function derInteger(value: bigint): Buffer {
  let hex = value.toString(16)
  if (hex.length % 2) hex = `0${hex}`
  let bytes = Buffer.from(hex, 'hex')
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes])
  return Buffer.concat([Buffer.from([0x02]), derLength(bytes.length), bytes])
}
function rsaRecord(modulusBits: number, exponent: bigint): string {
  const modulus = BigInt(`0x${randomBytes(modulusBits / 8).toString('hex')}`) | (1n << BigInt(modulusBits - 1)) | 1n
  const body = Buffer.concat([derInteger(modulus), derInteger(exponent)])
  const der = Buffer.concat([Buffer.from([0x30]), derLength(body.length), body])
  return `v=DKIM1; k=rsa; p=${der.toString('base64')}`
}

describe('DKIM keys too costly to verify are refused', () => {
  const refused: [string, string, RegExp][] = [
    ['a modulus over 8192 bits', rsaRecord(8200, 65537n), /RSA key is 8200 bits; keys over 8192 bits are refused/],
    ['a 16384-bit modulus', rsaRecord(16384, 65537n), /RSA key is 16384 bits/],
    ['a 3071-bit public exponent', rsaRecord(3072, BigInt(`0x${randomBytes(384).toString('hex')}`) >> 1n | 1n | (1n << 3070n)), /RSA public exponent of 3071 bits is refused/],
    ['an exponent just over 2^32', rsaRecord(2048, 2n ** 32n + 1n), /RSA public exponent 4294967297 is refused/],
    ['an even exponent', rsaRecord(2048, 65536n), /RSA public exponent 65536 is refused/],
    ['an exponent of 1', rsaRecord(2048, 1n), /RSA public exponent 1 is refused/],
  ]
  for (const [name, record, reason] of refused) {
    test(`${name} is a bad key record (a permerror when verifying)`, () => {
      assert.throws(() => parseDkimKeyRecord(record), reason)
    })
  }

  test('8192-bit moduli and the exponents keys use (3, 65537, 2^32 - 1) are accepted', () => {
    for (const record of [rsaRecord(8192, 65537n), rsaRecord(2048, 3n), rsaRecord(2048, 2n ** 32n - 1n)]) {
      assert.equal(parseDkimKeyRecord(record).keyType, 'rsa')
    }
  })

  test('dkimVerify reports such a key as a permerror with the reason', async () => {
    const message = await signed()
    const [result] = await dkimVerify(message, { resolver: async () => [[rsaRecord(8200, 65537n)]] })
    assert.equal(result!.status, 'permerror')
    assert.match(result!.reason!, /bad key record at .*: RSA key is 8200 bits/)
  })
})

describe('dkimVerify does not wait forever', () => {
  const never: TxtResolver = () => new Promise(() => {})

  test('a resolver that never settles is a temperror after dnsTimeoutMs', async () => {
    const [result] = await dkimVerify(await signed(), { resolver: never, dnsTimeoutMs: 50 })
    assert.deepEqual([result!.status, result!.reason], ['temperror', `key lookup for ${ED_SELECTOR}._domainkey.${DOMAIN} timed out after 50 ms`])
  })

  test('an abort while a lookup is pending rejects with the signal\'s reason', async () => {
    const controller = new AbortController()
    const reason = new Error('stop now')
    const lookups: string[] = []
    const verifying = dkimVerify(await signed(), {
      signal: controller.signal,
      resolver: (name) => {
        lookups.push(name)
        queueMicrotask(() => controller.abort(reason))
        return never(name)
      },
    })
    await assert.rejects(verifying, (error) => error === reason)
    assert.equal(lookups.length, 1)
  })

  test('an aborted signal rejects before anything is read', async () => {
    let reads = 0
    function* source(): Generator<Uint8Array> {
      reads++
      yield Buffer.from(sampleMessage)
    }
    await assert.rejects(dkimVerify(source(), { signal: AbortSignal.abort(), resolver }), { name: 'AbortError' })
    assert.equal(reads, 0)
  })

  test('other work runs between signatures even with an in-memory resolver', async () => {
    const message = await signed(3)
    let turned = false
    setImmediate(() => {
      turned = true
    })
    const results = await dkimVerify(message, { resolver })
    assert.deepEqual(results.map((r) => r.status), ['pass', 'pass', 'pass'])
    assert.equal(turned, true)
  })
})

describe('dkimVerify options', () => {
  test('an unknown option or a wrong type is a TypeError naming it', async () => {
    await assert.rejects(dkimVerify(sampleMessage, { maxSignature: 2 } as never), { name: 'TypeError', message: /dkimVerify\(\): unknown option "maxSignature"; did you mean "maxSignatures"\?/ })
    await assert.rejects(dkimVerify(sampleMessage, { dnsTimeoutMs: '5s' } as never), { name: 'TypeError', message: /option "dnsTimeoutMs" must be number, got string/ })
    await assert.rejects(dkimVerify(sampleMessage, { resolver: 'dns' } as never), { name: 'TypeError', message: /option "resolver" must be function/ })
    await assert.rejects(dkimVerify(sampleMessage, { signal: {} } as never), { name: 'TypeError', message: /"signal" must be an AbortSignal/ })
    await assert.rejects(dkimVerify(sampleMessage, { dnsTimeoutMs: -1 }), RangeError)
  })
})
