// Our Server against Python's smtplib (the system /usr/bin/python3): sendmail, send_message with
// SMTPUTF8 addresses, STARTTLS with the test CA, login with each mechanism, bare LF handling.
// The Python side records the exact bytes smtplib handed to DATA; we compare what arrived.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { ServerAuthMechanism } from '../../src/server/index.ts'
import { CA_FILE, startRecordingServer } from './recording-server.ts'

const PYTHON = '/usr/bin/python3'
const skip = existsSync(PYTHON) ? false : `${PYTHON} is not installed (Debian package python3)`
const SCRIPT = fileURLToPath(new URL('./server-smtplib.py', import.meta.url))

interface SmtplibResult {
  sent: Buffer[]
  refused: Record<string, [number, string]>
  error: { code: number | null; text: string } | null
  esmtp: string[]
}

const startServer = startRecordingServer

/** Runs one case of the Python script against `port`; killed after 30 s. */
async function smtplib(port: number, testCase: string): Promise<SmtplibResult> {
  const child = spawn(PYTHON, [SCRIPT, String(port), testCase, CA_FILE], { signal: AbortSignal.timeout(30_000), stdio: ['ignore', 'pipe', 'pipe'] })
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  })
  if (code !== 0) throw new Error(`smtplib script exited with ${code}: ${Buffer.concat(err).toString()}`)
  const raw = JSON.parse(Buffer.concat(out).toString()) as Omit<SmtplibResult, 'sent'> & { sent: string[] }
  return { ...raw, sent: raw.sent.map((b64) => Buffer.from(b64, 'base64')) }
}

/** What a DATA body becomes on our side: smtplib adds CRLF when the text lacks a final one. */
function expectedDelivery(sent: Buffer): Buffer {
  return sent.subarray(-2).toString('latin1') === '\r\n' ? sent : Buffer.concat([sent, Buffer.from('\r\n')])
}

describe('Python smtplib as a client of our server', { skip }, () => {
  test('sendmail: the refused recipient is reported, the others get the exact bytes', async (t) => {
    const { port, delivered } = await startServer(t)
    const result = await smtplib(port, 'plain-sendmail')
    assert.equal(result.error, null)
    assert.deepEqual(result.refused, { 'nobody@example.test': [550, '5.1.1 No such user here'] })
    assert.equal(delivered.length, 1)
    assert.equal(delivered[0]!.helo, 'client.example.test')
    assert.deepEqual(delivered[0]!.envelope.recipients.map((r) => r.address), ['b@example.test', 'c@example.test'])
    assert.match(result.sent[0]!.toString('latin1'), /\r\n\.a line with a leading dot\r\n\.\.two\r\n\.\r\nno final line end$/)
    assert.deepEqual(delivered[0]!.bytes, expectedDelivery(result.sent[0]!))
  })

  test('send_message with UTF-8 addresses uses SMTPUTF8 and BODY=8BITMIME; the 8-bit message is intact', async (t) => {
    const { port, delivered } = await startServer(t)
    const result = await smtplib(port, 'smtputf8')
    assert.equal(result.error, null)
    assert.ok(result.esmtp.includes('smtputf8'))
    const [message] = delivered
    assert.ok(message)
    assert.equal(message.envelope.smtpUtf8, true)
    assert.equal(message.envelope.bodyType, '8BITMIME')
    assert.equal(message.envelope.from, 'j\u00f6rg@b\u00fccher.example')
    assert.deepEqual(message.envelope.recipients.map((r) => r.address), ['\u7528\u6237@\u4f8b\u5b50.example', 'b@example.test'])
    assert.ok(message.bytes.includes(Buffer.from('Gr\u00fc\u00dfe aus K\u00f6ln.\r\n.leading dot\r\n', 'utf8')))
    assert.deepEqual(message.bytes, expectedDelivery(result.sent[0]!))
  })

  for (const mechanism of ['PLAIN', 'LOGIN', 'CRAM-MD5'] satisfies ServerAuthMechanism[]) {
    test(`STARTTLS verified against the CA, then login by ${mechanism}, then a message with an attachment`, async (t) => {
      const seen: string[] = []
      const { port, delivered } = await startServer(t, {
        authMechanisms: [mechanism],
        requireAuth: true,
        auth(request) {
          seen.push(request.mechanism)
          if (request.username !== 'user@example.test') return false
          if (request.mechanism === 'CRAM-MD5') return request.verify('s3cret pass')
          return (request.mechanism === 'PLAIN' || request.mechanism === 'LOGIN') && request.password === 's3cret pass'
        },
      })
      const result = await smtplib(port, 'starttls-login')
      assert.equal(result.error, null)
      assert.deepEqual(seen, [mechanism])
      const [message] = delivered
      assert.ok(message)
      assert.equal(message.isTls, true)
      assert.equal(message.authenticatedAs, 'user@example.test')
      assert.match(message.bytes.toString('latin1'), /Content-Disposition: attachment; filename="blob\.bin"/)
      assert.deepEqual(message.bytes, expectedDelivery(result.sent[0]!))
    })
  }

  test('login without TLS fails: AUTH is not advertised on a clear connection', async (t) => {
    const { port } = await startServer(t, { auth: () => true })
    const result = await smtplib(port, 'login-without-tls')
    assert.ok(!result.esmtp.includes('auth'), `EHLO keywords: ${result.esmtp.join(' ')}`)
    assert.match(result.error?.text ?? '', /AUTH extension not supported/)
  })

  test('a message with bare LF line ends (smtplib sends bytes as they are) is refused by default with 554 5.6.0', async (t) => {
    const { port, delivered } = await startServer(t)
    const result = await smtplib(port, 'bare-lf')
    assert.ok(result.error, 'sendmail should fail')
    assert.equal(result.error.code, 554, JSON.stringify(result.error))
    assert.match(result.error.text, /^5\.6\.0 .*bare LF/)
    assert.equal(delivered.length, 0)
  })

  test('with insecureAcceptBareLineEndings the bare LF message arrives with CRLF line ends', async (t) => {
    const { port, delivered } = await startServer(t, { insecureAcceptBareLineEndings: true })
    const result = await smtplib(port, 'bare-lf')
    assert.equal(result.error, null)
    // smtplib sends "line two\n" then, as that lacks CRLF, CRLF . CRLF: the bare LF becomes a line of its own.
    assert.equal(delivered[0]!.bytes.toString('latin1'), 'Subject: bare LF\r\n\r\nline one\r\nline two\r\n\r\n')
  })

  test('several transactions and RSETs on one connection each deliver their own message', async (t) => {
    const { port, delivered } = await startServer(t)
    const result = await smtplib(port, 'several-transactions')
    assert.equal(result.error, null)
    assert.deepEqual(delivered.map((d) => d.bytes.toString('latin1')), [0, 1, 2].map((i) => `Subject: ${i}\r\n\r\nmessage ${i}\r\n`))
    assert.deepEqual(delivered.map((d) => d.bytes), result.sent.map(expectedDelivery))
  })
})
