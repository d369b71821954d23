import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { after, describe, test } from 'node:test'
import { compose } from '../../src/message/index.ts'
import { isRereadable, toChunks, type RereadableSource } from '../../src/protocol/message-source.ts'
import { assertParsesAs, PythonParser } from './round-trip.ts'

// Every message here is also read back by both parsers, except the 200 MB one, whose bytes are
// checked as they stream past instead.
const python = new PythonParser()
after(() => python.close())

const randomBytesOnce = randomBytes(100_000)

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = []
  for await (const chunk of source) chunks.push(chunk)
  return chunks
}

describe('Message.stream()', () => {
  test('yields chunks of at least 16 KiB, all but the last, coalescing headers and small parts', async () => {
    const big = randomBytes(300_000)
    const streamed = randomBytes(50_000)
    const message = compose({
      from: 'a@sender.example',
      text: 'short text',
      html: '<p>short html</p>',
      attachments: [
        { filename: 'small.txt', content: 'tiny\r\n' },
        { filename: 'big.bin', content: big },
        {
          filename: 'streamed.bin',
          content: async function* () {
            for (let at = 0; at < streamed.length; at += 1000) yield streamed.subarray(at, at + 1000)
          },
        },
      ],
    })
    const chunks = await collect(message.stream())
    assert.ok(chunks.length > 3)
    for (const chunk of chunks.slice(0, -1)) assert.ok(chunk.length >= 16 * 1024, `chunk of ${chunk.length} bytes`)
    await assertParsesAs(Buffer.concat(chunks), {
      text: 'short text',
      html: '<p>short html</p>',
      attachments: [
        { filename: 'small.txt', contentType: 'text/plain', content: Buffer.from('tiny\r\n') },
        { filename: 'big.bin', contentType: 'application/octet-stream', content: big },
        { filename: 'streamed.bin', contentType: 'application/octet-stream', content: streamed },
      ],
    }, python)
  })

  test('yields a small message as a single chunk', async () => {
    const chunks = await collect(compose({ from: 'a@sender.example', subject: 'hi', text: 'hello' }).stream())
    assert.equal(chunks.length, 1)
    await assertParsesAs(Buffer.from(chunks[0]!), { subject: 'hi', text: 'hello' }, python)
  })

  test('gives identical bytes to concurrent readers', async () => {
    const message = compose({ from: 'a@sender.example', text: 'x', attachments: [{ filename: 'r.bin', content: () => [randomBytesOnce] }] })
    const [first, second] = await Promise.all([message.toBuffer(), message.toBuffer()])
    assert.deepEqual(first, second)
    await assertParsesAs(first, { text: 'x', attachments: [{ filename: 'r.bin', contentType: 'application/octet-stream', content: randomBytesOnce }] }, python)
  })

  test('ends the message with CRLF, adding one only where the body lacks it', async () => {
    const cases = [
      { input: { text: 'no newline' }, expected: { text: 'no newline' } },
      { input: { text: 'newline\n' }, expected: { text: 'newline\n' } },
      { input: { html: 'é'.repeat(50) }, expected: { html: 'é'.repeat(50) } },
      { input: { text: 'Grüße aus Köln und anderswo\n' }, expected: { text: 'Grüße aus Köln und anderswo\n' } },
      { input: { attachments: [{ content: 'x' }] }, expected: {} },
    ]
    for (const { input, expected } of cases) {
      const bytes = await compose({ from: 'a@sender.example', ...input }).toBuffer()
      assert.equal(bytes.subarray(-2).toString(), '\r\n')
      assert.notEqual(bytes.subarray(-4).toString(), '\r\n\r\n')
      await assertParsesAs(bytes, expected, python)
    }
  })

  test('toText() gives the same message as toBuffer()', async () => {
    const message = compose({ from: 'a@sender.example', subject: 'Grüße', text: 'Grüße', smtpUtf8: true })
    const text = await message.toText()
    assert.equal(text, (await message.toBuffer()).toString('utf8'))
    await assertParsesAs(Buffer.from(text), { subject: 'Grüße', text: 'Grüße', smtpUtf8: true }, python)
  })

  test('is a re-readable message source for the client and DKIM signer', async () => {
    const message = compose({ from: 'a@sender.example', text: 'x' })
    const source: RereadableSource = message
    assert.ok(isRereadable(source))
    const viaProtocol = Buffer.concat(await collect(toChunks(message)))
    assert.deepEqual(viaProtocol, await message.toBuffer())
    await assertParsesAs(viaProtocol, { text: 'x' }, python)
  })

  test('exposes its header fields as a frozen ordered list', async () => {
    const message = compose({ from: 'a@sender.example', subject: 'hi' })
    assert.ok(Object.isFrozen(message.headers))
    assert.deepEqual(message.headers[0]?.[0], 'Date')
    await assertParsesAs(await message.toBuffer(), { subject: 'hi' }, python)
  })

  test('streams a 200 MB attachment with flat memory and a correct base64 line structure', async () => {
    const CHUNK = 64 * 1024
    const CHUNKS = 3200
    const block = randomBytes(CHUNK)
    const sent = createHash('sha256')
    const message = compose({
      from: 'a@sender.example',
      text: 'big one attached',
      attachments: [
        {
          filename: 'big.bin',
          content: async function* () {
            for (let i = 0; i < CHUNKS; i++) {
              const chunk = Buffer.from(block)
              chunk.writeUInt32BE(i)
              sent.update(chunk)
              yield chunk
            }
          },
        },
      ],
    })

    const marker = Buffer.from('Content-Disposition: attachment; filename=big.bin\r\n\r\n')
    const received = createHash('sha256')
    let head: Buffer | undefined = Buffer.alloc(0)
    let carry = Buffer.alloc(0)
    let lines = 0
    let shortLines = 0
    let done = false
    const baseline = process.memoryUsage.rss()
    let peak = baseline
    let count = 0
    for await (const chunk of message.stream()) {
      if (++count % 128 === 0) peak = Math.max(peak, process.memoryUsage.rss())
      let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
      if (head !== undefined) {
        head = Buffer.concat([head, data])
        const at = head.indexOf(marker)
        if (at === -1) continue
        data = head.subarray(at + marker.length)
        head = undefined
      }
      if (done) continue
      data = carry.length > 0 ? Buffer.concat([carry, data]) : data
      let start = 0
      for (let end = data.indexOf(0x0a, start); end !== -1; end = data.indexOf(0x0a, start)) {
        assert.equal(data[end - 1], 0x0d, 'line not ended by CRLF')
        const length = end - 1 - start
        if (data[start] === 0x2d) {
          done = true
          break
        }
        if (length !== 76) shortLines++
        lines++
        start = end + 1
      }
      // Node's base64 decoder skips the CRLFs; whole lines keep 4-character alignment.
      received.update(Buffer.from(data.subarray(0, start).toString('latin1'), 'base64'))
      carry = done ? Buffer.alloc(0) : Buffer.from(data.subarray(start))
    }
    peak = Math.max(peak, process.memoryUsage.rss())
    assert.ok(done, 'the attachment part did not end with a boundary')
    const bytes = CHUNK * CHUNKS
    assert.equal(lines, Math.ceil(bytes / 57))
    assert.equal(shortLines, bytes % 57 === 0 ? 0 : 1, 'only the last line may be shorter than 76')
    assert.equal(received.digest('hex'), sent.digest('hex'))
    const growth = (peak - baseline) / 2 ** 20
    assert.ok(growth < 64, `RSS grew by ${growth.toFixed(1)} MB`)
  })
})

describe('a message with a one-shot stream', () => {
  test('says it cannot be re-read and refuses a second stream() before reading anything', async () => {
    let opened = 0
    const once = (async function* () {
      opened++
      yield Buffer.from('x')
    })()
    const message = compose({ from: 'a@sender.example', attachments: [{ filename: 'x.bin', content: once }] })
    assert.equal(message.isRereadable, false)
    const first = message.stream()
    assert.throws(() => message.stream(), /streamed only once/)
    const bytes = Buffer.concat(await collect(first))
    assert.equal(opened, 1)
    await assertParsesAs(bytes, { attachments: [{ filename: 'x.bin', contentType: 'application/octet-stream', content: Buffer.from('x') }] }, python)
  })
})
