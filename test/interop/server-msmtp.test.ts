// Our Server against Debian's msmtp (GnuTLS + GNU SASL): plain, STARTTLS and implicit TLS with
// the test CA, AUTH PLAIN / LOGIN / CRAM-MD5 / SCRAM-SHA-256 / XOAUTH2, and a refused recipient.
// The message carries From, Date and Message-ID so msmtp adds no header: what arrives must be
// the input with its line ends made CRLF.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { describe, test } from 'node:test'
import type { ServerAuthMechanism } from '../../src/server/index.ts'
import { CA_FILE, startRecordingServer } from './recording-server.ts'

const MSMTP = ['/usr/bin/msmtp', '/usr/local/bin/msmtp'].find((p) => existsSync(p))
const skip = MSMTP ? false : 'msmtp is not installed (Debian package msmtp)'

const startServer = startRecordingServer

/** Runs msmtp with no configuration file, `input` on stdin; killed after 30 s. */
async function msmtp(port: number, args: readonly string[], input: string | Buffer): Promise<{ code: number | null; output: string }> {
  const child = spawn(MSMTP!, ['-C', '/dev/null', '--host=127.0.0.1', `--port=${port}`, '--domain=client.example.test', '--from=a@example.test', ...args], {
    signal: AbortSignal.timeout(30_000),
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const chunks: Buffer[] = []
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk))
  child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk))
  const code = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  })
  child.stdin.end(input)
  return { code: await code, output: Buffer.concat(chunks).toString() }
}

const MESSAGE = 'From: a@example.test\nTo: b@example.test\nDate: Mon, 23 Nov 2026 08:00:00 +0000\nMessage-ID: <msmtp.1@example.test>\nSubject: msmtp\n\n.leading dot\n..two\n.\nGr\u00fc\u00dfe\nlast\n'
const DELIVERED = Buffer.from(MESSAGE.replaceAll('\n', '\r\n'), 'utf8')
const TLS_ARGS = ['--tls=on', `--tls-trust-file=${CA_FILE}`]

describe('msmtp as a client of our server', { skip }, () => {
  test('a plain message with LF line ends arrives with CRLF, dots unstuffed, 8-bit intact', async (t) => {
    const { port, delivered } = await startServer(t)
    const { code, output } = await msmtp(port, ['b@example.test', 'c@example.test'], MESSAGE)
    assert.equal(code, 0, output)
    assert.equal(delivered.length, 1)
    assert.deepEqual(delivered[0]!.envelope.recipients.map((r) => r.address), ['b@example.test', 'c@example.test'])
    assert.deepEqual(delivered[0]!.bytes, DELIVERED)
  })

  test('STARTTLS with the certificate verified against the test CA', async (t) => {
    const { port, delivered } = await startServer(t)
    const { code, output } = await msmtp(port, [...TLS_ARGS, '--tls-starttls=on', 'b@example.test'], MESSAGE)
    assert.equal(code, 0, output)
    assert.equal(delivered[0]!.isTls, true)
    assert.deepEqual(delivered[0]!.bytes, DELIVERED)
  })

  test('implicit TLS (port 465 style) with the certificate verified', async (t) => {
    const { port, delivered } = await startServer(t, {}, true)
    const { code, output } = await msmtp(port, [...TLS_ARGS, '--tls-starttls=off', 'b@example.test'], MESSAGE)
    assert.equal(code, 0, output)
    assert.equal(delivered[0]!.isTls, true)
    assert.deepEqual(delivered[0]!.bytes, DELIVERED)
  })

  const mechanisms: [ServerAuthMechanism, string][] = [
    ['PLAIN', 'plain'],
    ['LOGIN', 'login'],
    ['CRAM-MD5', 'cram-md5'],
    ['SCRAM-SHA-256', 'scram-sha-256'],
    ['XOAUTH2', 'xoauth2'],
  ]
  for (const [mechanism, flag] of mechanisms) {
    test(`AUTH ${mechanism} (GNU SASL's or msmtp's own) under STARTTLS`, async (t) => {
      const seen: string[] = []
      const { port, delivered } = await startServer(t, {
        authMechanisms: [mechanism],
        requireAuth: true,
        auth(request) {
          seen.push(request.mechanism)
          if (request.username !== 'user@example.test') return request.mechanism === 'SCRAM-SHA-256' ? null : false
          switch (request.mechanism) {
            case 'CRAM-MD5':
              return request.verify('s3cret pass')
            case 'SCRAM-SHA-256':
              return 's3cret pass'
            case 'XOAUTH2':
              return request.token === 'ya29.a0-Token_value'
            default:
              return request.password === 's3cret pass'
          }
        },
      })
      // An OAuth bearer token is a b64token (RFC 6750 §2.1): no spaces.
      const secret = mechanism === 'XOAUTH2' ? 'ya29.a0-Token_value' : 's3cret pass'
      const { code, output } = await msmtp(port, [...TLS_ARGS, '--tls-starttls=on', `--auth=${flag}`, '--user=user@example.test', `--passwordeval=echo '${secret}'`, 'b@example.test'], MESSAGE)
      assert.equal(code, 0, output)
      assert.deepEqual(seen, [mechanism])
      assert.equal(delivered[0]!.authenticatedAs, 'user@example.test')
      assert.deepEqual(delivered[0]!.bytes, DELIVERED)
    })
  }

  test('a refused recipient: msmtp prints the 550 reply, exits non-zero and sends nothing', async (t) => {
    const { port, delivered } = await startServer(t)
    const { code, output } = await msmtp(port, ['b@example.test', 'nobody@example.test'], MESSAGE)
    assert.notEqual(code, 0)
    assert.match(output, /recipient address nobody@example\.test not accepted/)
    assert.match(output, /550 5\.1\.1 No such user here/)
    assert.equal(delivered.length, 0)
  })
})
