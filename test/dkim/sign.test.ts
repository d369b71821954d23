import assert from 'node:assert/strict'
import { createPublicKey, generateKeyPairSync } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { Readable } from 'node:stream'
import { compose } from '../../src/message/index.ts'
import { isRereadable } from '../../src/protocol/message-source.ts'
import { DkimSigner, dkimSign, dkimVerify, formatDkimKeyRecord, type DkimSignOptions } from '../../src/dkim/index.ts'
import { parseTagList } from '../../src/dkim/tag-list.ts'
import { collect, DOMAIN, ED_SELECTOR, ed25519, keyCases, oneShot, resolver, RSA_SELECTOR, rsa, sampleMessage } from './fixtures.ts'
import { ED25519_PUBLIC, ED25519_SEED } from './rfc8463.ts'

const edOptions: DkimSignOptions = { domain: DOMAIN, selector: ED_SELECTOR, privateKey: ed25519.privateKey }
const rsaOptions: DkimSignOptions = { domain: DOMAIN, selector: RSA_SELECTOR, privateKey: rsa.privateKey }
const fixedTime = new Date('2025-06-02T10:00:00Z')

/** Splits a signed message into its leading DKIM-Signature fields and the rest. */
function splitSignatures(signed: Buffer): { signatures: string[]; rest: Buffer } {
  const text = signed.toString('latin1')
  const signatures: string[] = []
  let offset = 0
  while (text.startsWith('DKIM-Signature:', offset)) {
    let end = text.indexOf('\r\n', offset)
    while (text[end + 2] === ' ' || text[end + 2] === '\t') end = text.indexOf('\r\n', end + 2)
    signatures.push(text.slice(offset, end + 2))
    offset = end + 2
  }
  return { signatures, rest: signed.subarray(offset) }
}

function tagsOf(signature: string): Map<string, string> {
  const value = signature.slice(signature.indexOf(':') + 1, -2)
  return new Map([...parseTagList(value)].map(([name, tag]) => [name, tag.value.replace(/\s+/g, '')]))
}

describe('dkimSign', () => {
  test('puts the signature in front of the unchanged message, and it verifies', async () => {
    const signed = await collect(dkimSign(sampleMessage, edOptions))
    const { signatures, rest } = splitSignatures(signed)
    assert.equal(signatures.length, 1)
    assert.equal(rest.toString('latin1'), Buffer.from(sampleMessage).toString('latin1'))
    const [result] = await dkimVerify(signed, { resolver })
    assert.equal(result!.status, 'pass', result!.reason)
  })

  test('folds the DKIM-Signature field at 78 columns, b= and h= included', async () => {
    const longHeaders = Array.from({ length: 30 }, (_, i) => `X-Long-Header-Name-${i}: v`).join('\r\n')
    const message = `From: a@example.test\r\n${longHeaders}\r\n\r\nbody\r\n`
    const headers = Array.from({ length: 30 }, (_, i) => `X-Long-Header-Name-${i}`)
    const signed = await collect(dkimSign(message, { ...rsaOptions, headers, identity: 'someone@mail.example.test' }))
    const [signature] = splitSignatures(signed).signatures
    const lines = signature!.slice(0, -2).split('\r\n')
    assert.ok(lines.length > 8)
    for (const line of lines) assert.ok(line.length <= 78, `line of ${line.length}: ${line}`)
    assert.equal((await dkimVerify(signed, { resolver }))[0]!.status, 'pass')
  })

  test('signs the default fields present, over-signs From and single-instance fields, skips others', async () => {
    const signed = await collect(dkimSign(sampleMessage, edOptions))
    const h = tagsOf(splitSignatures(signed).signatures[0]!).get('h')!.split(':')
    assert.deepEqual(h, [
      'from', 'to', 'cc', 'subject', 'date', 'message-id', 'mime-version', 'content-type', 'content-transfer-encoding',
      'from', 'to', 'cc', 'subject', 'date', 'message-id', 'mime-version', 'content-type', 'content-transfer-encoding',
    ])
  })

  test('always signs and over-signs From, even with a custom list', async () => {
    const signed = await collect(dkimSign(sampleMessage, { ...edOptions, headers: ['Subject'], overSignHeaders: [] }))
    assert.equal(tagsOf(splitSignatures(signed).signatures[0]!).get('h'), 'from:subject:from')
  })

  test('writes t=, x=, l=, i= and c= as asked', async () => {
    const signed = await collect(
      dkimSign(sampleMessage, { ...rsaOptions, canonicalization: 'simple/relaxed', timestamp: fixedTime, expiresInSeconds: 3600, bodyLength: true, identity: 'jö; x@example.test' }),
    )
    const tags = tagsOf(splitSignatures(signed).signatures[0]!)
    assert.equal(tags.get('t'), '1748858400')
    assert.equal(tags.get('x'), '1748862000')
    assert.equal(tags.get('c'), 'simple/relaxed')
    assert.equal(tags.get('i'), 'j=C3=B6=3B=20x@example.test')
    assert.equal(tags.get('l'), String(Buffer.byteLength('Hello Bob,\r\n\r\n This line starts with a tab and has double spaces.\r\nGrüße aus der Küche.\r\n')))
    const [result] = await dkimVerify(signed, { resolver, now: fixedTime })
    assert.equal(result!.status, 'pass', result!.reason)
    assert.equal(result!.identity, 'jö; x@example.test')
  })

  test('leaves t= out when timestamp is false', async () => {
    const signed = await collect(dkimSign(sampleMessage, { ...edOptions, timestamp: false }))
    assert.equal(tagsOf(splitSignatures(signed).signatures[0]!).has('t'), false)
  })

  test('several signatures come in the given order, computed in one pass, and all verify', async () => {
    let reads = 0
    const source = { stream: () => (reads++, oneShot(Buffer.from(sampleMessage), 5)) }
    const signed = await collect(dkimSign(source, [rsaOptions, edOptions, { ...edOptions, canonicalization: 'simple/simple' }]))
    assert.equal(reads, 2)
    const { signatures } = splitSignatures(signed)
    assert.deepEqual(signatures.map((s) => tagsOf(s).get('a')), ['rsa-sha256', 'ed25519-sha256', 'ed25519-sha256'])
    const results = await dkimVerify(signed, { resolver })
    assert.deepEqual(results.map((r) => r.status), ['pass', 'pass', 'pass'])
  })

  test('a re-readable result can be streamed again with the same bytes, hashing only once', async () => {
    let reads = 0
    const signed = dkimSign({ stream: () => (reads++, [Buffer.from(sampleMessage)]) }, edOptions)
    assert.ok(isRereadable(signed))
    const first = await collect(signed.stream())
    const second = await collect(signed.stream())
    assert.deepEqual(second, first)
    assert.equal(reads, 3)
  })

  test('fails clearly when a re-readable source changes between reads', async () => {
    let reads = 0
    const signed = dkimSign({ stream: () => [Buffer.from(reads++ === 0 ? sampleMessage : `${sampleMessage}more`)] }, edOptions)
    await assert.rejects(collect(signed), /gave \d+ bytes when read again but \d+ when signed/)
  })

  test('property: any split of the message into chunks gives the same signatures', async () => {
    const bytes = Buffer.from(sampleMessage)
    const options: DkimSignOptions[] = [
      { ...edOptions, timestamp: fixedTime },
      { ...edOptions, canonicalization: 'simple/simple', timestamp: fixedTime },
    ]
    const reference = splitSignatures(await collect(dkimSign(bytes, options))).signatures
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(bytes.length), { maxLength: 12 }), fc.boolean(), async (cuts, useOneShot) => {
        const points = [...new Set([0, ...cuts, bytes.length])].sort((a, b) => a - b)
        const chunks = points.slice(1).map((end, i) => bytes.subarray(points[i], end))
        const source = useOneShot ? (async function* () { yield* chunks })() : chunks
        assert.deepEqual(splitSignatures(await collect(dkimSign(source, options))).signatures, reference)
      }),
      { numRuns: 200 },
    )
  })

  test('reads keys as PEM text, PEM bytes, DER PKCS#8 and a 32-byte Ed25519 seed', async () => {
    const pem = rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string
    const der = ed25519.privateKey.export({ format: 'der', type: 'pkcs8' })
    for (const privateKey of [pem, Buffer.from(pem), rsa.privateKey.export({ format: 'pem', type: 'pkcs1' }) as string]) {
      const signed = await collect(dkimSign(sampleMessage, { ...rsaOptions, privateKey }))
      assert.equal((await dkimVerify(signed, { resolver }))[0]!.status, 'pass')
    }
    const signed = await collect(dkimSign(sampleMessage, { ...edOptions, privateKey: der }))
    assert.equal((await dkimVerify(signed, { resolver }))[0]!.status, 'pass')
    const seedSigned = await collect(dkimSign(sampleMessage, { ...edOptions, selector: 'brisbane', privateKey: Buffer.from(ED25519_SEED, 'base64') }))
    const result = await dkimVerify(seedSigned, { resolver: async () => [[`v=DKIM1; k=ed25519; p=${ED25519_PUBLIC}`]] })
    assert.equal(result[0]!.status, 'pass')
  })

  const badOptions: [string, DkimSignOptions | DkimSignOptions[], RegExp][] = [
    ['a domain that is not ASCII', { ...edOptions, domain: 'bücher.example' }, /ASCII domain name/],
    ['a selector with a space', { ...edOptions, selector: 'a b' }, /selector/],
    ['an unknown canonicalization', { ...edOptions, canonicalization: 'nowsp/simple' as 'simple/simple' }, /canonicalization must be one of/],
    ['an algorithm that does not match the key', { ...edOptions, algorithm: 'rsa-sha256' }, /does not match the ed25519 privateKey/],
    ['an EC key', { ...edOptions, privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey }, /rsa or ed25519/],
    ['an RSA key under 1024 bits', { ...rsaOptions, privateKey: generateKeyPairSync('rsa', { modulusLength: 512 }).privateKey }, /512 bits; RFC 8301/],
    ['a public key', { ...edOptions, privateKey: createPublicKey(ed25519.privateKey) }, /must be a private key/],
    ['unreadable key text', { ...edOptions, privateKey: 'not a key' }, /could not be read/],
    ['an identity outside the domain', { ...edOptions, identity: 'x@example.org' }, /identity's domain must be example.test/],
    ['an identity without @', { ...edOptions, identity: 'example.test' }, /\[local-part\]@domain/],
    ['a non-positive expiry', { ...edOptions, expiresInSeconds: 0 }, /positive integer/],
    ['an invalid header name', { ...edOptions, headers: ['Sub ject'] }, /invalid header field name/],
    ['no signature at all', [], /at least one signature/],
  ]
  for (const [name, options, message] of badOptions) {
    test(`refuses ${name} at once`, () => {
      assert.throws(() => dkimSign(sampleMessage, options), (err: unknown) => (err instanceof TypeError || err instanceof RangeError) && message.test(err.message))
    })
  }

  const badMessages: [string, string, RegExp][] = [
    ['without From', 'To: x@example.test\r\n\r\nbody\r\n', /without a From header field/],
    ['with two From fields', 'From: a@example.test\r\nFrom: b@example.test\r\n\r\nx\r\n', /2 From header fields/],
    ['with a bare LF', 'From: a@example.test\r\n\r\nline\nnext\r\n', /bare LF at byte 28/],
    ['with a bare CR', 'From: a@example.test\r\n\r\nline\rnext\r\n', /bare CR at byte 28/],
    ['with LF-only line endings', 'From: a@example.test\nTo: b\n\nbody\n', /bare LF at byte 20; the message must use CRLF/],
    ['with a malformed header line', 'From: a@example.test\r\nno colon here\r\n\r\nx\r\n', /line 2 is not a "name: value" field/],
  ]
  for (const [name, message, error] of badMessages) {
    test(`rejects a message ${name} when read`, async () => {
      await assert.rejects(collect(dkimSign(message, edOptions)), error)
      await assert.rejects(collect(dkimSign(oneShot(Buffer.from(message), 3), edOptions)), error)
    })
  }

  test('rejects a header block over maxHeaderBytes with a RangeError', async () => {
    const message = `From: a@example.test\r\nX: ${'a'.repeat(5000)}\r\n\r\nbody`
    await assert.rejects(collect(dkimSign(message, edOptions, { maxHeaderBytes: 4096 })), (err: unknown) => err instanceof RangeError && /4096 bytes \(maxHeaderBytes\)/.test(err.message))
  })

  test('signs a message that has no body', async () => {
    const signed = await collect(dkimSign('From: a@example.test\r\nSubject: s\r\n', edOptions))
    assert.equal((await dkimVerify(signed, { resolver }))[0]!.status, 'pass')
  })
})

describe('dkimSign with a one-shot source', () => {
  async function withTmp(run: (dir: string) => Promise<void>): Promise<void> {
    const dir = await mkdtemp(`${tmpdir()}/smtpkit-dkim-test-`)
    try {
      await run(dir)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }
  const big = Buffer.from(`From: a@example.test\r\nSubject: big\r\n\r\n${'0123456789 abcdefghij\r\n'.repeat(20_000)}`)

  test('keeps a small message in memory: no temporary file', async () => {
    await withTmp(async (dir) => {
      const signed = dkimSign(oneShot(Buffer.from(sampleMessage)), edOptions, { tmpDir: dir })
      assert.equal(isRereadable(signed), false)
      for await (const chunk of signed) {
        assert.ok(chunk.length > 0)
        assert.deepEqual(await readdir(dir), [])
      }
    })
  })

  test('spools past the threshold to a 0600 file that is removed when done', async () => {
    await withTmp(async (dir) => {
      const signed = dkimSign(oneShot(big, 1000), edOptions, { tmpDir: dir, spoolThresholdBytes: 64 * 1024 })
      let seen = false
      let total = 0
      for await (const chunk of signed) {
        if (!seen) {
          seen = true
          const [sub] = await readdir(dir)
          assert.match(sub!, /^smtpkit-dkim-/)
          assert.deepEqual(await readdir(`${dir}/${sub}`), ['message'])
          const { stat } = await import('node:fs/promises')
          assert.equal((await stat(`${dir}/${sub}/message`)).mode & 0o777, 0o600)
        }
        total += chunk.length
      }
      assert.ok(total > big.length)
      assert.deepEqual(await readdir(dir), [])
    })
  })

  test('removes the temporary file when the reader stops early', async () => {
    await withTmp(async (dir) => {
      for await (const chunk of dkimSign(oneShot(big, 1000), edOptions, { tmpDir: dir, spoolThresholdBytes: 0 })) {
        assert.ok(chunk.length > 0)
        break
      }
      assert.deepEqual(await readdir(dir), [])
    })
  })

  test('removes the temporary file when the source fails', async () => {
    await withTmp(async (dir) => {
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield big.subarray(0, 200_000)
        throw new Error('source broke')
      }
      await assert.rejects(collect(dkimSign(failing(), edOptions, { tmpDir: dir, spoolThresholdBytes: 0 })), /source broke/)
      assert.deepEqual(await readdir(dir), [])
    })
  })

  test('can be read only once', async () => {
    const signed = dkimSign(oneShot(Buffer.from(sampleMessage)), edOptions)
    await collect(signed)
    assert.throws(() => signed[Symbol.asyncIterator](), /can be read only once/)
  })

  test('a composed message with a one-shot attachment is signed in one pass, not read twice', async () => {
    const message = compose({ from: 'a@example.test', to: 'b@example.test', subject: 'one-shot', text: 'hi', attachments: [{ filename: 'a.bin', content: Readable.from([Buffer.from('attached')]) }] })
    assert.equal(message.isRereadable, false)
    const signed = dkimSign(message, edOptions)
    assert.equal(isRereadable(signed), false)
    assert.deepEqual((await dkimVerify(await collect(signed), { resolver })).map((r) => r.status), ['pass'])
  })

  test('the spooled output verifies', async () => {
    const signed = await collect(dkimSign(oneShot(big, 4096), [edOptions, rsaOptions], { spoolThresholdBytes: 0 }))
    assert.deepEqual((await dkimVerify(signed, { resolver })).map((r) => r.status), ['pass', 'pass'])
  })
})

describe('DkimSigner', () => {
  test('returns the signature fields for bytes fed in any chunks', () => {
    const signer = new DkimSigner(keyCases.map((k) => ({ domain: DOMAIN, selector: k.selector, privateKey: k.privateKey })))
    for (const byte of Buffer.from(sampleMessage)) signer.update(Uint8Array.of(byte))
    const fields = signer.finish()
    assert.equal(fields.match(/^DKIM-Signature:/gm)?.length, 2)
    assert.ok(fields.endsWith('\r\n'))
    assert.throws(() => signer.finish(), /finish\(\) called twice/)
    assert.throws(() => signer.update(Buffer.from('x')), /update\(\) after finish\(\)/)
  })

  test('publishes a key record that matches its key', () => {
    assert.equal(formatDkimKeyRecord(ed25519.privateKey), formatDkimKeyRecord(ed25519.publicKey))
  })
})

describe('dkimSign options', () => {
  const refuses = (call: () => unknown, message: RegExp): void => assert.throws(call, (e: unknown) => e instanceof TypeError && message.test(e.message))

  test('an unknown signature option is a TypeError naming it, with a near name', () => {
    refuses(() => dkimSign('', { ...edOptions, selectr: 'x' } as DkimSignOptions), /^DKIM signature: unknown option "selectr"; did you mean "selector"\?$/)
  })

  test('nodemailer names say what to write instead', () => {
    const nodemailerStyle = { domainName: DOMAIN, keySelector: ED_SELECTOR, privateKey: ed25519.privateKey } as unknown as DkimSignOptions
    refuses(() => dkimSign('', nodemailerStyle), /unknown option "domainName"; write domain/)
    refuses(() => dkimSign('', [edOptions, { ...rsaOptions, hashAlgo: 'sha1' } as DkimSignOptions]), /^DKIM signature 2: unknown option "hashAlgo"; the hash is sha256/)
  })

  test('wrong types and unknown stream options are TypeErrors naming them', () => {
    refuses(() => dkimSign('', { ...edOptions, bodyLength: 'yes' } as unknown as DkimSignOptions), /option "bodyLength" must be boolean, got string/)
    refuses(() => dkimSign('', edOptions, { cacheDir: '/tmp' } as never), /^dkimSign\(\) options: unknown option "cacheDir"/)
    refuses(() => dkimSign('', edOptions, { spoolThresholdBytes: '1M' } as never), /option "spoolThresholdBytes" must be number, got string/)
  })
})
