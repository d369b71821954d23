// `smtpkit send` against `smtpkit serve` on loopback, both as child processes.
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test, type TestContext } from 'node:test'
import { simpleParser } from 'mailparser'
import { dkimVerify, formatDkimKeyRecord } from '../../src/dkim/index.ts'
import { freePort } from '../helpers/peers.ts'
import { runSend } from '../../src/cli/send.ts'
import { captureIo, fixtures, runCli, startServe } from './cli-process.ts'

const tlsArgs = ['--tls-cert', fixtures.cert, '--tls-key', fixtures.key]
const envelope = ['--from', 'alice@example.test', '--to', 'bob@example.test']

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'smtpkit-send-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

describe('smtpkit send with smtpkit serve', { concurrency: 4 }, () => {
  test('delivers a composed message into new/ with Return-Path and Received first, and both sides report it', async (t) => {
    const serve = await startServe(t)
    const sent = await runCli(['send', '--server', serve.address, ...envelope, '--subject', 'Plain', '--text', 'hello plain'])
    assert.equal(sent.code, 0, sent.stderr)
    assert.match(sent.stdout, /^sent to 1 of 1 recipient: 250 2\.0\.0 /m)
    const [stored] = await serve.messages()
    assert.ok(stored)
    assert.match(stored.text, /^Return-Path: <alice@example\.test>\r\nReceived: from \S+ \(\[127\.0\.0\.1\]\)\r\n\tby \S+ with ESMTP id /)
    assert.match(stored.text, /\r\nSubject: Plain\r\n[\s\S]*\r\n\r\nhello plain\r\n$/)
    const line = await serve.waitFor(/^\S+Z \[\w+\] from=<alice@example\.test> to=<bob@example\.test> size=(\d+) file=new\/(\S+) subject="Plain"$/m)
    assert.equal(line[2], stored.name)
  })

  test('STARTTLS: --tls-cert/--tls-key on serve, --starttls --ca on send; the Received header says ESMTPS', async (t) => {
    const serve = await startServe(t, tlsArgs)
    const sent = await runCli(['send', '--server', serve.address, '--starttls', '--ca', fixtures.ca, ...envelope, '--subject', 'TLS', '--text', 'secret'])
    assert.equal(sent.code, 0, sent.stderr)
    const [stored] = await serve.messages()
    assert.match(stored!.text, /with ESMTPS id \S+\r\n\t\(TLSv1\.[23] /)
  })

  test('implicit TLS: serve --implicit-tls, send --tls and send smtps://', async (t) => {
    const serve = await startServe(t, [...tlsArgs, '--implicit-tls'])
    const a = await runCli(['send', '--server', serve.address, '--tls', '--ca', fixtures.ca, ...envelope, '--text', 'one'])
    assert.equal(a.code, 0, a.stderr)
    const b = await runCli(['send', '--server', `smtps://localhost:${serve.port}`, '--ca', fixtures.ca, ...envelope, '--text', 'two'])
    assert.equal(b.code, 0, b.stderr)
    const stored = await serve.messages()
    assert.equal(stored.length, 2)
    for (const m of stored) assert.match(m.text, /with ESMTPS id/)
  })

  test('a certificate that fails verification exits 3 with the reason; --insecure-tls sends anyway', async (t) => {
    const serve = await startServe(t, ['--tls-cert', fixtures.selfSignedCert, '--tls-key', fixtures.selfSignedKey])
    const refused = await runCli(['send', '--server', serve.address, '--starttls', ...envelope, '--text', 'x'])
    assert.equal(refused.code, 3, refused.stderr)
    assert.match(refused.stderr, /certificate/i)
    const insecure = await runCli(['send', '--server', serve.address, '--starttls', '--insecure-tls', ...envelope, '--text', 'x'])
    assert.equal(insecure.code, 0, insecure.stderr)
  })

  test('--require-auth: without AUTH the refusal is printed and the exit is 1; each password mechanism logs in', async (t) => {
    const serve = await startServe(t, [...tlsArgs, '--auth', 'alice:s3cret', '--auth', 'carol:other', '--require-auth'])
    const common = ['send', '--server', serve.address, '--ca', fixtures.ca, ...envelope, '--text', 'auth']
    const anonymous = await runCli(common)
    assert.equal(anonymous.code, 1)
    assert.match(anonymous.stderr, /530 5\.7\.0/)
    const byEnv = await runCli([...common, '--user', 'alice'], { env: { SMTPKIT_PASS: 's3cret' } })
    assert.equal(byEnv.code, 0, byEnv.stderr)
    // The mechanisms in-process, to spare a process start each.
    for (const [mech, user, pass] of [['PLAIN', 'carol', 'other'], ['LOGIN', 'alice', 's3cret'], ['CRAM-MD5', 'alice', 's3cret'], ['SCRAM-SHA-256', 'carol', 'other']]) {
      const capture = captureIo()
      const code = await runSend([...common.slice(1), '--user', user!, '--pass', pass!, '--auth-mech', mech!], capture.io)
      assert.equal(code, 0, `${mech}: ${capture.stderr()}`)
    }
    assert.equal((await serve.messages()).length, 5)
  })

  test('a wrong password exits 1 and prints the 535 reply', async (t) => {
    const serve = await startServe(t, [...tlsArgs, '--auth', 'alice:s3cret', '--require-auth'])
    const sent = await runCli(['send', '--server', serve.address, '--ca', fixtures.ca, '--user', 'alice', '--pass', 'wrong', ...envelope, '--text', 'x'])
    assert.equal(sent.code, 1)
    assert.match(sent.stderr, /535 5\.7\.8/)
    assert.deepEqual(await serve.messages(), [])
  })

  test('--max-size: a larger message is refused with 552 and exit 1', async (t) => {
    const serve = await startServe(t, ['--max-size', '2K'])
    const sent = await runCli(['send', '--server', serve.address, ...envelope, '--text', 'x'.repeat(70).concat('\n').repeat(60)])
    assert.equal(sent.code, 1)
    assert.match(sent.stderr, /552 5\.3\.4/)
    assert.deepEqual(await serve.messages(), [])
  })

  test('--max-recipients: recipients past the limit are refused and listed, the rest get the message, exit 1', async (t) => {
    const serve = await startServe(t, ['--max-recipients', '2'])
    const sent = await runCli(['send', '--server', serve.address, '--from', 'a@example.test', '--to', 'b@example.test', '--to', 'c@example.test', '--to', 'd@example.test', '--text', 'x'])
    assert.equal(sent.code, 1)
    assert.match(sent.stderr, /refused <d@example\.test>: 452 4\.5\.3/)
    assert.match(sent.stdout, /sent to 2 of 3 recipients/)
    const [stored] = await serve.messages()
    assert.ok(stored)
  })

  test('--lmtp on both sides: one reply per recipient', async (t) => {
    const serve = await startServe(t, ['--lmtp'])
    const sent = await runCli(['send', '--server', serve.address, '--lmtp', '--from', 'a@example.test', '--to', 'b@example.test', '--to', 'c@example.test', '--text', 'lmtp'])
    assert.equal(sent.code, 0, sent.stderr)
    assert.match(sent.stdout, /delivered <b@example\.test>: 250/)
    assert.match(sent.stdout, /delivered <c@example\.test>: 250/)
    const [stored] = await serve.messages()
    assert.match(stored!.text, /with LMTP id/)
  })

  test('--store none accepts and discards', async (t) => {
    const serve = await startServe(t, ['--store', 'none'])
    const sent = await runCli(['send', '--server', serve.address, ...envelope, '--text', 'gone'])
    assert.equal(sent.code, 0, sent.stderr)
    await serve.waitFor(/from=<alice@example\.test> to=<bob@example\.test> size=\d+ file=- subject=""$/m)
    assert.deepEqual(await serve.messages(), [])
  })

  test('--smtputf8 sends UTF-8 addresses and headers raw; the Received header says UTF8SMTP', async (t) => {
    const serve = await startServe(t)
    const sent = await runCli(['send', '--server', serve.address, '--smtputf8', '--from', 'jürgen@exämple.test', '--to', 'zoë@example.test', '--subject', 'Grüße', '--text', 'Grüße aus Köln'])
    assert.equal(sent.code, 0, sent.stderr)
    const [stored] = await serve.messages()
    assert.match(stored!.text, /^Return-Path: <jürgen@exämple\.test>\r\n/)
    assert.match(stored!.text, /with UTF8SMTP id/)
    assert.match(stored!.text, /\r\nSubject: Grüße\r\n/)
  })

  test('composes HTML with attachments that arrive intact', async (t) => {
    const dir = await tempDir(t)
    const pdf = join(dir, 'report.pdf')
    const bytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff))
    await writeFile(pdf, bytes)
    await writeFile(join(dir, 'notes.txt'), 'line one\nline two\n')
    const serve = await startServe(t)
    const sent = await runCli(['send', '--server', serve.address, ...envelope, '--subject', 'Report', '--text', 'see attached', '--html', '<p>see <b>attached</b></p>', '--attach', pdf, '--attach', join(dir, 'notes.txt')])
    assert.equal(sent.code, 0, sent.stderr)
    const [stored] = await serve.messages()
    const parsed = await simpleParser(stored!.text)
    assert.equal(parsed.subject, 'Report')
    assert.equal(parsed.text?.trim(), 'see attached')
    assert.equal(parsed.html, '<p>see <b>attached</b></p>')
    assert.deepEqual(parsed.attachments.map((a) => a.filename), ['report.pdf', 'notes.txt'])
    assert.deepEqual(parsed.attachments[0]!.content, bytes)
    assert.equal(parsed.attachments[0]!.contentType, 'application/pdf')
  })

  test('--file sends a file as it is, with Unix line endings made CRLF', async (t) => {
    const dir = await tempDir(t)
    const file = join(dir, 'msg.eml')
    await writeFile(file, 'From: alice@example.test\nTo: bob@example.test\nSubject: From a file\n\nBody line\n.leading dot\n')
    const serve = await startServe(t)
    const sent = await runCli(['send', '--server', serve.address, ...envelope, '--file', file])
    assert.equal(sent.code, 0, sent.stderr)
    const [stored] = await serve.messages()
    assert.ok(stored!.text.endsWith('\r\nFrom: alice@example.test\r\nTo: bob@example.test\r\nSubject: From a file\r\n\r\nBody line\r\n.leading dot\r\n'))
  })

  test('an 8-bit --file goes out as BODY=8BITMIME, an ASCII one without; --8bitmime says it for stdin', async (t) => {
    const dir = await tempDir(t)
    const eightBit = join(dir, 'latin.eml')
    const ascii = join(dir, 'ascii.eml')
    await writeFile(eightBit, Buffer.from('Subject: caf\xe9\n\ncaf\xe9\n', 'latin1'))
    await writeFile(ascii, 'Subject: plain\n\nplain\n')
    const serve = await startServe(t)
    const send = (args: string[], input?: string) => runCli(['send', '--server', serve.address, ...envelope, '--verbose', ...args], input === undefined ? {} : { input })
    const fromFile = await send(['--file', eightBit])
    assert.equal(fromFile.code, 0, fromFile.stderr)
    assert.match(fromFile.stderr, /^C: MAIL FROM:<alice@example\.test> BODY=8BITMIME/m)
    const plain = await send(['--file', ascii])
    assert.equal(plain.code, 0, plain.stderr)
    assert.match(plain.stderr, /^C: MAIL FROM:<alice@example\.test>$/m)
    const piped = await send(['--8bitmime', '-'], 'Subject: piped\n\nna\u00efve\n')
    assert.equal(piped.code, 0, piped.stderr)
    assert.match(piped.stderr, /^C: MAIL FROM:<alice@example\.test> BODY=8BITMIME/m)
    const stored = await serve.messages()
    assert.equal(stored.length, 3)
  })

  test('- reads the message from stdin (with DATA under --no-chunking)', async (t) => {
    const serve = await startServe(t)
    const message = 'From: alice@example.test\r\nSubject: stdin\r\n\r\nfrom a pipe\r\n'
    const sent = await runCli(['send', '--server', serve.address, ...envelope, '--no-chunking', '--verbose', '-'], { input: message })
    assert.equal(sent.code, 0, sent.stderr)
    assert.match(sent.stderr, /^C: DATA$/m)
    assert.doesNotMatch(sent.stderr, /^C: BDAT/m)
    const [stored] = await serve.messages()
    assert.ok(stored!.text.endsWith(`\r\n${message}`))
  })

  test('--dsn-notify and --dsn-ret go out as RCPT and MAIL parameters', async (t) => {
    const serve = await startServe(t)
    const sent = await runCli(['send', '--server', serve.address, ...envelope, '--text', 'dsn', '--dsn-notify', 'success,failure', '--dsn-ret', 'HDRS', '--verbose'])
    assert.equal(sent.code, 0, sent.stderr)
    assert.match(sent.stderr, /^C: MAIL FROM:<alice@example\.test> RET=HDRS/m)
    assert.match(sent.stderr, /^C: RCPT TO:<bob@example\.test> NOTIFY=SUCCESS,FAILURE/m)
  })

  for (const type of ['ed25519', 'rsa'] as const) {
    test(`--dkim-* signs the message (${type}); the stored copy verifies`, async (t) => {
      const dir = await tempDir(t)
      const { privateKey } = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519')
      const keyFile = join(dir, 'dkim.key')
      await writeFile(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }))
      const serve = await startServe(t)
      for (const message of [['--subject', 'Signed', '--text', 'signed body', '--attach', keyFile], ['-']]) {
        const sent = await runCli(
          ['send', '--server', serve.address, ...envelope, '--dkim-domain', 'example.test', '--dkim-selector', 'sel', '--dkim-key', keyFile, ...message],
          { input: 'From: alice@example.test\nSubject: piped\n\npiped body\n' },
        )
        assert.equal(sent.code, 0, sent.stderr)
      }
      const record = formatDkimKeyRecord(privateKey)
      const stored = await serve.messages()
      assert.equal(stored.length, 2)
      for (const m of stored) {
        const resolver = async (name: string): Promise<string[][]> => (name === 'sel._domainkey.example.test' ? [[record]] : [])
        const results = await dkimVerify(Buffer.from(m.text, 'utf8'), { resolver })
        assert.deepEqual(results.map((r) => [r.status, r.domain]), [['pass', 'example.test']])
      }
    })
  }

  test('IPv6: serve --listen [::1]:0 prints a bracketed address that send accepts', async (t) => {
    const serve = await startServe(t, [], { listen: '[::1]:0' })
    assert.equal(serve.host, '::1')
    const sent = await runCli(['send', '--server', serve.address, ...envelope, '--text', 'v6'])
    assert.equal(sent.code, 0, sent.stderr)
    assert.match((await serve.messages())[0]!.text, /\(\[IPv6:::1\]\)/)
  })
})

describe('smtpkit send failures', { concurrency: 4 }, () => {
  test('connection refused exits 3 and names the reason', async () => {
    const port = await freePort()
    const sent = await runCli(['send', '--server', `127.0.0.1:${port}`, ...envelope, '--text', 'x'])
    assert.equal(sent.code, 3)
    assert.match(sent.stderr, /ECONNREFUSED/)
  })

  test('--starttls against a server without STARTTLS exits 3 and sends nothing', async (t) => {
    const serve = await startServe(t)
    const sent = await runCli(['send', '--server', serve.address, '--starttls', ...envelope, '--text', 'x'])
    assert.equal(sent.code, 3)
    assert.match(sent.stderr, /does not offer STARTTLS/)
    assert.deepEqual(await serve.messages(), [])
  })

  const usage: [string, string[], RegExp][] = [
    ['a missing --server', envelope.concat('--text', 'x'), /--server is required/],
    ['a missing --to', ['--server', '127.0.0.1:25', '--from', 'a@example.test', '--text', 'x'], /--to is required/],
    ['no message', ['--server', '127.0.0.1:25', ...envelope], /no message/],
    ['--starttls with --tls', ['--server', '127.0.0.1:25', '--starttls', '--tls', ...envelope, '--text', 'x'], /exclude each other/],
    ['--user without a password', ['--server', '127.0.0.1:25', '--user', 'u', ...envelope, '--text', 'x'], /SMTPKIT_PASS/],
    ['an unknown --auth-mech', ['--server', '127.0.0.1:25', '--user', 'u', '--pass', 'p', '--auth-mech', 'NTLM', ...envelope, '--text', 'x'], /--auth-mech must be one of/],
    ['a missing --file', ['--server', '127.0.0.1:25', ...envelope, '--file', '/nonexistent/msg.eml'], /--file: cannot read/],
    ['a bad port', ['--server', '127.0.0.1:99999', ...envelope, '--text', 'x'], /--server must be an integer/],
    ['an unbracketed IPv6 address', ['--server', '::1:25', ...envelope, '--text', 'x'], /in brackets/],
    ['--file with --text', ['--server', '127.0.0.1:25', ...envelope, '--file', 'x.eml', '--text', 'x'], /cannot be combined/],
    ['half the DKIM options', ['--server', '127.0.0.1:25', ...envelope, '--text', 'x', '--dkim-domain', 'example.test'], /needs all of/],
    ['a bad --dsn-notify', ['--server', '127.0.0.1:25', ...envelope, '--text', 'x', '--dsn-notify', 'SOMETIMES'], /--dsn-notify must be/],
    ['an invalid recipient', ['--server', '127.0.0.1:25', '--from', 'a@example.test', '--to', 'not an address', '--text', 'x'], /not an address|invalid|address/i],
  ]
  // In-process (runSend), since a usage error never reaches the network; the binary's own exit
  // status is checked by the first test.
  test('an unknown option makes the smtpkit binary exit 2', async () => {
    const sent = await runCli(['send', '--bogus'])
    assert.equal(sent.code, 2)
    assert.match(sent.stderr, /unknown option --bogus[\s\S]*smtpkit send --help/)
  })
  for (const [what, args, pattern] of usage) {
    test(`${what} is a usage error: exit 2 with a clear message`, async () => {
      const capture = captureIo()
      assert.equal(await runSend(args, capture.io), 2, capture.stderr())
      assert.match(capture.stderr(), pattern)
      assert.equal(capture.stdout(), '')
    })
  }
})

describe('smtpkit --help and --version', { concurrency: 4 }, () => {
  test('--version prints the version from package.json, for the command and each subcommand', async () => {
    const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    for (const args of [['--version'], ['serve', '--version'], ['send', '--version']]) {
      const run = await runCli(args)
      assert.equal(run.code, 0)
      assert.equal(run.stdout, `smtpkit ${version}\n`)
    }
  })

  test('--help shows usage with examples for the command and each subcommand', async () => {
    for (const [args, pattern] of [[['--help'], /Commands:[\s\S]*serve[\s\S]*send/], [['send', '--help'], /--server SERVER[\s\S]*Exit status[\s\S]*Examples:/], [['serve', '-h'], /--listen HOST:PORT[\s\S]*Examples:/]] as const) {
      const run = await runCli(args)
      assert.equal(run.code, 0)
      assert.match(run.stdout, pattern)
    }
  })

  test('an unknown command exits 2', async () => {
    const run = await runCli(['frobnicate'])
    assert.equal(run.code, 2)
    assert.match(run.stderr, /unknown command "frobnicate"/)
  })
})
