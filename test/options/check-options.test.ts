import assert from 'node:assert/strict'
import { test } from 'node:test'
import { checkOptions } from '../../src/options/check-options.ts'

const kinds = { hostname: 'string', port: 'number', tls: ['string', 'object'], onError: 'function' } as const

test('accepts known keys of the right kind, undefined values and no options at all', () => {
  checkOptions('new Thing()', { hostname: 'a', port: 1, tls: {}, onError: () => {} }, kinds)
  checkOptions('new Thing()', { hostname: undefined }, kinds)
  checkOptions('new Thing()', undefined, kinds)
})

test('an unknown key is a TypeError naming it, with the hint for a known habit', () => {
  assert.throws(() => checkOptions('new Thing()', { secure: true }, kinds, { secure: "write tls: 'implicit'" }), {
    name: 'TypeError',
    message: `new Thing(): unknown option "secure"; write tls: 'implicit'`,
  })
})

test('a typo suggests the nearest name; a stranger lists the known ones', () => {
  assert.throws(() => checkOptions('new Thing()', { hostnme: 'a' }, kinds), { message: /unknown option "hostnme"; did you mean "hostname"\?/ })
  assert.throws(() => checkOptions('new Thing()', { zzzzzzzzzz: 1 }, kinds), { message: /known options are hostname, port, tls, onError/ })
})

test('a wrong type names the key and both kinds', () => {
  assert.throws(() => checkOptions('limits', { port: '25' }, kinds), { name: 'TypeError', message: 'limits: option "port" must be number, got string' })
  assert.throws(() => checkOptions('limits', { tls: true }, kinds), { message: 'limits: option "tls" must be string or object, got boolean' })
  assert.throws(() => checkOptions('limits', null, kinds), { message: 'limits: options must be an object, got null' })
  assert.throws(() => checkOptions('limits', [], kinds), { message: 'limits: options must be an object, got array' })
})

test('keys of Object.prototype are not options', () => {
  assert.throws(() => checkOptions('x', JSON.parse('{"constructor": 1}'), kinds), { message: /unknown option "constructor"/ })
  assert.throws(() => checkOptions('x', JSON.parse('{"toString": 1}'), kinds, {}), { message: /unknown option "toString"/ })
})
