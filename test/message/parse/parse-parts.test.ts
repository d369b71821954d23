import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { text as readText } from 'node:stream/consumers'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { parseMessage, parseParts, type MessagePart } from '../../../src/message/index.ts'
import { splitAt } from '../../helpers/split-at.ts'

const message = [
  'From: a@example.test',
  'Subject: parts',
  'Content-Type: multipart/mixed; boundary=b',
  '',
  '--b',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'caf=C3=A9',
  '--b',
  'Content-Type: application/pdf; name=a.pdf',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('%PDF-1.7 bytes').toString('base64'),
  '--b',
  'Content-Type: message/rfc822',
  '',
  'Subject: inner',
  '',
  'inner text',
  '--b--',
  '',
].join('\r\n')

async function collectParts(source: Parameters<typeof parseParts>[0]): Promise<Array<[MessagePart, string]>> {
  const out: Array<[MessagePart, string]> = []
  for await (const part of parseParts(source)) out.push([part, (await readBody(part)).toString('latin1')])
  return out
}

async function readBody(part: MessagePart): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of part.body) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

describe('parseParts', () => {
  test('yields each leaf part in order with its header, path and decoded body', async () => {
    const parts = await collectParts(message)
    assert.deepEqual(
      parts.map(([part, body]) => [part.path, part.contentType, part.filename, part.isAttachment, part.messageDepth, part.messageHeaders.get('subject'), body]),
      [
        [[0], 'text/plain', undefined, false, 0, 'parts', Buffer.from('café').toString('latin1')],
        [[1], 'application/pdf', 'a.pdf', true, 0, 'parts', '%PDF-1.7 bytes'],
        [[2], 'text/plain', undefined, false, 1, 'inner', 'inner text'],
      ],
    )
  })

  test('bodies nobody reads are skipped when the next part is asked for', async () => {
    const types: string[] = []
    for await (const part of parseParts(message)) types.push(part.contentType)
    assert.deepEqual(types, ['text/plain', 'application/pdf', 'text/plain'])
  })

  test('a part is yielded as soon as its header has arrived, before its body', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    async function* source(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('Content-Type: application/zip; name=big.zip\r\n\r\nstart')
      await gate
      yield Buffer.from(' and the rest')
    }
    for await (const part of parseParts(source())) {
      assert.equal(part.filename, 'big.zip')
      release()
      assert.equal(await readText(part.body), 'start and the rest')
    }
  })

  test('the source is read only as fast as the body is: memory stays flat', async () => {
    const chunkBytes = 48 * 1024
    const chunks = 120
    let produced = 0
    let maxAhead = 0
    async function* source(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n')
      const line = Buffer.from(`${Buffer.alloc(57, 7).toString('base64')}\r\n`)
      const block = Buffer.concat(Array.from({ length: chunkBytes / 57 / 4 * 4 }, () => line))
      for (let i = 0; i < chunks; i++) {
        produced += block.length
        yield block
      }
    }
    let consumed = 0
    for await (const part of parseParts(source())) {
      for await (const chunk of part.body) {
        consumed += (chunk as Buffer).length
        maxAhead = Math.max(maxAhead, produced - (consumed * 78) / 57)
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    assert.ok(consumed > 4_000_000, `read ${consumed} bytes`)
    assert.ok(maxAhead < 8 * chunkBytes, `the source ran ${maxAhead} bytes ahead of the reader`)
  })

  test('leaving the loop early stops reading the source', async () => {
    let pulled = 0
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < 1000; i++) {
          pulled++
          yield Buffer.from(i === 0 ? 'Content-Type: multipart/mixed; boundary=b\r\n\r\n' : `--b\r\nContent-Type: application/x-n\r\n\r\n${'x'.repeat(10_000)}\r\n`)
        }
      })(),
    )
    for await (const part of parseParts(source)) {
      assert.deepEqual(part.path, [0])
      break
    }
    assert.ok(pulled < 100, `pulled ${pulled} chunks`)
  })

  test('a failing source makes the loop throw and the open body fail', async () => {
    const boom = new Error('disk on fire')
    async function* source(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('Content-Type: application/zip\r\n\r\nsome bytes')
      throw boom
    }
    let bodyError: unknown
    await assert.rejects(async () => {
      for await (const part of parseParts(source())) {
        bodyError = await readBody(part).catch((error: unknown) => error)
      }
    }, boom)
    assert.equal(bodyError, boom)
  })

  test('property: any chunking gives the parts parseMessage finds', async () => {
    const bytes = Buffer.from(message)
    const expected = (await parseMessage(bytes)).attachments.map((a) => a.checksum)
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 10 }), async (cuts) => {
        const parts = await collectParts(Readable.from(splitAt(bytes, cuts)))
        const checksums = parts.filter(([part]) => part.isAttachment).map(([, body]) => createHash('sha256').update(Buffer.from(body, 'latin1')).digest('hex'))
        assert.deepEqual(checksums, expected.slice(0, 1))
        assert.equal(parts.length, 3)
      }),
      { numRuns: 100 },
    )
  })

  test('options are checked like parseMessage\'s', async () => {
    await assert.rejects(async () => {
      for await (const part of parseParts('', { maxDecodedBytes: 5 } as never)) void part
    }, /parseParts\(\): unknown option "maxDecodedBytes"/)
  })
})

describe('parseMessage with onAttachment', () => {
  test('hands each attachment over as a stream and keeps only its size and checksum', async () => {
    const seen: Array<[string | undefined, string]> = []
    const parsed = await parseMessage(message, {
      onAttachment: async (attachment, content) => {
        seen.push([attachment.filename, await readText(content)])
      },
    })
    assert.deepEqual(seen, [['a.pdf', '%PDF-1.7 bytes']])
    const pdf = parsed.attachments.find((a) => a.contentType === 'application/pdf')!
    assert.equal(pdf.content.length, 0)
    assert.equal(pdf.size, 14)
    assert.equal(pdf.checksum, createHash('sha256').update('%PDF-1.7 bytes').digest('hex'))
    assert.equal(parsed.attachments.find((a) => a.contentType === 'message/rfc822')?.message?.text, 'inner text')
    assert.equal(parsed.text, 'café')
  })

  test('a stream the handler leaves unread is discarded, and a handler error rejects parseMessage', async () => {
    const big = `Content-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.alloc(3_000_000).toString('base64')}`
    const parsed = await parseMessage(big, { onAttachment: () => undefined, maxDecodedBytes: 1000 })
    assert.equal(parsed.attachments[0]!.size, 3_000_000)
    const failure = new Error('no room')
    await assert.rejects(
      parseMessage(Readable.from(splitAt(Buffer.from(big), [100, 200_000, 400_000])), {
        onAttachment: async (_, content) => {
          content.once('data', () => {})
          throw failure
        },
      }),
      failure,
    )
  })

  test('an attachment inside an attached message is kept with that message, not handed over', async () => {
    const inner = ['Subject: inner', 'Content-Type: multipart/mixed; boundary=i', '', '--i', 'Content-Type: text/plain', '', 'inner text', '--i',
      'Content-Type: application/pdf; name=inner.pdf', 'Content-Transfer-Encoding: base64', '', Buffer.from('%PDF inner').toString('base64'), '--i--', ''].join('\r\n')
    const outer = ['Subject: outer', 'Content-Type: multipart/mixed; boundary=o', '', '--o', 'Content-Type: application/pdf; name=outer.pdf', '', 'outer bytes',
      '--o', 'Content-Type: message/rfc822', '', inner, '--o--', ''].join('\r\n')
    const handed: Array<string | undefined> = []
    const parsed = await parseMessage(outer, {
      onAttachment: async (attachment, content) => {
        handed.push(attachment.filename)
        await readText(content)
      },
    })
    assert.deepEqual(handed, ['outer.pdf'])
    const attached = parsed.attachments.find((a) => a.contentType === 'message/rfc822')!.message!
    assert.equal(attached.attachments[0]!.filename, 'inner.pdf')
    assert.equal(attached.attachments[0]!.content.toString(), '%PDF inner')
  })

  test('a handler that fails stops the reading of the source at once, not at its end', async () => {
    const lines = Buffer.from(`${Buffer.alloc(57, 1).toString('base64')}\r\n`.repeat(800))
    let pulled = 0
    async function* source(): AsyncGenerator<Buffer> {
      yield Buffer.from('Content-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n\r\n')
      for (; pulled < 1000; pulled++) yield lines
    }
    const failure = new Error('refused at once')
    await assert.rejects(parseMessage(source(), { onAttachment: () => Promise.reject(failure) }), failure)
    assert.ok(pulled < 10, `read ${pulled} of 1000 chunks after the handler failed`)
  })
})
