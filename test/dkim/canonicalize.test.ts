import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { BodyHasher } from '../../src/dkim/body-hash.ts'
import {
  canonicalizeHeaderRelaxed,
  canonicalizeHeaderSimple,
  createBodyCanonicalizer,
  parseCanonicalization,
  type CanonicalizationAlgorithm,
} from '../../src/dkim/canonicalize.ts'
import { parseHeaderFields } from '../../src/dkim/header-fields.ts'
import { createHash } from 'node:crypto'
import { splitAt } from '../helpers/split-at.ts'

function canonicalizeBody(algorithm: CanonicalizationAlgorithm, chunks: readonly string[]): string {
  const out: Buffer[] = []
  const canonicalizer = createBodyCanonicalizer(algorithm, (bytes) => out.push(Buffer.from(bytes)))
  for (const chunk of chunks) canonicalizer.update(Buffer.from(chunk, 'latin1'))
  canonicalizer.end()
  return Buffer.concat(out).toString('latin1')
}

// Whole-buffer reference implementations, written as plainly as RFC 6376 §3.4.3 and §3.4.4 read.
function referenceSimple(body: string): string {
  return `${body.replace(/(\r\n)+$/, '')}\r\n`
}

function referenceRelaxed(body: string): string {
  const lines = body.split('\r\n')
  if (body.endsWith('\r\n') || body === '') lines.pop()
  const reduced = lines.map((line) => line.replace(/[ \t]+/g, ' ').replace(/ $/, ''))
  while (reduced.length > 0 && reduced[reduced.length - 1] === '') reduced.pop()
  return reduced.map((line) => `${line}\r\n`).join('')
}


// Bodies built from the pieces that matter to canonicalization, so CR/LF/WSP edges are common.
const bodyArbitrary = fc
  .array(fc.constantFrom('a', 'b', ' ', '\t', '\r', '\n', '\r\n', '\r\n\r\n', ' \r\n', 'x y', '\xfc'), { maxLength: 60 })
  .map((pieces) => pieces.join(''))

describe('body canonicalization', () => {
  // RFC 6376 §3.4.5, the worked example.
  const example = ' C \r\nD \t E\r\n\r\n\r\n'
  test('simple keeps the body and drops trailing empty lines (RFC 6376 §3.4.5)', () => {
    assert.equal(canonicalizeBody('simple', [example]), ' C \r\nD \t E\r\n')
  })
  test('relaxed reduces whitespace and drops trailing empty lines (RFC 6376 §3.4.5)', () => {
    assert.equal(canonicalizeBody('relaxed', [example]), ' C\r\nD E\r\n')
  })

  const table: [string, string, string, string][] = [
    ['an empty body', '', '\r\n', ''],
    ['only empty lines', '\r\n\r\n\r\n', '\r\n', ''],
    ['a body without final CRLF', 'abc', 'abc\r\n', 'abc\r\n'],
    ['trailing WSP on an unterminated last line', 'abc \t', 'abc \t\r\n', 'abc\r\n'],
    ['whitespace-only lines at the end', 'a\r\n  \r\n\t\r\n', 'a\r\n  \r\n\t\r\n', 'a\r\n'],
    ['a bare CR kept as data', 'a \rb\r\n', 'a \rb\r\n', 'a \rb\r\n'],
    ['a bare LF kept as data', 'a\nb', 'a\nb\r\n', 'a\nb\r\n'],
    ['a trailing bare CR', 'a\r', 'a\r\r\n', 'a\r\r\n'],
    ['leading whitespace reduced to one SP', '\t\t x', '\t\t x\r\n', ' x\r\n'],
  ]
  for (const [name, body, simple, relaxed] of table) {
    test(`handles ${name}`, () => {
      assert.equal(canonicalizeBody('simple', [body]), simple)
      assert.equal(canonicalizeBody('relaxed', [body]), relaxed)
    })
  }

  test('CRLF split across chunks is still a line end', () => {
    assert.equal(canonicalizeBody('relaxed', ['a  \r', '\n', '\r', '\nb']), 'a\r\n\r\nb\r\n')
    assert.equal(canonicalizeBody('simple', ['a\r', '\n\r', '\n']), 'a\r\n')
  })

  test('a long run of trailing empty lines is held as a count and dropped', () => {
    const chunks = ['body', ...Array.from({ length: 1000 }, () => '\r\n'.repeat(1000))]
    assert.equal(canonicalizeBody('simple', chunks), 'body\r\n')
    assert.equal(canonicalizeBody('relaxed', chunks), 'body\r\n')
    const inner = canonicalizeBody('relaxed', [...chunks, 'more'])
    assert.equal(inner.length, 'body'.length + 2_000_000 + 'more\r\n'.length)
  })

  test('property: streaming output equals the whole-body reference, for any split', () => {
    fc.assert(
      fc.property(bodyArbitrary, fc.array(fc.nat(), { maxLength: 8 }), (body, cuts) => {
        const parts = splitAt(body, cuts)
        assert.equal(canonicalizeBody('simple', parts), referenceSimple(body))
        assert.equal(canonicalizeBody('relaxed', parts), referenceRelaxed(body))
      }),
      { numRuns: 2000 },
    )
  })

  test('property: the body hash is the same for any split, with or without l=', () => {
    fc.assert(
      fc.property(bodyArbitrary, fc.array(fc.nat(), { maxLength: 8 }), fc.constantFrom<CanonicalizationAlgorithm>('simple', 'relaxed'), fc.nat(80), (body, cuts, algorithm, limit) => {
        const whole = new BodyHasher(algorithm, limit)
        whole.update(Buffer.from(body, 'latin1'))
        const split = new BodyHasher(algorithm, limit)
        for (const part of splitAt(body, cuts)) split.update(Buffer.from(part, 'latin1'))
        assert.deepEqual(split.digest(), whole.digest())
        assert.equal(split.length, whole.length)
        const canonical = Buffer.from(algorithm === 'simple' ? referenceSimple(body) : referenceRelaxed(body), 'latin1')
        assert.deepEqual(whole.digest(), createHash('sha256').update(canonical.subarray(0, limit)).digest())
      }),
      { numRuns: 1000 },
    )
  })
})

describe('header canonicalization', () => {
  const block = Buffer.from('A: X\r\nB : Y\t\r\n\tZ  \r\n')
  const { fields } = parseHeaderFields(block)

  test('relaxed lower-cases names, unfolds and reduces whitespace (RFC 6376 §3.4.5)', () => {
    assert.deepEqual(fields.map((field) => canonicalizeHeaderRelaxed(field).toString()), ['a:X\r\n', 'b:Y Z\r\n'])
  })
  test('simple keeps each field exactly, folding included', () => {
    assert.deepEqual(fields.map((field) => canonicalizeHeaderSimple(field).toString()), ['A: X\r\n', 'B : Y\t\r\n\tZ  \r\n'])
  })
  test('relaxed keeps 8-bit bytes and an empty value', () => {
    const [utf8, empty] = parseHeaderFields(Buffer.from('Subject:  Grüße \r\nX-Empty:   \r\n')).fields
    assert.equal(canonicalizeHeaderRelaxed(utf8!).toString('utf8'), 'subject:Grüße\r\n')
    assert.equal(canonicalizeHeaderRelaxed(empty!).toString(), 'x-empty:\r\n')
  })
})

describe('parseCanonicalization', () => {
  test('reads header/body and defaults the body to simple (RFC 6376 §3.5 c=)', () => {
    assert.deepEqual(parseCanonicalization('relaxed/relaxed'), { header: 'relaxed', body: 'relaxed' })
    assert.deepEqual(parseCanonicalization('relaxed'), { header: 'relaxed', body: 'simple' })
  })
  test('refuses unknown algorithms', () => {
    assert.equal(parseCanonicalization('nowsp/simple'), undefined)
    assert.equal(parseCanonicalization('relaxed/relaxed/relaxed'), undefined)
    assert.equal(parseCanonicalization('Relaxed'), undefined)
  })
})
