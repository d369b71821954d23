import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { formatHostPort, parseByteSize, parseHostPort, parseInteger, UsageError } from '../../src/cli/args.ts'

describe('parseHostPort', () => {
  const rows: [string, number | undefined, { host: string; port: number }][] = [
    ['127.0.0.1:2525', undefined, { host: '127.0.0.1', port: 2525 }],
    ['[::1]:0', undefined, { host: '::1', port: 0 }],
    ['mail.example.test:587', undefined, { host: 'mail.example.test', port: 587 }],
    ['mail.example.test', 25, { host: 'mail.example.test', port: 25 }],
    ['[2001:db8::1]', 25, { host: '2001:db8::1', port: 25 }],
  ]
  for (const [text, defaultPort, want] of rows) {
    test(`reads ${text}`, () => assert.deepEqual(parseHostPort(text, '--x', defaultPort), want))
  }

  const bad: [string, RegExp][] = [
    ['127.0.0.1', /missing port/],
    [':25', /missing host/],
    ['::1:25', /in brackets/],
    ['[example.test]:25', /not an IPv6 address/],
    ['host:65536', /from 0 to 65535/],
    ['host:-1', /from 0 to 65535/],
    ['host:2x', /from 0 to 65535/],
  ]
  for (const [text, pattern] of bad) {
    test(`refuses ${text} with a UsageError`, () => {
      assert.throws(() => parseHostPort(text, '--listen'), (error: unknown) => error instanceof UsageError && pattern.test(error.message) && error.message.startsWith('--listen'))
    })
  }

  test('formatHostPort and parseHostPort round-trip every IPv4 and IPv6 address and port', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: 0, max: 65535 }), (host, port) => {
        const parsed = parseHostPort(formatHostPort(host, port), '--x')
        assert.deepEqual(parsed, { host, port })
      }),
    )
  })
})

describe('numbers', () => {
  test('parseByteSize takes plain bytes and K/M/G suffixes', () => {
    assert.equal(parseByteSize('1000', '--max-size'), 1000)
    assert.equal(parseByteSize('2K', '--max-size'), 2048)
    assert.equal(parseByteSize('25M', '--max-size'), 25 * 1024 * 1024)
    assert.equal(parseByteSize('1GiB', '--max-size'), 1024 ** 3)
    for (const text of ['0', '', '-5', '1.5M', 'ten']) assert.throws(() => parseByteSize(text, '--max-size'), UsageError)
  })

  test('parseInteger enforces its bounds and refuses anything but digits', () => {
    assert.equal(parseInteger('7', '--n', { min: 1 }), 7)
    for (const text of ['0', '1e3', ' 5', '0x10', '']) assert.throws(() => parseInteger(text, '--n', { min: 1 }), UsageError)
  })
})
