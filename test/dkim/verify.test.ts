import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { dkimSign, dkimVerify, formatDkimKeyRecord, type DkimResult, type DkimSignOptions } from '../../src/dkim/index.ts'
import { collect, DOMAIN, ED_SELECTOR, ed25519, oneShot, records, resolver, resolverFor, RSA_SELECTOR, rsa, sampleMessage } from './fixtures.ts'
import { DNS_RECORDS, ED25519_SEED, SIGNED_MESSAGE } from './rfc8463.ts'
import { loadPrivateKey, signHeaderData } from '../../src/dkim/algorithm.ts'
import { headerHashInput } from '../../src/dkim/canonicalize.ts'
import { parseHeaderFields, selectSignedFields } from '../../src/dkim/header-fields.ts'
import { blankSignatureValue, parseSignatureField } from '../../src/dkim/signature-header.ts'

const rfcResolver = async (name: string): Promise<string[][]> => {
  const found = DNS_RECORDS[name]
  if (!found) throw Object.assign(new Error(`ENOTFOUND ${name}`), { code: 'ENOTFOUND' })
  return found
}

const edOptions: DkimSignOptions = { domain: DOMAIN, selector: ED_SELECTOR, privateKey: ed25519.privateKey }
const rsaOptions: DkimSignOptions = { domain: DOMAIN, selector: RSA_SELECTOR, privateKey: rsa.privateKey }

async function sign(message: string, options: DkimSignOptions | DkimSignOptions[] = edOptions): Promise<string> {
  return (await collect(dkimSign(message, options))).toString('utf8')
}

function summary(results: readonly DkimResult[]): [string, string | undefined][] {
  return results.map((r) => [r.status, r.reason])
}

describe('dkimVerify with the RFC 8463 Appendix A example', () => {
  test('the published Ed25519 and RSA signatures both verify', async () => {
    const results = await dkimVerify(SIGNED_MESSAGE, { resolver: rfcResolver })
    assert.deepEqual(results.map((r) => [r.status, r.algorithm, r.selector, r.domain]), [
      ['pass', 'ed25519-sha256', 'brisbane', 'football.example.com'],
      ['pass', 'rsa-sha256', 'test', 'football.example.com'],
    ])
    assert.equal(results[0]!.identity, '@football.example.com')
  })

  test('signing the A.3 header data with the A.1 seed reproduces the published Ed25519 b= exactly', () => {
    const headerBlock = Buffer.from(SIGNED_MESSAGE.slice(0, SIGNED_MESSAGE.indexOf('\r\n\r\n') + 2))
    const { fields } = parseHeaderFields(headerBlock)
    const own = fields[0]!
    const tags = parseSignatureField(own)
    const others = fields.filter((field) => field !== own)
    const data = headerHashInput('relaxed', selectSignedFields(others, tags.signedHeaders), blankSignatureValue(own, tags.signatureTag))
    const { key, algorithm } = loadPrivateKey(Buffer.from(ED25519_SEED, 'base64'))
    assert.equal(algorithm, 'ed25519-sha256')
    assert.equal(signHeaderData(algorithm, key, data).toString('base64'), tags.signature.toString('base64'))
  })

  test('property: they verify however the message is split into chunks', async () => {
    const bytes = Buffer.from(SIGNED_MESSAGE)
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 97 }), async (size) => {
        const results = await dkimVerify(oneShot(bytes, size), { resolver: rfcResolver })
        assert.deepEqual(results.map((r) => r.status), ['pass', 'pass'])
      }),
      { numRuns: 40 },
    )
  })

  test('a changed body fails the body hash, a changed Subject the signature', async () => {
    const body = await dkimVerify(SIGNED_MESSAGE.replace('hungry', 'Hungry'), { resolver: rfcResolver })
    assert.deepEqual(summary(body), [['fail', 'body hash did not verify'], ['fail', 'body hash did not verify']])
    const subject = await dkimVerify(SIGNED_MESSAGE.replace('dinner ready', 'dinner  ready?'), { resolver: rfcResolver })
    assert.deepEqual(summary(subject), [['fail', 'signature did not verify'], ['fail', 'signature did not verify']])
  })
})

describe('dkimVerify', () => {
  test('an unsigned message gives no results (RFC 8601 "none")', async () => {
    assert.deepEqual(await dkimVerify('From: a@example.test\r\n\r\nhi\r\n', { resolver }), [])
  })

  test('reads strings, bytes, iterables and re-readable sources', async () => {
    const signed = await sign(sampleMessage)
    for (const source of [signed, Buffer.from(signed), [Buffer.from(signed)], oneShot(Buffer.from(signed), 11), { stream: () => [Buffer.from(signed)] }]) {
      assert.equal((await dkimVerify(source, { resolver }))[0]!.status, 'pass')
    }
  })

  test('relaxed signatures survive refolding and whitespace changes; simple ones do not', async () => {
    const relaxed = await sign(sampleMessage)
    const simple = await sign(sampleMessage, { ...edOptions, canonicalization: 'simple/simple' })
    const mangle = (text: string): string => text.replace('Subject:  Hello   there,', 'Subject: Hello there,').replace('Hello Bob,  ', 'Hello  Bob,')
    assert.equal((await dkimVerify(mangle(relaxed), { resolver }))[0]!.status, 'pass')
    assert.deepEqual(summary(await dkimVerify(mangle(simple), { resolver })), [['fail', 'body hash did not verify']])
  })

  test('changes to fields that are not signed do not matter', async () => {
    const signed = await sign(sampleMessage)
    const changed = signed.replace('X-Unsigned: not in the default list', 'X-Unsigned: changed').replace('From:', 'Received: by relay\r\nFrom:')
    assert.equal((await dkimVerify(changed, { resolver }))[0]!.status, 'pass')
  })

  for (const [name, options] of [['rsa-sha256', rsaOptions], ['ed25519-sha256', edOptions]] as const) {
    describe(`rejects a tampered ${name} message`, () => {
      test('body changed: fail, "body hash did not verify"', async () => {
        const signed = await sign(sampleMessage, options)
        assert.deepEqual(summary(await dkimVerify(signed.replace('Bob,', 'Eve,'), { resolver })), [['fail', 'body hash did not verify']])
      })
      test('a signed header changed: fail, "signature did not verify"', async () => {
        const signed = await sign(sampleMessage, options)
        assert.deepEqual(summary(await dkimVerify(signed.replace('<sample.1@', '<sample.2@'), { resolver })), [['fail', 'signature did not verify']])
      })
      test('a From added above or below: fail, "signature did not verify" (From is over-signed)', async () => {
        const signed = await sign(sampleMessage, options)
        const above = signed.replace('From: Alice', 'From: Mallory <m@evil.test>\r\nFrom: Alice')
        const below = signed.replace('\r\n\r\nHello Bob', '\r\nFrom: Mallory <m@evil.test>\r\n\r\nHello Bob')
        assert.deepEqual(summary(await dkimVerify(above, { resolver })), [['fail', 'signature did not verify']])
        assert.deepEqual(summary(await dkimVerify(below, { resolver })), [['fail', 'signature did not verify']])
      })
    })
  }

  test('with l=, appended body text still verifies and the result says how much was signed', async () => {
    const signed = await sign(sampleMessage, { ...edOptions, bodyLength: true })
    const [result] = await dkimVerify(`${signed}-- \r\nappended footer\r\n`, { resolver })
    assert.equal(result!.status, 'pass')
    assert.equal(typeof result!.bodyLength, 'number')
  })

  test('l= longer than the body fails', async () => {
    const signed = await sign(sampleMessage, { ...edOptions, bodyLength: true })
    const [result] = await dkimVerify(signed.replace('Grüße aus der Küche.\r\n', ''), { resolver })
    assert.equal(result!.status, 'fail')
    assert.match(result!.reason!, /^l=\d+ is longer than the canonical body/)
  })

  test('a signature that signs an earlier DKIM-Signature verifies, and both pass', async () => {
    const first = await sign(sampleMessage, rsaOptions)
    const second = await sign(first, { ...edOptions, headers: ['From', 'Subject', 'DKIM-Signature'] })
    assert.deepEqual((await dkimVerify(second, { resolver })).map((r) => r.status), ['pass', 'pass'])
    const tampered = second.replace('v=1; a=rsa-sha256;', 'v=1; n=added; a=rsa-sha256;')
    assert.deepEqual(summary(await dkimVerify(tampered, { resolver })), [['fail', 'signature did not verify'], ['fail', 'signature did not verify']])
  })

  test('checks at most maxSignatures signatures; the rest are neutral', async () => {
    const signed = await sign(sampleMessage, Array.from({ length: 3 }, () => edOptions))
    const results = await dkimVerify(signed, { resolver, maxSignatures: 2 })
    assert.deepEqual(summary(results), [['pass', undefined], ['pass', undefined], ['neutral', 'not checked: more than 2 DKIM signatures']])
  })

  test('rejects with a RangeError when the header block exceeds maxHeaderBytes', async () => {
    const message = `From: a@example.test\r\nX: ${'y'.repeat(3000)}\r\n\r\nbody\r\n`
    await assert.rejects(dkimVerify(message, { resolver, maxHeaderBytes: 1024 }), RangeError)
  })
})

describe('dkimVerify on a copy stored with bare LF line endings', () => {
  test('reads bare LFs as CRLF, as SMTP carries the message, so the signature still verifies', async () => {
    const signed = await sign(sampleMessage)
    const unixCopy = signed.replace(/\r\n/g, '\n')
    assert.deepEqual(summary(await dkimVerify(unixCopy, { resolver })), [['pass', undefined]])
  })
  test('still fails a stored copy whose body changed', async () => {
    const unixCopy = (await sign(sampleMessage)).replace(/\r\n/g, '\n').replace(/\n\n([^\n])/, '\n\nX$1')
    assert.equal((await dkimVerify(unixCopy, { resolver }))[0]?.status, 'fail')
  })
})

describe('dkimVerify on bad signatures and keys', () => {
  async function verifyWithTag(transform: (signature: string) => string, options: { now?: Date; resolverMap?: Record<string, string> } = {}): Promise<DkimResult> {
    const signed = await sign(sampleMessage, { ...edOptions, timestamp: new Date('2025-06-01T00:00:00Z'), expiresInSeconds: 86_400 })
    const end = signed.indexOf('\r\nFrom:')
    const [result] = await dkimVerify(transform(signed.slice(0, end)) + signed.slice(end), {
      resolver: resolverFor(options.resolverMap ?? records),
      now: options.now ?? new Date('2025-06-01T12:00:00Z'),
    })
    return result!
  }

  const permerrors: [string, (s: string) => string, RegExp][] = [
    ['h= without from', (s) => s.replace(/h=[^;]+;/, 'h=to:subject;'), /^From is not signed \(h= lacks from\)$/],
    ['v=2', (s) => s.replace('v=1;', 'v=2;'), /unsupported signature version v=2/],
    ['rsa-sha1', (s) => s.replace('a=ed25519-sha256', 'a=rsa-sha1'), /rsa-sha1 signatures are not accepted \(RFC 8301\)/],
    ['an unknown algorithm', (s) => s.replace('a=ed25519-sha256', 'a=ed448-sha512'), /unsupported signature algorithm a=ed448-sha512/],
    ['a duplicate tag', (s) => s.replace('v=1;', 'v=1; d=example.test;'), /tag "d" occurs more than once/],
    ['no bh=', (s) => s.replace(/bh=[^;]+;/, ''), /signature has no bh= tag/],
    ['an i= outside d=', (s) => s.replace('v=1;', 'v=1; i=@example.org;'), /i= domain is not d= or a subdomain/],
    ['an unknown query method', (s) => s.replace('v=1;', 'v=1; q=http/well-known;'), /unsupported key query method/],
    ['x= not after t=', (s) => s.replace(/x=\d+/, 'x=1748736000'), /x= is not after t=/],
    ['a non-numeric l=', (s) => s.replace('v=1;', 'v=1; l=12a;'), /l= must be at most 76 decimal digits/],
  ]
  for (const [name, transform, reason] of permerrors) {
    test(`${name} is a permerror`, async () => {
      const result = await verifyWithTag(transform)
      assert.equal(result.status, 'permerror')
      assert.match(result.reason!, reason)
    })
  }

  test('an expired signature is a permerror "signature expired"', async () => {
    const result = await verifyWithTag((s) => s, { now: new Date('2025-06-03T00:00:00Z') })
    assert.deepEqual([result.status, result.reason], ['permerror', 'signature expired'])
  })

  test('a signature from the future (beyond clock skew) is a permerror', async () => {
    const result = await verifyWithTag((s) => s, { now: new Date('2025-05-31T23:00:00Z') })
    assert.deepEqual([result.status, result.reason], ['permerror', 'signature timestamp t= is in the future'])
  })

  test('a missing key is a permerror "key not found"', async () => {
    const result = await verifyWithTag((s) => s, { resolverMap: {} })
    assert.deepEqual([result.status, result.reason], ['permerror', `key not found (no TXT record at ${ED_SELECTOR}._domainkey.${DOMAIN})`])
  })

  test('a DNS failure is a temperror', async () => {
    const signed = await sign(sampleMessage)
    const [result] = await dkimVerify(signed, { resolver: async () => Promise.reject(Object.assign(new Error('timeout'), { code: 'ETIMEOUT' })) })
    assert.equal(result!.status, 'temperror')
  })

  const key = formatDkimKeyRecord(ed25519.publicKey)
  const name = `${ED_SELECTOR}._domainkey.${DOMAIN}`
  const keyErrors: [string, string, RegExp][] = [
    ['a revoked key', 'v=DKIM1; k=ed25519; p=', /^key revoked/],
    ['a key of the wrong type', formatDkimKeyRecord(rsa.publicKey), /key type k=rsa does not match a=ed25519-sha256/],
    ['a key limited to sha1', key.replace('k=ed25519', 'k=ed25519; h=sha1'), /key does not allow sha256/],
    ['a key for another service', key.replace('k=ed25519', 'k=ed25519; s=tlsrpt'), /key is not for email/],
    ['a strict key and an i= subdomain', key.replace('k=ed25519', 'k=ed25519; t=s'), /t=s but the i= domain is a subdomain/],
    ['a malformed key record', 'v=DKIM1; k=ed25519; p', /bad key record/],
  ]
  for (const [label, record, reason] of keyErrors) {
    test(`${label} is a permerror`, async () => {
      const result = await verifyWithTag((s) => s.replace('v=1;', 'v=1; i=@mail.example.test;'), { resolverMap: { [name]: record } })
      assert.equal(result.status, 'permerror')
      assert.match(result.reason!, reason)
    })
  }

  test('a key in testing mode still verifies and is reported', async () => {
    const result = await verifyWithTag((s) => s, { resolverMap: { [name]: key.replace('k=ed25519', 'k=ed25519; t=y') } })
    assert.deepEqual([result.status, result.isTestMode], ['pass', true])
  })
})
