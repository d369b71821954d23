import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { BdatDecoder, CrlfNormalizer, DotDecoder, DotEncoder, dotEncode } from '../../src/protocol/dot-stuffing.ts'
import { ThreePassDotDecoder, ThreePassTextBodyCheck } from '../helpers/three-pass-body.ts'
import { splitAt } from '../helpers/split-at.ts'

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1')
const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1')


function encodeAll(chunks: readonly Buffer[], codec: DotEncoder | CrlfNormalizer = new DotEncoder()): Buffer {
  const out: Buffer[] = chunks.map((c) => Buffer.from(codec.encode(c)))
  out.push(codec.end())
  return Buffer.concat(out)
}

interface Decoded {
  body: string
  end: number // absolute offset just after the terminator, or -1
  bytes: number
  bare: boolean
  long: boolean
}

function decodeAll(chunks: readonly Buffer[], maxLineBytes = 1000): Decoded {
  const decoder = new DotDecoder({ maxLineBytes })
  const body: Buffer[] = []
  let offset = 0
  let end = -1
  for (const chunk of chunks) {
    const result = decoder.decode(chunk)
    body.push(...result.body)
    if (result.end !== -1) {
      assert.ok(result.end > 0 && result.end <= chunk.length)
      end = offset + result.end
      assert.equal(decoder.done, true)
      break
    }
    offset += chunk.length
  }
  const joined = Buffer.concat(body)
  assert.equal(decoder.bytes, joined.length)
  return { body: text(joined), end, bytes: decoder.bytes, bare: decoder.sawBareLineEnding, long: decoder.sawLongLine }
}

const normalise = (s: string): string => s.replace(/\r\n|\r|\n/g, '\r\n')

// An independent model of the decoder, on latin1 strings: data ends at the first CRLF.CRLF
// (counting the DATA line's CRLF), and every line after a CRLF loses one leading dot.
function model(input: Buffer, maxLineBytes = 1000): Decoded {
  const s = `\r\n${text(input)}`
  const t = s.indexOf('\r\n.\r\n')
  let wire = t === -1 ? s.slice(2) : s.slice(2, t + 2)
  let lines = wire.split('\r\n')
  if (t === -1 && s.endsWith('\r\n.\r')) {
    // ".\r" at a line start: the decoder cannot yet tell a terminator from a bare CR.
    wire = wire.slice(0, -1)
    lines = wire.split('\r\n')
  }
  const unstuffed = lines.map((l) => (l.startsWith('.') ? l.slice(1) : l))
  const last = unstuffed.length - 1
  const long = unstuffed.some((l, i) => {
    if (i < last) return l.length + 2 > maxLineBytes
    return t === -1 && (l.endsWith('\r') ? l.length - 1 : l.length) + 2 > maxLineBytes
  })
  const body = unstuffed.join('\r\n')
  return {
    body,
    end: t === -1 ? -1 : t + 3,
    bytes: body.length,
    bare: /\r(?=[^\n])|(?<!\r)\n/.test(wire),
    long,
  }
}

// Bytes rich in what matters here: CR, LF, dots, plus anything else.
const bodyBytes = fc
  .array(fc.oneof(fc.constantFrom(0x0d, 0x0a, 0x2e, 0x61), fc.integer({ min: 0, max: 255 })), { maxLength: 120 })
  .map((a) => Buffer.from(a))
const cuts = fc.array(fc.nat({ max: 400 }), { maxLength: 12 })

describe('DotEncoder', () => {
  const table: [string, string][] = [
    ['', '.\r\n'],
    ['a', 'a\r\n.\r\n'],
    ['a\r\n', 'a\r\n.\r\n'],
    ['.', '..\r\n.\r\n'],
    ['.a\r\n', '..a\r\n.\r\n'],
    ['a\r\n.\r\nb\r\n', 'a\r\n..\r\nb\r\n.\r\n'],
    ['a\r\n..\r\n', 'a\r\n...\r\n.\r\n'],
    ['a.b\r\n', 'a.b\r\n.\r\n'],
    ['a\n.b\n', 'a\r\n..b\r\n.\r\n'],
    ['a\r.b', 'a\r\n..b\r\n.\r\n'],
    ['\r\r\n', '\r\n\r\n.\r\n'],
    ['\n\n', '\r\n\r\n.\r\n'],
    ['a\r', 'a\r\n.\r\n'],
    ['\r\n.\n.\r', '\r\n..\r\n..\r\n.\r\n'],
  ]
  for (const [input, want] of table) {
    test(`encodes ${JSON.stringify(input)} as ${JSON.stringify(want)}`, () => {
      assert.equal(text(encodeAll([bytes(input)])), want)
      assert.equal(text(encodeAll([...bytes(input)].map((b) => Buffer.from([b])))), want, 'one byte per chunk')
    })
  }

  test('returns a chunk that needs no change as the same memory, not a copy', () => {
    const encoder = new DotEncoder()
    const buf = bytes('hello\r\nworld\r\n')
    assert.equal(encoder.encode(buf), buf)
    const u8 = new Uint8Array(bytes('xx more text\r\nand a line'))
    const view = encoder.encode(u8.subarray(3))
    assert.equal(view.buffer, u8.buffer)
    assert.equal(view.byteOffset, 3)
  })

  test('passes a CR at the end of a chunk on at once, and completes it if no LF follows', () => {
    const encoder = new DotEncoder()
    assert.equal(text(encoder.encode(bytes('a\r'))), 'a\r')
    assert.equal(text(encoder.encode(bytes('\nb\r'))), '\nb\r')
    assert.equal(text(encoder.encode(bytes('.c'))), '\n..c')
    assert.equal(text(encoder.end()), '\r\n.\r\n')
  })

  test('refuses to encode after end', () => {
    const encoder = new DotEncoder()
    encoder.end()
    assert.throws(() => encoder.encode(bytes('a')), /after end/)
    assert.throws(() => encoder.end(), /twice/)
  })

  test('dotEncode stuffs an async source and appends the terminator', async () => {
    async function* source() {
      yield bytes('.a\n')
      yield bytes('')
      yield bytes('b')
    }
    const out: Buffer[] = []
    for await (const chunk of dotEncode(source())) out.push(chunk)
    assert.equal(text(Buffer.concat(out)), '..a\r\nb\r\n.\r\n')
  })

  test('any split of the input gives the same output', () => {
    fc.assert(
      fc.property(bodyBytes, cuts, (input, c) => {
        assert.equal(text(encodeAll(splitAt(input, c))), text(encodeAll([input])))
      }),
      { numRuns: 500 },
    )
  })

  test('output has only CRLF line endings, every line starting with a dot is stuffed, and CRLF.CRLF appears only at the end', () => {
    fc.assert(
      fc.property(bodyBytes, cuts, (input, c) => {
        const out = text(encodeAll(splitAt(input, c)))
        assert.ok(out.endsWith('.\r\n'))
        const data = out.slice(0, -3)
        assert.ok(!/\r(?!\n)|(?<!\r)\n/.test(out), 'no bare CR or LF')
        assert.ok(!`\r\n${data}`.includes('\r\n.\r\n'), 'no early terminator')
        for (const line of data.split('\r\n')) assert.ok(!line.startsWith('.') || line.startsWith('..'))
      }),
      { numRuns: 500 },
    )
  })
})

describe('CrlfNormalizer', () => {
  const table: [string, string][] = [
    ['', ''],
    ['a', 'a\r\n'],
    ['a\r\n', 'a\r\n'],
    ['.a\n.\n', '.a\r\n.\r\n'],
    ['a\rb\r', 'a\r\nb\r\n'],
    ['\r\r\n\n', '\r\n\r\n\r\n'],
  ]
  for (const [input, want] of table) {
    test(`normalises ${JSON.stringify(input)} to ${JSON.stringify(want)} without stuffing`, () => {
      assert.equal(text(encodeAll([bytes(input)], new CrlfNormalizer())), want)
    })
  }

  test('any split of the input gives the normalised input, with a final CRLF', () => {
    fc.assert(
      fc.property(bodyBytes, cuts, (input, c) => {
        const want = normalise(text(input))
        const out = text(encodeAll(splitAt(input, c), new CrlfNormalizer()))
        assert.equal(out, want === '' || want.endsWith('\r\n') ? want : `${want}\r\n`)
      }),
      { numRuns: 300 },
    )
  })
})

describe('DotDecoder', () => {
  const table: [string, string, number][] = [
    ['.\r\n', '', 3],
    ['.\r\nQUIT\r\n', '', 3],
    ['a\r\n.\r\nQUIT\r\n', 'a\r\n', 6],
    ['..a\r\n.\r\n', '.a\r\n', 8],
    ['.a\r\n.\r\n', 'a\r\n', 7],
    ['a\r\n..\r\n.\r\n', 'a\r\n.\r\n', 10],
    ['a.\r\n.b\r\n.\r\n', 'a.\r\nb\r\n', 11],
    ['\r\n.\r\n', '\r\n', 5],
  ]
  for (const [input, body, end] of table) {
    test(`decodes ${JSON.stringify(input)} to ${JSON.stringify(body)}, ending at ${end}`, () => {
      const got = decodeAll([bytes(input)])
      assert.deepEqual([got.body, got.end, got.bare], [body, end, false])
      const bytewise = decodeAll([...bytes(input)].map((b) => Buffer.from([b])))
      assert.deepEqual([bytewise.body, bytewise.end], [body, end], 'one byte per chunk')
    })
  }

  test('delivers views into the chunk when there is nothing to unstuff', () => {
    const chunk = bytes('Subject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n')
    const { body, end } = new DotDecoder().decode(chunk)
    assert.equal(body.length, 1)
    assert.equal(body[0]!.buffer, chunk.buffer)
    assert.equal(text(chunk.subarray(end)), 'QUIT\r\n')
  })

  // The 2023 SMTP smuggling research (SEC Consult) and its follow-ups: end-of-data forms that
  // some servers accept. None of them may end the data here.
  const smuggling = [
    '\n.\n',
    '\n.\r\n',
    '\r\n.\n',
    '\n.\r',
    '\r.\n',
    '\r.\r',
    '\r.\r\n',
    '\r\n.\r',
    '\r\n.\r\r\n',
    '\r\n.\n\r\n',
    '\r\r\n.\r\r\n',
    '\n\n.\n\n',
    '\r\n\x00.\r\n',
    '\r\n.\x00\r\n',
    '\r\n \r\n',
  ]
  for (const variant of smuggling) {
    test(`does not end data on ${JSON.stringify(variant)}, and keeps it in the body`, () => {
      const smuggled = `a${variant}MAIL FROM:<evil@example.test>\r\n`
      const open = decodeAll([bytes(smuggled)])
      assert.equal(open.end, -1)
      assert.equal(open.bare, /\r(?!\n)|(?<!\r)\n/.test(smuggled))
      const closed = decodeAll([bytes(`${smuggled}.\r\n`)])
      assert.equal(closed.end, smuggled.length + 3)
      assert.equal(closed.body, model(bytes(`${smuggled}.\r\n`)).body)
      assert.ok(closed.body.includes('MAIL FROM:<evil@example.test>'))
    })
  }

  test('does not unstuff a dot after a bare LF or bare CR', () => {
    assert.equal(decodeAll([bytes('a\n..b\r..c\r\n.\r\n')]).body, 'a\n..b\r..c\r\n')
  })

  test('flags lines over maxLineBytes, not counting a stuffed dot', () => {
    const exact = `${'x'.repeat(998)}\r\n`
    assert.equal(decodeAll([bytes(`${exact}.\r\n`)]).long, false)
    assert.equal(decodeAll([bytes(`.${exact}.\r\n`)]).long, false)
    assert.equal(decodeAll([bytes(`x${exact}.\r\n`)]).long, true)
    assert.equal(decodeAll(splitAt(bytes(`x${exact}.\r\n`), [1, 500, 999, 1000])).long, true)
    assert.equal(decodeAll(splitAt(bytes(`${exact}.\r\n`), [998, 999, 1000])).long, false)
  })

  test('refuses to decode after the end and rejects a bad maxLineBytes', () => {
    const decoder = new DotDecoder()
    decoder.decode(bytes('.\r\n'))
    assert.throws(() => decoder.decode(bytes('x')), /after the end/)
    assert.throws(() => new DotDecoder({ maxLineBytes: 1.5 }), RangeError)
    assert.doesNotThrow(() => new DotDecoder({ maxLineBytes: Infinity }))
  })

  test('matches the model on arbitrary bytes: body, end, bare line endings, long lines', () => {
    fc.assert(
      fc.property(bodyBytes, cuts, fc.integer({ min: 2, max: 12 }), (input, c, max) => {
        assert.deepEqual(decodeAll(splitAt(input, c), max), model(input, max))
      }),
      { numRuns: 2000 },
    )
  })

  test('any split gives the same body, end and flags', () => {
    fc.assert(
      fc.property(bodyBytes, cuts, cuts, (input, c1, c2) => {
        assert.deepEqual(decodeAll(splitAt(input, c1), 6), decodeAll(splitAt(input, c2), 6))
      }),
      { numRuns: 500 },
    )
  })

  test('never reports the end for input without CRLF.CRLF, whatever smuggling forms it has', () => {
    const pieces = fc.constantFrom(...smuggling, '.', '\r', '\n', '\r\n', 'x', '..', '\x00')
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 30 }), cuts, (parts, c) => {
        const input = bytes(parts.join(''))
        fc.pre(!`\r\n${parts.join('')}`.includes('\r\n.\r\n'))
        assert.equal(decodeAll(splitAt(input, c)).end, -1)
      }),
      { numRuns: 1000 },
    )
  })

  test('decoding encoded bytes gives the input with CRLF line endings', () => {
    fc.assert(
      fc.property(bodyBytes, cuts, cuts, (input, c1, c2) => {
        const wire = encodeAll(splitAt(input, c1))
        const got = decodeAll(splitAt(wire, c2))
        const want = normalise(text(input))
        assert.equal(got.body, want === '' || want.endsWith('\r\n') ? want : `${want}\r\n`)
        assert.equal(got.end, wire.length)
        assert.equal(got.bare, false)
      }),
      { numRuns: 1000 },
    )
  })
})

// The one-pass decoders against the composition they replaced (test/helpers/three-pass-body.ts):
// the same body, end, findings and byte count on any input cut into any chunks.
describe('one pass equals the three-pass composition', () => {
  const textBytes = fc
    .array(fc.oneof(fc.constantFrom(0x0d, 0x0a, 0x2e, 0x00, 0x61), fc.integer({ min: 0, max: 255 })), { maxLength: 120 })
    .map((a) => Buffer.from(a))
  const maxLine = fc.oneof(fc.integer({ min: 2, max: 12 }), fc.constant(Infinity))

  interface Findings {
    body: string
    end: number
    bytes: number
    bare: boolean
    long: boolean
    nul: boolean
  }

  function oneDot(chunks: readonly Buffer[], maxLineBytes: number, normalize: boolean): Findings {
    const decoder = new DotDecoder({ maxLineBytes, normalizeLineEndings: normalize })
    const body: Buffer[] = []
    let offset = 0
    let end = -1
    for (const chunk of chunks) {
      const result = decoder.decode(chunk)
      body.push(...result.body)
      if (result.end !== -1) {
        end = offset + result.end
        break
      }
      offset += chunk.length
    }
    return { body: text(Buffer.concat(body)), end, bytes: decoder.bytes, bare: decoder.sawBareLineEnding, long: decoder.sawLongLine, nul: decoder.sawNul }
  }

  function threeDot(chunks: readonly Buffer[], maxLineBytes: number, normalize: boolean): Findings {
    const decoder = new ThreePassDotDecoder(maxLineBytes)
    const normalizer = normalize ? new CrlfNormalizer() : undefined
    const body: Buffer[] = []
    let nul = false
    let offset = 0
    let end = -1
    for (const chunk of chunks) {
      const result = decoder.decode(chunk)
      for (const part of result.body) {
        if (part.includes(0)) nul = true
        body.push(normalizer ? Buffer.from(normalizer.encode(part)) : part)
      }
      if (result.end !== -1) {
        end = offset + result.end
        break
      }
      offset += chunk.length
    }
    if (normalizer && end !== -1) body.push(normalizer.end())
    const joined = Buffer.concat(body)
    return { body: text(joined), end, bytes: joined.length, bare: decoder.sawBareLineEnding, long: decoder.sawLongLine, nul }
  }

  function oneBdat(chunks: readonly Buffer[], maxLineBytes: number, normalize: boolean): Findings {
    const decoder = new BdatDecoder({ maxLineBytes, normalizeLineEndings: normalize })
    const body: Buffer[] = []
    for (const chunk of chunks) {
      const result = decoder.decode(chunk)
      assert.equal(result.end, -1)
      body.push(...result.body)
    }
    body.push(decoder.finish())
    assert.equal(decoder.done, true)
    return { body: text(Buffer.concat(body)), end: -1, bytes: decoder.bytes, bare: decoder.sawBareLineEnding, long: decoder.sawLongLine, nul: decoder.sawNul }
  }

  function threeBdat(chunks: readonly Buffer[], maxLineBytes: number, normalize: boolean): Findings {
    const check = new ThreePassTextBodyCheck(maxLineBytes)
    const normalizer = normalize ? new CrlfNormalizer() : undefined
    const body: Buffer[] = []
    for (const chunk of chunks) {
      check.scan(chunk)
      body.push(normalizer ? Buffer.from(normalizer.encode(chunk)) : chunk)
    }
    check.end()
    if (normalizer) body.push(normalizer.end())
    const joined = Buffer.concat(body)
    return { body: text(joined), end: -1, bytes: joined.length, bare: check.sawBareLineEnding, long: check.sawLongLine, nul: check.sawNul }
  }

  test('DATA: DotDecoder equals DotDecoder, a NUL search and a CrlfNormalizer, on any chunking', () => {
    fc.assert(
      fc.property(textBytes, cuts, cuts, maxLine, fc.boolean(), (input, c1, c2, max, normalize) => {
        const closed = Buffer.concat([input, bytes('\r\n.\r\nQUIT\r\n')])
        for (const body of [input, closed]) {
          const want = threeDot([body], max, normalize)
          assert.deepEqual(oneDot(splitAt(body, c1), max, normalize), want)
          assert.deepEqual(threeDot(splitAt(body, c2), max, normalize), want, 'the reference itself is chunking-independent')
        }
      }),
      { numRuns: 3000 },
    )
  })

  test('BDAT: BdatDecoder equals a TextBodyCheck and a CrlfNormalizer, on any chunking', () => {
    fc.assert(
      fc.property(textBytes, cuts, maxLine, fc.boolean(), (input, c, max, normalize) => {
        assert.deepEqual(oneBdat(splitAt(input, c), max, normalize), threeBdat([input], max, normalize))
      }),
      { numRuns: 3000 },
    )
  })

  // Mostly whole CRLF lines, so runs of ordinary lines (the decoders' fast loop) are cut short by
  // a dotted line, a bare CR or LF, a NUL, a long line or a chunk edge at every possible place.
  const lineShaped = fc
    .array(fc.oneof({ weight: 6, arbitrary: fc.constantFrom('ab\r\n', '\r\n', 'abcdefghij\r\n') }, fc.constantFrom('.x\r\n', '..\r\n', '.\r\n', '\n', '\r', 'x', '.', '\x00')), { maxLength: 40 })
    .map((pieces) => bytes(pieces.join('')))

  test('runs of ordinary lines: both decoders equal the three-pass composition, on any chunking', () => {
    fc.assert(
      fc.property(lineShaped, cuts, maxLine, fc.boolean(), (input, c, max, normalize) => {
        const closed = Buffer.concat([input, bytes('\r\n.\r\nQUIT\r\n')])
        for (const body of [input, closed]) assert.deepEqual(oneDot(splitAt(body, c), max, normalize), threeDot([body], max, normalize))
        assert.deepEqual(oneBdat(splitAt(input, c), max, normalize), threeBdat([input], max, normalize))
      }),
      { numRuns: 3000 },
    )
  })

  test('the byte limit: exceededMaxBytes once more than maxBytes body bytes came, stuffed dots not counted', () => {
    const decoder = new DotDecoder({ maxBytes: 4 })
    decoder.decode(bytes('..ab'))
    assert.equal(decoder.exceededMaxBytes, false, '3 body bytes')
    decoder.decode(bytes('\r\n'))
    assert.equal(decoder.exceededMaxBytes, true, '5 body bytes')
    assert.throws(() => new DotDecoder({ maxBytes: -1 }), RangeError)
  })

  test('a NUL after the terminator is a pipelined byte, not the body', () => {
    const decoder = new DotDecoder()
    decoder.decode(bytes('a\r\n.\r\n\x00'))
    assert.equal(decoder.sawNul, false)
    const bdat = new BdatDecoder()
    bdat.decode(bytes('a\x00'))
    assert.equal(bdat.sawNul, true)
  })

  test('normalised line endings are fresh buffers the consumer may change', () => {
    const first = new DotDecoder({ normalizeLineEndings: true }).decode(bytes('a\nb\r\n.\r\n')).body
    const added = first.find((part) => text(part) === '\r\n')!
    added[0] = 0x41
    const second = new DotDecoder({ normalizeLineEndings: true }).decode(bytes('a\nb\r\n.\r\n')).body
    assert.equal(text(Buffer.concat(second)), 'a\r\nb\r\n')
  })

  test('BdatDecoder.finish: a last bare CR, and the final CRLF when normalising', () => {
    const strict = new BdatDecoder()
    strict.decode(bytes('a\r'))
    assert.equal(strict.finish().length, 0)
    assert.equal(strict.sawBareLineEnding, true)
    assert.throws(() => strict.finish(), /twice/)
    assert.throws(() => strict.decode(bytes('x')), /after the end/)
    const repaired = new BdatDecoder({ normalizeLineEndings: true })
    repaired.decode(bytes('a'))
    assert.equal(text(repaired.finish()), '\r\n')
    assert.equal(repaired.bytes, 3)
    assert.equal(text(new BdatDecoder({ normalizeLineEndings: true }).finish()), '', 'an empty body stays empty')
  })
})
