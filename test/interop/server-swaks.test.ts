// Our Server against Debian's swaks over loopback: plain, STARTTLS with a verified certificate,
// AUTH PLAIN / LOGIN / CRAM-MD5, PIPELINING, 8-bit text, several recipients, a refused one.
// Every delivered message is compared byte for byte with what swaks was told to send.
//
// Debian's swaks needs only perl; TLS (Net::SSLeay), MX routing (Net::DNS) and IPv6 are optional
// Perl modules that apt installs only as Recommends. .ci/run installs libnet-ssleay-perl on
// purpose; the TLS tests skip, saying why, where it is missing, and no test depends on the rest.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test, type TestContext } from 'node:test'
import { CA_FILE, startRecordingServer } from './recording-server.ts'

const SWAKS = ['/usr/bin/swaks', '/usr/local/bin/swaks'].find((p) => existsSync(p))
const skip = SWAKS ? false : 'swaks is not installed (Debian package swaks)'
// `swaks --support` lists each optional feature as "=== TLS supported" or "*** TLS not available: ...".
const support = SWAKS ? spawnSync(SWAKS, ['--support'], { encoding: 'utf8', timeout: 30_000 }).stdout : ''
const skipTls = skip || (/^=== TLS supported$/m.test(support) ? false : "swaks cannot do TLS without Perl's Net::SSLeay (Debian package libnet-ssleay-perl)")

const startServer = startRecordingServer

/** Writes `content` to a file in a fresh temporary directory removed after the test. */
function dataFile(t: TestContext, content: string | Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), 'smtpkit-swaks-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'message.eml')
  writeFileSync(path, content)
  return path
}

/**
 * Runs swaks with `args`; resolves with its exit code, combined output (the transcript) and
 * stdout alone (where --dump-mail prints the message; advisories like a missing optional module
 * go to stderr). Killed after 30 s.
 */
async function swaks(args: readonly string[]): Promise<{ code: number | null; output: string; stdout: string }> {
  const child = spawn(SWAKS!, [...args], { signal: AbortSignal.timeout(30_000), stdio: ['ignore', 'pipe', 'pipe'] })
  const chunks: Buffer[] = []
  const stdout: Buffer[] = []
  child.stdout.on('data', (chunk: Buffer) => { chunks.push(chunk); stdout.push(chunk) })
  child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk))
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  })
  return { code, output: Buffer.concat(chunks).toString('utf8'), stdout: Buffer.concat(stdout).toString('utf8') }
}

const TLS_ARGS = ['-tls', '--tls-verify', '--tls-ca-path', CA_FILE]

// swaks turns each LF into CRLF, stuffs leading dots and ends the data with CRLF . CRLF, so a
// file without a final line end arrives as its text plus CRLF.
const PLAIN_MESSAGE = 'From: a@example.test\r\nTo: b@example.test\r\nSubject: plain\r\n\r\n.one leading dot\r\n..two leading dots\r\n.\r\nlast line'

describe('swaks as a client of our server', { skip }, () => {
  test('a plain message arrives byte for byte, dots unstuffed', async (t) => {
    const { port, delivered } = await startServer(t)
    const { code, output } = await swaks(['--server', `127.0.0.1:${port}`, '--from', 'a@example.test', '--to', 'b@example.test', '--data', `@${dataFile(t, PLAIN_MESSAGE)}`])
    assert.equal(code, 0, output)
    assert.equal(delivered.length, 1)
    assert.equal(delivered[0]!.bytes.toString('latin1'), `${PLAIN_MESSAGE}\r\n`)
    assert.equal(delivered[0]!.envelope.from, 'a@example.test')
    assert.deepEqual(delivered[0]!.envelope.recipients.map((r) => r.address), ['b@example.test'])
    assert.equal(delivered[0]!.isTls, false)
  })

  test('raw data with --no-data-fixup is delivered exactly as stuffed on the wire', async (t) => {
    const { port, delivered } = await startServer(t)
    const wire = 'Subject: raw\r\n\r\n..dot\r\n...dots\r\n\r\nx.\r\n.\r\n'
    const { code, output } = await swaks(['--server', `127.0.0.1:${port}`, '--from', 'a@example.test', '--to', 'b@example.test', '--data', `@${dataFile(t, wire)}`, '-ndf'])
    assert.equal(code, 0, output)
    assert.equal(delivered[0]!.bytes.toString('latin1'), 'Subject: raw\r\n\r\n.dot\r\n..dots\r\n\r\nx.\r\n')
  })

  test('swaks\' own composed message arrives as --dump-mail shows it, unstuffed', async (t) => {
    const { port, delivered } = await startServer(t)
    const args = [
      '--from', 'a@example.test', '--to', 'b@example.test',
      '--header', 'Date: Mon, 23 Nov 2026 08:00:00 +0000', '--header', 'Message-Id: <fixed@example.test>', '--header', 'Subject: composed',
      '--body', 'first line\n.dotted line\nlast line',
    ]
    // With --server, swaks never looks for an MX (which needs Net::DNS); --dump-mail connects nowhere.
    const dump = await swaks(['--server', `127.0.0.1:${port}`, ...args, '--dump-mail'])
    assert.equal(dump.code, 0, dump.output)
    const { code, output } = await swaks(['--server', `127.0.0.1:${port}`, ...args])
    assert.equal(code, 0, output)
    // --dump-mail prints the stuffed DATA without the final "\n.\r\n" of the terminator.
    const expected = `${dump.stdout}\n`.replaceAll('\r\n..', '\r\n.')
    assert.match(expected, /\r\n\r\nfirst line\r\n\.dotted line\r\nlast line\r\n/)
    assert.equal(delivered[0]!.bytes.toString('latin1'), Buffer.from(expected, 'utf8').toString('latin1'))
  })

  test('STARTTLS with a certificate swaks verifies against the test CA', { skip: skipTls }, async (t) => {
    const { port, delivered } = await startServer(t)
    const { code, output } = await swaks(['--server', `127.0.0.1:${port}`, ...TLS_ARGS, '--from', 'a@example.test', '--to', 'b@example.test', '--data', `@${dataFile(t, PLAIN_MESSAGE)}`])
    assert.equal(code, 0, output)
    assert.match(output, /TLS started with cipher TLSv1\.[23]/)
    assert.match(output, /TLS peer DN="\/CN=localhost"/)
    assert.equal(delivered[0]!.isTls, true)
    assert.equal(delivered[0]!.bytes.toString('latin1'), `${PLAIN_MESSAGE}\r\n`)
  })

  test('implicit TLS (--tls-on-connect) with a verified certificate', { skip: skipTls }, async (t) => {
    const { port, delivered } = await startServer(t, {}, true)
    const { code, output } = await swaks(['--server', `127.0.0.1:${port}`, '--tls-on-connect', '--tls-verify', '--tls-ca-path', CA_FILE, '--from', 'a@example.test', '--to', 'b@example.test', '--data', `@${dataFile(t, PLAIN_MESSAGE)}`])
    assert.equal(code, 0, output)
    assert.doesNotMatch(output, /-> STARTTLS/)
    assert.equal(delivered[0]!.isTls, true)
    assert.equal(delivered[0]!.bytes.toString('latin1'), `${PLAIN_MESSAGE}\r\n`)
  })

  test('a 3 MB --attach message arrives as --dump-mail shows it', async (t) => {
    const { port, delivered } = await startServer(t)
    const blob = Buffer.alloc(3 << 20)
    for (let i = 0; i < blob.length; i++) blob[i] = (i * 7919) % 251
    const args = [
      '--from', 'a@example.test', '--to', 'b@example.test', '--attach', `@${dataFile(t, blob)}`, '--attach-type', 'application/octet-stream',
      '--header', 'Date: Mon, 23 Nov 2026 08:00:00 +0000', '--header', 'Message-Id: <attach@example.test>', '--header', 'Subject: attachment',
    ]
    const dump = await swaks(['--server', `127.0.0.1:${port}`, ...args, '--dump-mail'])
    assert.equal(dump.code, 0, dump.output)
    const { code, output } = await swaks(['--server', `127.0.0.1:${port}`, '--pipeline', ...args])
    assert.equal(code, 0, output.slice(-2000))
    // swaks picks a new MIME boundary per run: compare with each run's own boundary replaced.
    const unify = (text: string): string => text.replace(/----=_MIME_BOUNDARY_000_\d+/g, 'BOUNDARY')
    const expected = unify(`${dump.stdout}\n`.replaceAll('\r\n..', '\r\n.'))
    assert.ok(delivered[0]!.bytes.length > 3 << 20)
    assert.equal(unify(delivered[0]!.bytes.toString('latin1')), Buffer.from(expected, 'utf8').toString('latin1'))
  })

  for (const mechanism of ['PLAIN', 'LOGIN', 'CRAM-MD5'] as const) {
    test(`AUTH ${mechanism} under STARTTLS authenticates and the message arrives intact`, { skip: skipTls }, async (t) => {
      const seen: string[] = []
      const { port, delivered } = await startServer(t, {
        authMechanisms: ['PLAIN', 'LOGIN', 'CRAM-MD5'],
        requireAuth: true,
        auth(request) {
          seen.push(request.mechanism)
          if (request.username !== 'user@example.test') return false
          if (request.mechanism === 'CRAM-MD5') return request.verify('s3cret pass')
          return request.mechanism !== 'SCRAM-SHA-256' && request.mechanism !== 'XOAUTH2' && request.password === 's3cret pass'
        },
      })
      const { code, output } = await swaks([
        '--server', `127.0.0.1:${port}`, ...TLS_ARGS, '--auth', mechanism, '--auth-user', 'user@example.test', '--auth-password', 's3cret pass',
        '--from', 'a@example.test', '--to', 'b@example.test', '--data', `@${dataFile(t, PLAIN_MESSAGE)}`,
      ])
      assert.equal(code, 0, output)
      assert.match(output, /235 2\.7\.0/)
      assert.deepEqual(seen, [mechanism])
      assert.equal(delivered[0]!.authenticatedAs, 'user@example.test')
      assert.equal(delivered[0]!.bytes.toString('latin1'), `${PLAIN_MESSAGE}\r\n`)
    })
  }

  test('a wrong password gets 535 5.7.8, swaks exits 28 and nothing is delivered', { skip: skipTls }, async (t) => {
    const { port, delivered } = await startServer(t, { requireAuth: true, auth: () => false })
    const { code, output } = await swaks([
      '--server', `127.0.0.1:${port}`, ...TLS_ARGS, '--auth', 'PLAIN', '--auth-user', 'u', '--auth-password', 'wrong',
      '--from', 'a@example.test', '--to', 'b@example.test', '--data', `@${dataFile(t, PLAIN_MESSAGE)}`,
    ])
    assert.equal(code, 28, output)
    assert.match(output, /535 5\.7\.8/)
    assert.equal(delivered.length, 0)
  })

  test('AUTH is not offered without TLS, so swaks --auth fails before MAIL', async (t) => {
    const { port, delivered } = await startServer(t, { auth: () => true })
    const { code, output } = await swaks([
      '--server', `127.0.0.1:${port}`, '--auth', 'PLAIN', '--auth-user', 'u', '--auth-password', 'p',
      '--from', 'a@example.test', '--to', 'b@example.test', '--data', `@${dataFile(t, PLAIN_MESSAGE)}`,
    ])
    assert.notEqual(code, 0, output)
    assert.doesNotMatch(output, /^ -> AUTH/m)
    assert.doesNotMatch(output, /^ -> MAIL/m)
    assert.equal(delivered.length, 0)
  })

  test('pipelined MAIL, RCPTs and DATA with one refused recipient: the others get the message', async (t) => {
    const { port, delivered } = await startServer(t)
    const { code, output } = await swaks([
      '--server', `127.0.0.1:${port}`, '--pipeline', '--from', 'a@example.test',
      '--to', 'b@example.test,nobody@example.test,c@example.test', '--data', `@${dataFile(t, PLAIN_MESSAGE)}`,
    ])
    assert.equal(code, 0, output)
    // Pipelined: the whole group goes out before the first reply is read.
    assert.match(output, /^ -> MAIL FROM:<a@example\.test>\n -> RCPT TO:<b@example\.test>\n -> RCPT TO:<nobody@example\.test>\n -> RCPT TO:<c@example\.test>\n -> DATA\n<- {2}250 /m)
    assert.match(output, /^<(?:\*\*|-\*) 550 5\.1\.1 No such user here$/m)
    assert.equal(delivered.length, 1)
    assert.deepEqual(delivered[0]!.envelope.recipients.map((r) => r.address), ['b@example.test', 'c@example.test'])
    assert.equal(delivered[0]!.bytes.toString('latin1'), `${PLAIN_MESSAGE}\r\n`)
  })

  test('a transaction whose only recipient is refused: swaks shows the 550 and exits 24', async (t) => {
    const { port, delivered } = await startServer(t)
    const { code, output } = await swaks(['--server', `127.0.0.1:${port}`, '--from', 'a@example.test', '--to', 'nobody@example.test', '--data', `@${dataFile(t, PLAIN_MESSAGE)}`])
    assert.equal(code, 24, output)
    assert.match(output, /^<\*\* 550 5\.1\.1 No such user here$/m)
    assert.doesNotMatch(output, /^ -> DATA/m)
    assert.equal(delivered.length, 0)
  })

  test('8-bit UTF-8 headers and body arrive byte for byte', async (t) => {
    const { port, delivered } = await startServer(t)
    const message = Buffer.from('Subject: caf\u00e9 \u2615\r\nFrom: J\u00fcrgen <a@example.test>\r\n\r\nGr\u00fc\u00dfe, \u65e5\u672c\u8a9e, \ud83d\udce8\r\n.\u00e9 after a dot\r\nend', 'utf8')
    const { code, output } = await swaks(['--server', `127.0.0.1:${port}`, '--from', 'a@example.test', '--to', 'b@example.test', '--data', `@${dataFile(t, message)}`])
    assert.equal(code, 0, output)
    assert.deepEqual(delivered[0]!.bytes, Buffer.concat([message, Buffer.from('\r\n')]))
  })

  test('several recipients over STARTTLS with pipelining share one delivery', { skip: skipTls }, async (t) => {
    const { port, delivered } = await startServer(t)
    const to = Array.from({ length: 25 }, (_, i) => `user${i}@example.test`)
    const { code, output } = await swaks(['--server', `127.0.0.1:${port}`, ...TLS_ARGS, '--pipeline', '--from', '<>', '--to', to.join(','), '--data', `@${dataFile(t, PLAIN_MESSAGE)}`])
    assert.equal(code, 0, output)
    assert.equal(delivered.length, 1)
    assert.equal(delivered[0]!.envelope.from, '')
    assert.deepEqual(delivered[0]!.envelope.recipients.map((r) => r.address), to)
    assert.equal(delivered[0]!.bytes.toString('latin1'), `${PLAIN_MESSAGE}\r\n`)
  })
})
