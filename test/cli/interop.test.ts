// `smtpkit serve` against real clients: swaks, and a private Postfix instance that relays into
// it over SMTP and delivers into it over LMTP.
import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, chown, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, test, type TestContext } from 'node:test'
import { sendMail } from '../../src/client/index.ts'
import { freePort } from '../helpers/peers.ts'
import { fixtures, runCli, startServe } from './cli-process.ts'

const run = promisify(execFile)

function has(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

async function swaks(args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run('swaks', args, { timeout: 30_000 })
    return { code: 0, output: stdout + stderr }
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` }
  }
}

const tlsArgs = ['--tls-cert', fixtures.cert, '--tls-key', fixtures.key]

describe('swaks against smtpkit serve', { concurrency: 4, skip: has('swaks') ? false : 'swaks is not installed' }, () => {
  test('STARTTLS with AUTH PLAIN on a submission server', async (t) => {
    const serve = await startServe(t, [...tlsArgs, '--auth', 'alice:s3cret', '--require-auth'])
    const { code, output } = await swaks(['--server', '127.0.0.1', '--port', String(serve.port), '--tls', '--auth', 'PLAIN', '--auth-user', 'alice', '--auth-password', 's3cret', '--from', 'alice@example.test', '--to', 'bob@example.test', '--h-Subject', 'swaks starttls'])
    assert.equal(code, 0, output)
    const [stored] = await serve.messages()
    assert.match(stored!.text, /with ESMTPSA id/)
    assert.match(stored!.text, /\r\nSubject: swaks starttls\r\n/)
  })

  test('a wrong password fails the swaks run, and nothing is stored', async (t) => {
    const serve = await startServe(t, [...tlsArgs, '--auth', 'alice:s3cret', '--require-auth'])
    const { code, output } = await swaks(['--server', '127.0.0.1', '--port', String(serve.port), '--tls', '--auth', 'LOGIN', '--auth-user', 'alice', '--auth-password', 'nope', '--from', 'alice@example.test', '--to', 'bob@example.test'])
    assert.notEqual(code, 0)
    assert.match(output, /535 5\.7\.8/)
    assert.deepEqual(await serve.messages(), [])
  })

  test('implicit TLS (--tls-on-connect) with CRAM-MD5', async (t) => {
    const serve = await startServe(t, [...tlsArgs, '--implicit-tls', '--auth', 'alice:s3cret'])
    const { code, output } = await swaks(['--server', '127.0.0.1', '--port', String(serve.port), '--tls-on-connect', '--auth', 'CRAM-MD5', '--auth-user', 'alice', '--auth-password', 's3cret', '--from', 'alice@example.test', '--to', 'bob@example.test'])
    assert.equal(code, 0, output)
    assert.equal((await serve.messages()).length, 1)
  })

  test('LMTP to serve --lmtp, with several recipients', async (t) => {
    const serve = await startServe(t, ['--lmtp'])
    const { code, output } = await swaks(['--server', '127.0.0.1', '--port', String(serve.port), '--protocol', 'LMTP', '--from', 'alice@example.test', '--to', 'bob@example.test,carol@example.test'])
    assert.equal(code, 0, output)
    assert.match(output, /<- {2}250 2\.0\.0 .*\n[\s\S]*<- {2}250 2\.0\.0 /)
    await serve.waitFor(/to=<bob@example\.test>,<carol@example\.test> /)
  })
})

/** A private Postfix instance: its own config, queue and data directories in a temporary directory. */
async function startPostfix(
  t: TestContext,
  options: { relayPort: number; lmtpPort: number; tls?: boolean; messageSizeLimit?: number },
): Promise<{ port: number; log(): Promise<string> }> {
  const dir = await mkdtemp(join(tmpdir(), 'smtpkit-postfix-'))
  // Postfix's daemons run as the postfix user, which must reach the queue inside this directory.
  await chmod(dir, 0o755)
  const etc = join(dir, 'etc')
  const queue = join(dir, 'queue')
  const data = join(dir, 'data')
  for (const sub of [etc, queue, data]) await mkdir(sub)
  const uid = Number(execFileSync('id', ['-u', 'postfix'], { encoding: 'utf8' }).trim())
  await chown(data, uid, -1)
  const port = await freePort()
  const maillog = join(dir, 'maillog')
  if (options.tls) {
    // smtpd reads its key as the postfix user: give it a copy it can read (a test key, not a secret).
    await copyFile(fixtures.cert, join(etc, 'server.crt'))
    await copyFile(fixtures.key, join(etc, 'server.key'))
    await chown(join(etc, 'server.key'), uid, -1)
  }
  await writeFile(join(etc, 'main.cf'), [
    'compatibility_level = 3.6',
    `queue_directory = ${queue}`,
    `data_directory = ${data}`,
    'mail_owner = postfix',
    'setgid_group = postdrop',
    'myhostname = relay.example.test',
    'mydomain = example.test',
    'mydestination =',
    'inet_interfaces = loopback-only',
    'inet_protocols = ipv4',
    'mynetworks = 127.0.0.0/8',
    `relayhost = [127.0.0.1]:${options.relayPort}`,
    `transport_maps = inline:{ lmtp.example.test=lmtp:inet:127.0.0.1:${options.lmtpPort} }`,
    'smtpd_relay_restrictions = permit_mynetworks, reject',
    'alias_maps =',
    'alias_database =',
    'local_recipient_maps =',
    `maillog_file_prefixes = ${dir}`,
    `maillog_file = ${maillog}`,
    'smtp_tls_security_level = none',
    ...(options.tls
      ? ['smtpd_tls_security_level = may', `smtpd_tls_cert_file = ${join(etc, 'server.crt')}`, `smtpd_tls_key_file = ${join(etc, 'server.key')}`]
      : ['smtpd_tls_security_level = none']),
    ...(options.messageSizeLimit ? [`message_size_limit = ${options.messageSizeLimit}`] : []),
    'biff = no',
    '',
  ].join('\n'))
  const services = [
    `127.0.0.1:${port} inet n - n - - smtpd`,
    'pickup unix n - n 60 1 pickup',
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 300 1 qmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'verify unix - - n - 1 verify',
    'flush unix n - n 1000? 0 flush',
    'proxymap unix - - n - - proxymap',
    'smtp unix - - n - - smtp',
    'relay unix - - n - - smtp',
    'showq unix n - n - - showq',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'discard unix - - n - - discard',
    'lmtp unix - - n - - lmtp',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
    // smtpd's TLS needs the TLS manager (session cache and random numbers).
    ...(options.tls ? ['tlsmgr unix - - n 1000? 1 tlsmgr'] : []),
  ]
  await writeFile(join(etc, 'master.cf'), `${services.join('\n')}\n`)
  const log = (): Promise<string> => readFile(maillog, 'utf8').catch(() => '')
  t.after(async () => {
    await run('postfix', ['-c', etc, 'stop']).catch(() => {})
    const pidFile = join(queue, 'pid', 'master.pid')
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim())
    // Bounded wait for the master to go before its directories are removed.
    for (let i = 0; pid > 0 && i < 100; i++) {
      try {
        process.kill(pid, 0)
      } catch {
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await rm(dir, { recursive: true, force: true })
  })
  try {
    await run('postfix', ['-c', etc, 'start'], { timeout: 30_000 })
  } catch (error) {
    throw new Error(`postfix did not start: ${(error as Error).message}\n${await log()}`, { cause: error })
  }
  return { port, log }
}

function hasPostfixUser(): boolean {
  try {
    execFileSync('id', ['postfix'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

const postfixSkip = !existsSync('/usr/sbin/postfix')
  ? 'postfix is not installed'
  : process.getuid?.() !== 0
    ? 'a private Postfix instance needs root (its daemons switch to the postfix user)'
    : !hasPostfixUser()
      ? 'there is no postfix user'
      : false

describe('Postfix relaying into smtpkit serve', { skip: postfixSkip }, () => {
  test('Postfix relays over SMTP into serve and delivers over LMTP into serve --lmtp', async (t) => {
    const relay = await startServe(t, ['--hostname', 'mx.example.test'])
    const lmtp = await startServe(t, ['--lmtp', '--hostname', 'lmtp.example.test'])
    const postfix = await startPostfix(t, { relayPort: relay.port, lmtpPort: lmtp.port })
    const server = { host: '127.0.0.1', port: postfix.port, tls: 'none' as const, signal: AbortSignal.timeout(20_000) }
    await sendMail(server, { from: 'alice@example.test', to: 'bob@example.org', message: 'From: alice@example.test\r\nSubject: via postfix\r\n\r\nrelayed by Postfix\r\n' })
    await sendMail(server, { from: 'alice@example.test', to: ['carol@lmtp.example.test', 'dave@lmtp.example.test'], message: 'From: alice@example.test\r\nSubject: via lmtp\r\n\r\ndelivered by Postfix lmtp\r\n' })

    const timeout = 30_000
    await relay.waitFor(/from=<alice@example\.test> to=<bob@example\.org> /, timeout).catch(async (error: unknown) => {
      throw new Error(`${(error as Error).message}\npostfix log:\n${await postfix.log()}`, { cause: error })
    })
    const [relayed] = await relay.messages()
    assert.match(relayed!.text, /^Return-Path: <alice@example\.test>\r\nReceived: from relay\.example\.test \(\[127\.0\.0\.1\]\)\r\n\tby mx\.example\.test with ESMTP /)
    assert.match(relayed!.text, /\(Postfix\)/)
    assert.match(relayed!.text, /\r\n\r\nrelayed by Postfix\r\n$/)

    await lmtp.waitFor(/from=<alice@example\.test> to=<carol@lmtp\.example\.test>,<dave@lmtp\.example\.test> /, timeout)
    const [delivered] = await lmtp.messages()
    assert.match(delivered!.text, /by lmtp\.example\.test with LMTP /)
    assert.match(delivered!.text, /\r\n\r\ndelivered by Postfix lmtp\r\n$/)
    // serve prints its line when it stores the message, before Postfix has read the LMTP replies
    // and logged them: wait for Postfix's log lines (bounded) rather than read the log once.
    const sent = [/to=<carol@lmtp\.example\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+,.* status=sent \(250 2\.0\.0/, /to=<dave@lmtp\.example\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+,.* status=sent \(250 2\.0\.0/]
    let log = await postfix.log()
    for (let attempt = 0; attempt < 200 && !sent.every((re) => re.test(log)); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      log = await postfix.log()
    }
    for (const re of sent) assert.match(log, re)
  })
})

describe('smtpkit send against a private Postfix smtpd', { skip: postfixSkip }, () => {
  test('sends plain with DATA, over STARTTLS with BDAT, and reports a SIZE refusal with exit 1', async (t) => {
    const relay = await startServe(t, ['--hostname', 'mx.example.test'])
    // Without TLS, so the default (STARTTLS when offered) stays plain; with TLS for --starttls.
    const plainPostfix = await startPostfix(t, { relayPort: relay.port, lmtpPort: relay.port, messageSizeLimit: 20_000 })
    const tlsPostfix = await startPostfix(t, { relayPort: relay.port, lmtpPort: relay.port, tls: true })
    const args = (port: number): string[] => ['send', '--server', `127.0.0.1:${port}`, '--from', 'alice@example.test', '--to', 'bob@example.org', '--verbose']

    const plain = await runCli([...args(plainPostfix.port), '--subject', 'plain', '--text', 'over plain SMTP', '--no-chunking'])
    assert.equal(plain.code, 0, plain.stderr)
    assert.doesNotMatch(plain.stderr, /STARTTLS/)
    assert.match(plain.stderr, /C: DATA/)

    const tls = await runCli([...args(tlsPostfix.port), '--starttls', '--ca', fixtures.ca, '--subject', 'tls', '--text', 'over STARTTLS'])
    assert.equal(tls.code, 0, `${tls.stderr}\n${await tlsPostfix.log()}`)
    assert.match(tls.stderr, /C: STARTTLS/)
    assert.match(tls.stderr, /C: BDAT \d+ LAST/)

    const big = await runCli([...args(plainPostfix.port), '--subject', 'big', '--text', 'x'.repeat(60_000)])
    assert.equal(big.code, 1, big.stderr)
    assert.match(big.stdout + big.stderr, /552 5\.3\.4/)

    // Both accepted messages are relayed into serve; the refused one is not.
    let messages = await relay.messages()
    for (let attempt = 0; attempt < 300 && messages.length < 2; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      messages = await relay.messages()
    }
    const bodies = messages.map((m) => m.text)
    assert.equal(bodies.length, 2)
    assert.ok(bodies.some((b) => b.includes('\r\n\r\nover plain SMTP\r\n')), 'plain message relayed')
    assert.ok(bodies.some((b) => b.includes('\r\n\r\nover STARTTLS\r\n')), 'STARTTLS message relayed')
    assert.ok(bodies.every((b) => !b.includes('Subject: big')), 'the refused message was not relayed')
  })
})
