import assert from 'node:assert/strict'
import { test } from 'node:test'
import { clientMechanismPreference, fromPassword } from '../../src/sasl/from-password.ts'

const credentials = { username: 'alice', password: 'wonderland' }

test('prefers SCRAM-SHA-256, then CRAM-MD5, PLAIN, LOGIN, and leaves XOAUTH2 out', () => {
  assert.deepEqual(clientMechanismPreference, ['SCRAM-SHA-256', 'CRAM-MD5', 'PLAIN', 'LOGIN'])
})

test('creates each preferred mechanism by name, in any case', () => {
  for (const name of clientMechanismPreference) {
    assert.equal(fromPassword(name, credentials)?.name, name)
    assert.equal(fromPassword(name.toLowerCase(), credentials)?.name, name)
  }
})

test('marks PLAIN and LOGIN as sending the password in clear, SCRAM and CRAM-MD5 not', () => {
  const inClear = Object.fromEntries(clientMechanismPreference.map((name) => [name, fromPassword(name, credentials)?.sendsPasswordInClear]))
  assert.deepEqual(inClear, { 'SCRAM-SHA-256': false, 'CRAM-MD5': false, PLAIN: true, LOGIN: true })
})

test('returns undefined for XOAUTH2 and unknown names', () => {
  assert.equal(fromPassword('XOAUTH2', credentials), undefined)
  assert.equal(fromPassword('GSSAPI', credentials), undefined)
})

test('refuses an authorizationId for mechanisms that cannot carry one', () => {
  assert.throws(() => fromPassword('LOGIN', { ...credentials, authorizationId: 'bob' }), TypeError)
  assert.throws(() => fromPassword('CRAM-MD5', { ...credentials, authorizationId: 'bob' }), TypeError)
  assert.equal(fromPassword('PLAIN', { ...credentials, authorizationId: 'bob' })?.name, 'PLAIN')
})
