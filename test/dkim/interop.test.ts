// Our DKIM against two independent implementations: dkimpy (Debian's python3-dkim) and mailauth.
// Each signs what the other verifies, for both algorithms and all four canonicalizations.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { dkimSign as mailauthSign } from 'mailauth/lib/dkim/sign.js'
import { dkimVerify as mailauthVerify } from 'mailauth/lib/dkim/verify.js'
import type { DKIMSignOptions } from 'mailauth'
import { dkimSign, dkimVerify, type DkimResult } from '../../src/dkim/index.ts'
import { canonicalizations, collect, DOMAIN, keyCases, records, resolver, sampleMessage, type KeyCase } from './fixtures.ts'

const PYTHON = '/usr/bin/python3'
const helper = fileURLToPath(new URL('./dkimpy-helper.py', import.meta.url))
const probe = spawnSync(PYTHON, ['-c', 'import dkim, nacl'], { encoding: 'utf8' })
const dkimpyMissing =
  probe.status === 0 ? false : `dkimpy is not available (${PYTHON} -c 'import dkim, nacl' failed): install the Debian packages python3-dkim and python3-nacl`

/** Runs the dkimpy helper with `input` on stdin and returns its stdout; kills it after 30 s. */
async function dkimpy(args: readonly string[], input: Uint8Array): Promise<Buffer> {
  const child = spawn(PYTHON, [helper, ...args], { signal: AbortSignal.timeout(30_000), stdio: ['pipe', 'pipe', 'pipe'] })
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  })
  child.stdin.end(input)
  const code = await exited
  if (code !== 0) throw new Error(`dkimpy helper exited with ${code}: ${Buffer.concat(err).toString()}`)
  return Buffer.concat(out)
}

const message = Buffer.from(sampleMessage)

async function ourSignature(key: KeyCase, canonicalization: (typeof canonicalizations)[number]): Promise<Buffer> {
  return collect(dkimSign(message, { domain: DOMAIN, selector: key.selector, privateKey: key.privateKey, canonicalization, expiresInSeconds: 3600 }))
}

function dkimpyKey(key: KeyCase): string {
  if (key.name === 'rsa-sha256') return key.privateKey.export({ format: 'pem', type: 'pkcs1' }) as string
  // dkimpy takes an Ed25519 key as the base64 of its 32-byte seed.
  return Buffer.from(key.privateKey.export({ format: 'jwk' }).d!, 'base64url').toString('base64')
}

async function signWithDkimpy(key: KeyCase, canonicalization: string, input: Buffer = message): Promise<Buffer> {
  const [header, body] = canonicalization.split('/')
  const spec = { selector: key.selector, domain: DOMAIN, key: dkimpyKey(key), algorithm: key.name, header, body, headers: ['from', 'to', 'subject', 'date', 'message-id'] }
  const signature = await dkimpy(['sign', JSON.stringify(records), JSON.stringify(spec)], input)
  return Buffer.concat([signature, input])
}

async function signWithMailauth(key: KeyCase, canonicalization: string, input: Buffer = message): Promise<Buffer> {
  const options = {
    canonicalization,
    signatureData: [{ signingDomain: DOMAIN, selector: key.selector, privateKey: key.privateKey.export({ format: 'pem', type: 'pkcs8' }), algorithm: key.name, canonicalization }],
  } as unknown as DKIMSignOptions
  const { signatures, errors } = await mailauthSign(input, options)
  assert.deepEqual(errors, [])
  return Buffer.concat([Buffer.from(signatures), input])
}

const mailauthResolver = async (name: string): Promise<string[][]> => resolver(name)

for (const key of keyCases) {
  for (const canonicalization of canonicalizations) {
    describe(`${key.name} ${canonicalization}`, () => {
      test('dkimpy verifies our signature', { skip: dkimpyMissing }, async () => {
        const signed = await ourSignature(key, canonicalization)
        const results = JSON.parse((await dkimpy(['verify', JSON.stringify(records)], signed)).toString()) as { ok: boolean; error: string | null }[]
        assert.deepEqual(results, [{ ok: true, error: null }])
      })

      test('mailauth verifies our signature', async () => {
        const signed = await ourSignature(key, canonicalization)
        const { results } = await mailauthVerify(signed, { resolver: mailauthResolver })
        assert.equal(results.length, 1)
        assert.equal(results[0]!.status.result, 'pass', JSON.stringify(results[0]!.status))
      })

      test('we verify dkimpy\'s signature', { skip: dkimpyMissing }, async () => {
        const results = await dkimVerify(await signWithDkimpy(key, canonicalization), { resolver })
        assert.deepEqual(results.map((r) => [r.status, r.algorithm, r.reason]), [['pass', key.name, undefined]])
      })

      test('we verify mailauth\'s signature', async () => {
        const results = await dkimVerify(await signWithMailauth(key, canonicalization), { resolver })
        assert.deepEqual(results.map((r) => [r.status, r.algorithm, r.reason]), [['pass', key.name, undefined]])
      })
    })
  }
}

describe('several signatures on one message', () => {
  test('dkimpy and mailauth verify each of our signatures', async (t) => {
    const signed = await collect(dkimSign(message, keyCases.flatMap((key) => canonicalizations.map((canonicalization) => ({ domain: DOMAIN, selector: key.selector, privateKey: key.privateKey, canonicalization })))))
    const { results } = await mailauthVerify(signed, { resolver: mailauthResolver })
    assert.deepEqual(results.map((r) => r.status.result), Array(8).fill('pass'))
    if (dkimpyMissing) return t.skip(dkimpyMissing)
    const checked = JSON.parse((await dkimpy(['verify', JSON.stringify(records)], signed)).toString()) as { ok: boolean }[]
    assert.deepEqual(checked.map((r) => r.ok), Array(8).fill(true))
  })
})

/** The reason we expect for an added From: over-signed From fails the signature itself. */
function addedFromReason(signed: Buffer): string {
  const h = /h=([^;]+);/.exec(signed.toString('latin1'))![1]!.replace(/\s+/g, '')
  const fromCount = h.split(':').filter((name) => name.toLowerCase() === 'from').length
  return fromCount >= 2 ? 'signature did not verify' : `message has 2 From fields but the signature covers ${fromCount}`
}

const foreignSigners: [string, (key: KeyCase, c: string) => Promise<Buffer>, string | false][] = [
  ['dkimpy', signWithDkimpy, dkimpyMissing],
  ['mailauth', signWithMailauth, false],
]
for (const [signer, signWith, skip] of foreignSigners) {
  for (const key of keyCases) {
    describe(`we reject a tampered message signed by ${signer} (${key.name})`, { skip }, () => {
      const tampered = async (change: (text: string) => string): Promise<[DkimResult, Buffer]> => {
        const signed = await signWith(key, 'relaxed/relaxed')
        const [result] = await dkimVerify(Buffer.from(change(signed.toString('utf8'))), { resolver })
        return [result!, signed]
      }
      test('body changed: "body hash did not verify"', async () => {
        const [result] = await tampered((text) => text.replace('Hello Bob', 'Hello Eve'))
        assert.deepEqual([result.status, result.reason], ['fail', 'body hash did not verify'])
      })
      test('signed header changed: "signature did not verify"', async () => {
        const [result] = await tampered((text) => text.replace('<sample.1@', '<sample.9@'))
        assert.deepEqual([result.status, result.reason], ['fail', 'signature did not verify'])
      })
      test('From added: fails, whether or not the signer over-signed From', async () => {
        const [result, signed] = await tampered((text) => text.replace('From: Alice', 'From: Mallory <m@evil.test>\r\nFrom: Alice'))
        assert.deepEqual([result.status, result.reason], ['fail', addedFromReason(signed)])
      })
    })
  }
}
