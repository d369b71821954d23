// `smtpkit serve` as a child process: options, storage failures, shutdown, transcripts.
import assert from 'node:assert/strict'
import { readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Client } from '../../src/client/index.ts'
import { runServe } from '../../src/cli/serve.ts'
import { captureIo, fixtures, rawSession, runCli, startServe } from './cli-process.ts'

const notPem = fileURLToPath(new URL('../../package.json', import.meta.url))

const envelope = ['--from', 'alice@example.test', '--to', 'bob@example.test']

describe('smtpkit serve', { concurrency: 4 }, () => {
  test('--require-tls refuses MAIL before STARTTLS with 530', async (t) => {
    const serve = await startServe(t, ['--tls-cert', fixtures.cert, '--tls-key', fixtures.key, '--require-tls'])
    const raw = await rawSession(serve.port)
    t.after(() => raw.socket.destroy())
    assert.match(raw.greeting, /^220 /)
    assert.match(await raw.command('EHLO client.example.test'), /250[- ]STARTTLS/)
    assert.match(await raw.command('MAIL FROM:<alice@example.test>'), /^530 5\.7\.0 /)
    const sent = await runCli(['send', '--server', serve.address, '--ca', fixtures.ca, ...envelope, '--text', 'over TLS'])
    assert.equal(sent.code, 0, sent.stderr)
  })

  test('--hostname names the server in the greeting and the Received header', async (t) => {
    const serve = await startServe(t, ['--hostname', 'mx.example.test'])
    const raw = await rawSession(serve.port)
    t.after(() => raw.socket.destroy())
    assert.match(raw.greeting, /^220 mx\.example\.test /)
    const sent = await runCli(['send', '--server', serve.address, ...envelope, '--text', 'x'])
    assert.equal(sent.code, 0, sent.stderr)
    assert.match((await serve.messages())[0]!.text, /\tby mx\.example\.test with ESMTP/)
  })

  test('a disk error answers 451 4.3.0, not 250, and leaves nothing in new/ or tmp/', async (t) => {
    const serve = await startServe(t)
    // new/ replaced by a plain file: the rename into it fails after the data was written.
    await rm(join(serve.maildir, 'new'), { recursive: true })
    await writeFile(join(serve.maildir, 'new'), 'not a directory')
    const sent = await runCli(['send', '--server', serve.address, ...envelope, '--text', 'lost?'])
    assert.equal(sent.code, 1)
    assert.match(sent.stderr, /451 4\.3\.0/)
    assert.deepEqual(await readdir(join(serve.maildir, 'tmp')), [])
    assert.match(serve.stderr(), /ENOTDIR/)
  })

  test('--verbose prints transcripts with the AUTH payload redacted', async (t) => {
    const serve = await startServe(t, ['--tls-cert', fixtures.cert, '--tls-key', fixtures.key, '--auth', 'alice:s3cret', '--verbose'])
    const sent = await runCli(['send', '--server', serve.address, '--ca', fixtures.ca, '--user', 'alice', '--pass', 's3cret', '--auth-mech', 'PLAIN', ...envelope, '--text', 'x', '--verbose'])
    assert.equal(sent.code, 0, sent.stderr)
    const secret = Buffer.from('\0alice\0s3cret').toString('base64')
    for (const transcript of [serve.stderr(), sent.stderr]) {
      assert.match(transcript, /C: AUTH PLAIN/)
      assert.match(transcript, /C: MAIL FROM:<alice@example\.test>/)
      assert.ok(!transcript.includes(secret), 'the credentials appear in the transcript')
      assert.ok(!transcript.includes('s3cret'))
    }
  })

  test('SIGTERM lets a transaction in flight finish, then exits 0', async (t) => {
    const serve = await startServe(t)
    const client = await Client.connect({ host: '127.0.0.1', port: serve.port, tls: 'none' })
    t.after(() => client.close())
    await client.mail('alice@example.test')
    await client.rcpt('bob@example.test')
    const exited = serve.stop('SIGTERM')
    await serve.waitFor(/^shutting down$/m)
    const reply = await client.data('Subject: in flight\r\n\r\nfinished after SIGTERM\r\n')
    assert.equal(reply.code, 250)
    assert.equal(await exited, 0)
    assert.match(serve.stdout(), /^stopped$/m)
    const [stored] = await serve.messages()
    assert.match(stored!.text, /finished after SIGTERM\r\n$/)
  })

  test('SIGINT with no connection exits 0 at once', async (t) => {
    const serve = await startServe(t)
    assert.equal(await serve.stop('SIGINT'), 0)
  })

  const usage: [string, string[], RegExp][] = [
    ['a positional argument', ['extra'], /positional/i],
    ['--tls-cert without --tls-key', ['--tls-cert', 'x.crt'], /go together/],
    ['--implicit-tls without a certificate', ['--implicit-tls'], /needs --tls-cert/],
    ['--require-auth without --auth', ['--require-auth'], /needs at least one --auth/],
    ['--auth without TLS', ['--auth', 'a:b'], /--insecure-auth-without-tls/],
    ['--auth without a colon', ['--auth', 'ab', '--insecure-auth-without-tls'], /USER:PASS/],
    ['a bad --max-size', ['--max-size', 'lots'], /--max-size must be/],
    ['a zero --max-recipients', ['--max-recipients', '0'], /--max-recipients must be/],
    ['an unknown --store', ['--store', 'mbox'], /--store must be maildir or none/],
    ['a --listen without a port', ['--listen', '127.0.0.1'], /missing port/],
    ['an unreadable --tls-cert', ['--tls-cert', '/nonexistent.crt', '--tls-key', '/nonexistent.key'], /--tls-cert: cannot read/],
    // A readable file that is no certificate: OpenSSL's error, said as a usage error, not a stack trace.
    ['a --tls-cert that is not PEM', ['--tls-cert', notPem, '--tls-key', notPem], /tls: cannot use the key and certificate: /],
    ['a bad --hostname', ['--hostname', 'bad name'], /hostname must be/],
  ]
  test('an unknown option makes the smtpkit binary exit 2', async () => {
    const run = await runCli(['serve', '--bogus'])
    assert.equal(run.code, 2)
    assert.match(run.stderr, /unknown option --bogus[\s\S]*smtpkit serve --help/)
  })
  // In-process (runServe): each fails before anything listens.
  for (const [what, args, pattern] of usage) {
    test(`${what} is a usage error: exit 2`, async () => {
      const capture = captureIo()
      assert.equal(await runServe(['--listen', '127.0.0.1:0', '--store', 'none', ...args], capture.io), 2, capture.stderr())
      assert.match(capture.stderr(), pattern)
    })
  }

  test('--proxy-protocol takes the client address from a trusted proxy\'s header', async (t) => {
    const serve = await startServe(t, ['--proxy-protocol'])
    const raw = await rawSession(serve.port, 'PROXY TCP4 192.0.2.7 192.0.2.1 40000 25\r\n')
    t.after(() => raw.socket.destroy())
    assert.match(raw.greeting, /^220 /)
    assert.match(await raw.command('EHLO client.example.test'), /^250/m)
    assert.match(await raw.command('MAIL FROM:<alice@example.test>'), /^250/)
    assert.match(await raw.command('RCPT TO:<bob@example.test>'), /^250/)
    assert.match(await raw.command('DATA'), /^354/)
    assert.match(await raw.command('Subject: proxied\r\n\r\nvia a proxy\r\n.'), /^250/)
    const [stored] = await serve.messages()
    assert.match(stored!.text, /^Received: from client\.example\.test \(\[192\.0\.2\.7\]\)/m)
  })

  test('--proxy-trusted without --proxy-protocol, or with a bad range, is a usage error', async () => {
    for (const args of [['--proxy-trusted', '10.0.0.0/8'], ['--proxy-protocol', '--proxy-trusted', 'not-an-ip']]) {
      const capture = captureIo()
      assert.equal(await runServe(['--listen', '127.0.0.1:0', '--store', 'none', ...args], capture.io), 2, capture.stderr())
      assert.match(capture.stderr(), /proxy/i)
    }
  })
})
