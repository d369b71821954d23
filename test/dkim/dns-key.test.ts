import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { describe, test } from 'node:test'
import { fetchDkimKey, formatDkimKeyRecord, parseDkimKeyRecord } from '../../src/dkim/dns-key.ts'
import { ed25519, rsa } from './fixtures.ts'
import { ED25519_PUBLIC } from './rfc8463.ts'

describe('formatDkimKeyRecord and parseDkimKeyRecord', () => {
  test('round-trip an RSA key as a SubjectPublicKeyInfo', () => {
    const text = formatDkimKeyRecord(rsa.privateKey)
    assert.match(text, /^v=DKIM1; k=rsa; p=MIIB/)
    const record = parseDkimKeyRecord(text)
    assert.equal(record.keyType, 'rsa')
    assert.ok(record.publicKey!.equals(rsa.publicKey))
  })
  test('round-trip an Ed25519 key as its 32 raw bytes (RFC 8463 §4.2)', () => {
    const text = formatDkimKeyRecord(ed25519.publicKey)
    assert.equal(Buffer.from(text.split('p=')[1]!, 'base64').length, 32)
    assert.ok(parseDkimKeyRecord(text).publicKey!.equals(ed25519.publicKey))
  })
  test('reads the RFC 8463 A.2 record', () => {
    const record = parseDkimKeyRecord(`v=DKIM1; k=ed25519; p=${ED25519_PUBLIC}`)
    assert.equal(record.keyType, 'ed25519')
  })
  test('accepts an RSA key given as PKCS#1 RSAPublicKey', () => {
    const pkcs1 = rsa.publicKey.export({ format: 'der', type: 'pkcs1' }).toString('base64')
    assert.ok(parseDkimKeyRecord(`k=rsa; p=${pkcs1}`).publicKey!.equals(rsa.publicKey))
  })
  test('reads flags, hash algorithms and service types', () => {
    const p = formatDkimKeyRecord(rsa.publicKey).split('p=')[1]
    const record = parseDkimKeyRecord(`v=DKIM1; h=sha1:sha256; s=email; t=y:s; n=notes; zz=ignored; p=${p}`)
    assert.deepEqual([record.hashAlgorithms, record.serviceTypes, record.isTestMode, record.isStrictIdentity], [['sha1', 'sha256'], ['email'], true, true])
  })
  test('an empty p= is a revoked key', () => {
    assert.equal(parseDkimKeyRecord('v=DKIM1; p=').publicKey, null)
  })
  const weak = generateKeyPairSync('rsa', { modulusLength: 512 }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64')
  const bad: [string, string, RegExp][] = [
    ['v= not first', `k=rsa; v=DKIM1; p=${ED25519_PUBLIC}`, /v= must be DKIM1 and come first/],
    ['another version', 'v=DKIM2; p=', /v= must be DKIM1/],
    ['an unknown key type', 'k=dsa; p=', /unsupported key type k=dsa/],
    ['no p=', 'v=DKIM1; k=rsa', /no p= tag/],
    ['a k= that does not match the key', `k=rsa; p=${ED25519_PUBLIC}`, /not an RSA public key/],
    ['an ed25519 key of the wrong size', 'k=ed25519; p=AAAA', /must be 32 bytes/],
    ['an RSA key under 1024 bits (RFC 8301)', `p=${weak}`, /512 bits; RFC 8301/],
    ['a malformed tag list', 'v=DKIM1; p', /malformed key record/],
    ['p= that is not base64', 'p=ab$cd', /not base64/],
  ]
  for (const [name, text, message] of bad) {
    test(`rejects ${name}`, () => {
      assert.throws(() => parseDkimKeyRecord(text), message)
    })
  }
})

describe('fetchDkimKey', () => {
  const good = formatDkimKeyRecord(ed25519.publicKey)
  test('asks for <selector>._domainkey.<domain> and joins the character-strings', async () => {
    const asked: string[] = []
    const half = Math.floor(good.length / 2)
    const lookup = await fetchDkimKey(async (name) => (asked.push(name), [[good.slice(0, half), good.slice(half)]]), 'sel', 'example.test')
    assert.deepEqual(asked, ['sel._domainkey.example.test'])
    assert.equal(lookup.ok, true)
  })
  test('a missing name is a permerror "key not found"', async () => {
    const lookup = await fetchDkimKey(async () => Promise.reject(Object.assign(new Error('x'), { code: 'ENOTFOUND' })), 's', 'd.test')
    assert.deepEqual(lookup, { ok: false, status: 'permerror', reason: 'key not found (no TXT record at s._domainkey.d.test)' })
  })
  test('no records at all is a permerror "key not found"', async () => {
    const lookup = await fetchDkimKey(async () => [], 's', 'd.test')
    assert.equal(!lookup.ok && lookup.reason.startsWith('key not found'), true)
  })
  test('a DNS timeout is a temperror', async () => {
    const lookup = await fetchDkimKey(async () => Promise.reject(Object.assign(new Error('x'), { code: 'ETIMEOUT' })), 's', 'd.test')
    assert.deepEqual(lookup, { ok: false, status: 'temperror', reason: 'key lookup for s._domainkey.d.test failed: ETIMEOUT' })
  })
  test('a revoked key is a permerror', async () => {
    const lookup = await fetchDkimKey(async () => [['v=DKIM1; p=']], 's', 'd.test')
    assert.equal(!lookup.ok && lookup.status === 'permerror' && lookup.reason.startsWith('key revoked'), true)
  })
  test('skips a TXT record that is not a key and uses the next', async () => {
    const lookup = await fetchDkimKey(async () => [['some other text'], [good]], 's', 'd.test')
    assert.equal(lookup.ok, true)
  })
})
