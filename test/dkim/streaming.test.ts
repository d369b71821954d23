// Memory stays flat when signing and verifying messages far larger than any buffer we keep.
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { describe, test } from 'node:test'
import { dkimSign, dkimVerify, type DkimSignOptions } from '../../src/dkim/index.ts'
import { DOMAIN, ED_SELECTOR, ed25519, resolver, RSA_SELECTOR, rsa } from './fixtures.ts'

const MESSAGE_BYTES = 200 * 1024 * 1024
const MAX_GROWTH_BYTES = 64 * 1024 * 1024

const header = Buffer.from('From: Big Sender <big@example.test>\r\nTo: r@example.net\r\nSubject: large\r\nDate: Mon, 02 Jun 2025 10:00:00 +0000\r\n\r\n')
// 64 KiB of whole text lines, with runs of spaces and a tab so relaxed canonicalization has work.
const line = 'The quick  brown fox\tjumps over the lazy dog; 0123456789 abcdefghij ABCDEFG\r\n'
const block = Buffer.from(line.repeat(Math.floor((64 * 1024) / line.length)))
const blocks = Math.ceil((MESSAGE_BYTES - header.length) / block.length)
const totalBytes = header.length + blocks * block.length

/** A generated ~200 MB message; the same block is yielded again and again, nothing is kept. */
async function* generate(): AsyncGenerator<Uint8Array> {
  yield header
  for (let i = 0; i < blocks; i++) yield block
}

const signatures: DkimSignOptions[] = [
  { domain: DOMAIN, selector: RSA_SELECTOR, privateKey: rsa.privateKey },
  { domain: DOMAIN, selector: ED_SELECTOR, privateKey: ed25519.privateKey, canonicalization: 'simple/simple' },
]

class RssProbe {
  readonly #before = process.memoryUsage.rss()
  #peak = this.#before
  sample(): void {
    const rss = process.memoryUsage.rss()
    if (rss > this.#peak) this.#peak = rss
  }
  get growth(): number {
    return this.#peak - this.#before
  }
}

/** Passes chunks through, counting bytes and sampling RSS; stores nothing. */
async function* observe(source: AsyncIterable<Uint8Array>, probe: RssProbe, seen: { bytes: number }, onFirst?: () => Promise<void>): AsyncGenerator<Uint8Array> {
  let count = 0
  for await (const chunk of source) {
    if (count === 0 && onFirst) await onFirst()
    seen.bytes += chunk.length
    if (++count % 32 === 0) probe.sample()
    yield chunk
  }
}

describe('streaming a ~200 MB message', () => {
  test('signing a re-readable source and verifying the output keeps RSS growth under 64 MB', async (t) => {
    const probe = new RssProbe()
    const seen = { bytes: 0 }
    const signed = dkimSign({ stream: generate }, signatures)
    const results = await dkimVerify(observe(signed.stream(), probe, seen), { resolver })
    probe.sample()
    assert.deepEqual(results.map((r) => r.status), ['pass', 'pass'])
    assert.ok(seen.bytes > totalBytes && seen.bytes < totalBytes + 4096, `emitted ${seen.bytes} bytes for a ${totalBytes}-byte message`)
    t.diagnostic(`RSS growth ${(probe.growth / 2 ** 20).toFixed(1)} MiB for ${(seen.bytes / 2 ** 20).toFixed(0)} MiB`)
    assert.ok(probe.growth < MAX_GROWTH_BYTES, `RSS grew by ${(probe.growth / 2 ** 20).toFixed(1)} MiB`)
  })

  test('signing a one-shot stream spools to a temporary file, keeps RSS growth under 64 MB and removes the file', async (t) => {
    const dir = await mkdtemp(`${tmpdir()}/smtpkit-dkim-stream-`)
    t.after(() => rm(dir, { recursive: true, force: true }))
    const probe = new RssProbe()
    const seen = { bytes: 0 }
    let spooled: string[] = []
    const signed = dkimSign(generate(), signatures, { tmpDir: dir })
    const results = await dkimVerify(observe(signed, probe, seen, async () => { spooled = await readdir(dir) }), { resolver })
    probe.sample()
    assert.deepEqual(results.map((r) => r.status), ['pass', 'pass'])
    assert.equal(spooled.length, 1, 'a spool directory existed while the output was read')
    assert.deepEqual(await readdir(dir), [], 'the spool directory is gone')
    assert.ok(seen.bytes > totalBytes && seen.bytes < totalBytes + 4096)
    t.diagnostic(`RSS growth ${(probe.growth / 2 ** 20).toFixed(1)} MiB for ${(seen.bytes / 2 ** 20).toFixed(0)} MiB`)
    assert.ok(probe.growth < MAX_GROWTH_BYTES, `RSS grew by ${(probe.growth / 2 ** 20).toFixed(1)} MiB`)
  })
})
