import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { test } from 'node:test'
import { isRereadable, toChunks } from '../../src/protocol/message-source.ts'
import { withProgress } from '../../src/cli/progress.ts'

async function drain(source: Parameters<typeof toChunks>[0]): Promise<Buffer> {
  const chunks: Uint8Array[] = []
  for await (const chunk of toChunks(source)) chunks.push(chunk)
  return Buffer.concat(chunks)
}

function terminal(): { out: PassThrough; text(): string } {
  const out = new PassThrough()
  let text = ''
  out.setEncoding('utf8').on('data', (s: string) => (text += s))
  return { out, text: () => text }
}

test('draws a progress line for a large message, clears it at the end, and passes the bytes through unchanged', async () => {
  const body = Buffer.alloc(6 * 1024 * 1024, 0x61)
  const chunks = Array.from({ length: 6 }, (_, i) => body.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024))
  const tty = terminal()
  const wrapped = withProgress({ stream: () => chunks }, { totalBytes: body.length, minBytes: 4 * 1024 * 1024, out: tty.out })
  assert.ok(isRereadable(wrapped), 'a re-readable source stays re-readable')
  assert.deepEqual(await drain(wrapped), body)
  assert.match(tty.text(), /\rsending 1\.0 MiB of 6\.0 MiB \(16%\)\x1b\[K/)
  assert.ok(tty.text().endsWith('\r\x1b[K'), 'the line is cleared at the end')
})

test('stays silent for a small message', async () => {
  const tty = terminal()
  const wrapped = withProgress((async function* () { yield Buffer.from('small') })(), { totalBytes: undefined, minBytes: 4 * 1024 * 1024, out: tty.out })
  assert.equal((await drain(wrapped)).toString(), 'small')
  assert.equal(tty.text(), '')
})

test('never shows more than 99% when the wire form is larger than the file (CRLF line ends)', async () => {
  const tty = terminal()
  const wrapped = withProgress([Buffer.alloc(120, 0x61)], { totalBytes: 100, minBytes: 0, out: tty.out })
  await drain(wrapped)
  assert.match(tty.text(), /\(99%\)/)
  assert.doesNotMatch(tty.text(), /\(1\d\d%\)/)
})
