import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as sasl from '../../src/sasl/index.ts'

test('publishes the client factories, the server factory, the helpers and the error classes', () => {
  for (const name of ['plain', 'login', 'cramMd5', 'xoauth2', 'scramSha256', 'fromPassword', 'createServerMechanism', 'deriveScramCredentials', 'saslPrep']) {
    assert.equal(typeof (sasl as Record<string, unknown>)[name], 'function', name)
  }
  assert.ok(new sasl.AuthenticationFailed('x') instanceof Error)
  assert.ok(new sasl.MalformedSaslMessage('x') instanceof Error)
  assert.deepEqual(sasl.serverMechanismNames, ['SCRAM-SHA-256', 'CRAM-MD5', 'PLAIN', 'LOGIN', 'XOAUTH2'])
})

test('keeps the test-only fixed-nonce entry points out of the public API', () => {
  assert.equal('scramSha256WithTestNonce' in sasl, false)
  assert.equal('scramSha256Server' in sasl, false)
})
