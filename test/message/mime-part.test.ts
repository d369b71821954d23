import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { coalesce, createMultiPart, partFields, streamBody, type LeafPart } from '../../src/message/mime-part.ts'

async function* from(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks
}

async function read(source: AsyncIterable<Uint8Array>): Promise<Buffer[]> {
  const out: Buffer[] = []
  for await (const chunk of source) out.push(Buffer.from(chunk))
  return out
}

const leaf = (text: string): LeafPart => ({
  kind: 'leaf',
  fields: ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 7bit'],
  encoding: '7bit',
  mode: 'text',
  source: { kind: 'bytes', bytes: Buffer.from(text) },
})

describe('coalesce', () => {
  test('joins small chunks up to the minimum and passes large ones through uncopied', async () => {
    const large = Buffer.alloc(100, 1)
    const out: Uint8Array[] = []
    for await (const chunk of coalesce(from([Buffer.from('ab'), Buffer.from('cd'), Buffer.alloc(0), large, Buffer.from('e')]), 4)) out.push(chunk)
    assert.deepEqual(out.map((chunk) => Buffer.from(chunk).toString('latin1')), ['abcd', large.toString('latin1'), 'e'])
    assert.equal(out[1], large)
  })
})

describe('streamBody', () => {
  test('writes each child after a delimiter line with its fields, then the close-delimiter, without a trailing CRLF', async () => {
    const part = createMultiPart('alternative', [leaf('one'), leaf('two\r\n')])
    part.boundary = '=_b'
    const body = Buffer.concat(await read(streamBody(part))).toString()
    const fields = 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit'
    assert.equal(body, `--=_b\r\n${fields}\r\n\r\none\r\n--=_b\r\n${fields}\r\n\r\ntwo\r\n\r\n--=_b--`)
  })

  test('names the root type of a multipart/related (RFC 2387)', () => {
    const part = createMultiPart('related', [leaf('<p>')])
    part.boundary = '=_r'
    assert.deepEqual(partFields(part), ['Content-Type: multipart/related; type="text/plain"; boundary="=_r"'])
  })
})
