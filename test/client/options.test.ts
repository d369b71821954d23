import assert from 'node:assert/strict'
import { hostname } from 'node:os'
import { describe, test } from 'node:test'
import { checkLocalName, clientDefaults, defaultLocalName, resolveTimeouts } from '../../src/client/options.ts'
import { CLIENT_TIMEOUTS } from '../../src/protocol/limits.ts'

describe('client options', () => {
  test('timeouts default to RFC 5321 §4.5.3.2 and take overrides', () => {
    const timeouts = resolveTimeouts({ dataEnd: 1000 })
    assert.equal(timeouts.dataEnd, 1000)
    assert.equal(timeouts.mail, CLIENT_TIMEOUTS.mail)
    assert.equal(timeouts.connect, clientDefaults.timeouts.connect)
  })

  test('refuses unknown, zero, negative and non-finite timeouts', () => {
    assert.throws(() => resolveTimeouts({ nope: 1 } as never), TypeError)
    assert.throws(() => resolveTimeouts({ mail: 0 }), RangeError)
    assert.throws(() => resolveTimeouts({ mail: -5 }), RangeError)
    assert.throws(() => resolveTimeouts({ mail: Infinity }), RangeError)
  })

  test('the default EHLO name is the host name when it is a domain, else an address literal', () => {
    const name = defaultLocalName('192.0.2.7')
    if (hostname().includes('.')) {
      assert.equal(name, hostname())
    } else {
      assert.equal(name, '[192.0.2.7]')
      assert.equal(defaultLocalName('::ffff:192.0.2.7'), '[192.0.2.7]')
      assert.equal(defaultLocalName('2001:db8::1'), '[IPv6:2001:db8::1]')
      assert.equal(defaultLocalName(undefined), '[127.0.0.1]')
    }
  })

  test('EHLO names with spaces, controls or line breaks are TypeErrors', () => {
    assert.equal(checkLocalName('client.example.test'), 'client.example.test')
    assert.equal(checkLocalName('[IPv6:::1]'), '[IPv6:::1]')
    for (const bad of ['', 'a b', 'a\r\nb', 'a\tb', 'a\0b', 'a\x7fb']) assert.throws(() => checkLocalName(bad), TypeError)
  })
})
