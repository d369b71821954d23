// Our client against Postfix's smtp-sink (Debian package postfix), on loopback.
import { createHash } from 'node:crypto'
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { Client, type ConnectOptions } from '../../src/client/index.ts'
import { Pool } from '../../src/client/pool.ts'
import { SmtpError } from '../../src/protocol/errors.ts'
import { smtpSinkPath, startSmtpSink, type RunningPeer } from '../helpers/peers.ts'
import { ClientError } from '../../src/client/errors.ts'

const skip = smtpSinkPath() ? false : 'smtp-sink is not installed (Debian package postfix)'

async function sink(t: TestContext, args: readonly string[] = []): Promise<RunningPeer> {
  const peer = await startSmtpSink(args)
  t.after(() => peer.stop())
  return peer
}

async function connect(t: TestContext, peer: RunningPeer, options: Partial<ConnectOptions> = {}): Promise<Client> {
  const client = await Client.connect({ host: peer.host, port: peer.port, tls: 'none', localName: 'client.test', ...options })
  t.after(() => client.close())
  return client
}

/** A dump directory smtp-sink (running as nobody) can write to; removed after the test. */
function dumpDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'smtpkit-sink-'))
  chmodSync(dir, 0o777)
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/**
 * The message part of an smtp-sink dump file (see smtp-sink(1), DUMP FILE FORMAT): its own
 * X-* records and three-line Received header come first, and an empty line is appended; lines
 * end in LF and dots are unstuffed.
 */
async function readDump(dir: string): Promise<Buffer> {
  const deadline = AbortSignal.timeout(10_000)
  for (;;) {
    const files = readdirSync(dir)
    if (files.length > 0) {
      const raw = readFileSync(join(dir, files[0]!))
      const received = raw.indexOf('\nReceived: ')
      assert.notEqual(received, -1, 'the dump has a Received header')
      let start = received + 1
      for (let i = 0; i < 3; i++) start = raw.indexOf('\n', start) + 1
      return raw.subarray(start)
    }
    deadline.throwIfAborted()
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const lf = (crlf: string | Buffer): Buffer => Buffer.from(Buffer.from(crlf).toString('latin1').replace(/\r\n/g, '\n'), 'latin1')

const text = 'From: a@example.test\r\nTo: b@example.test\r\nSubject: interop\r\n\r\nHello.\r\n'

describe('client against smtp-sink', { skip }, () => {
  test('sends a message with PIPELINING: MAIL, RCPT and DATA go out before any reply', async (t) => {
    const peer = await sink(t)
    const log: string[] = []
    const client = await connect(t, peer, { debug: (line) => log.push(line) })
    assert.ok(client.extensions.has('PIPELINING'))
    const result = await client.send({ from: 'a@example.test', to: ['b@example.test', 'c@example.test'], message: text })
    assert.deepEqual(result.accepted, ['b@example.test', 'c@example.test'])
    assert.equal(result.reply.code, 250)
    assert.ok(log.indexOf('C: DATA') < log.indexOf('S: 250 2.1.0 Ok'), log.join('\n'))
    await client.quit()
  })

  test('without PIPELINING (-p) waits for each reply before the next command', async (t) => {
    const peer = await sink(t, ['-p'])
    const log: string[] = []
    const client = await connect(t, peer, { debug: (line) => log.push(line) })
    assert.equal(client.extensions.has('PIPELINING'), false)
    const result = await client.send({ from: 'a@example.test', to: ['b@example.test', 'c@example.test'], message: text })
    assert.equal(result.accepted.length, 2)
    assert.ok(log.indexOf('S: 250 2.1.0 Ok') < log.indexOf('C: RCPT TO:<b@example.test>'), log.join('\n'))
    assert.ok(log.indexOf('S: 250 2.1.5 Ok') < log.indexOf('C: RCPT TO:<c@example.test>'), log.join('\n'))
  })

  test('smtp-sink offers no CHUNKING, so the message goes with DATA', async (t) => {
    const peer = await sink(t)
    const log: string[] = []
    const client = await connect(t, peer, { debug: (line) => log.push(line) })
    assert.equal(client.extensions.has('CHUNKING'), false)
    await client.send({ from: 'a@example.test', to: 'b@example.test', message: text })
    assert.ok(log.includes('C: DATA'))
    assert.ok(!log.some((line) => line.startsWith('C: BDAT')))
  })

  test('an 8-bit message to a server without 8BITMIME (-8) is ERR_SMTP_UNSUPPORTED before anything is sent', async (t) => {
    const peer = await sink(t, ['-8'])
    const log: string[] = []
    const client = await connect(t, peer, { debug: (line) => log.push(line) })
    await assert.rejects(client.send({ from: 'a@example.test', to: 'b@example.test', message: 'Subject: caf\u00e9\r\n\r\nna\u00efve\r\n' }), (err: ClientError) => {
      assert.ok(err instanceof ClientError)
      assert.equal(err.code, 'ERR_SMTP_UNSUPPORTED')
      assert.match(err.message, /8BITMIME/)
      return true
    })
    assert.ok(!log.some((line) => line.startsWith('C: MAIL')))
    assert.equal((await client.send({ from: 'a@example.test', to: 'b@example.test', message: text })).reply.code, 250)
  })

  test('a hard-rejected RCPT (-f RCPT) is a per-recipient SmtpError with the server code and text', async (t) => {
    const peer = await sink(t, ['-f', 'RCPT', '-B', '550 5.1.1 No such user here'])
    const client = await connect(t, peer)
    await assert.rejects(client.send({ from: 'a@example.test', to: ['x@example.test', 'y@example.test'], message: text }), (err: AggregateError) => {
      assert.ok(err instanceof AggregateError)
      assert.equal(err.errors.length, 2)
      const first = err.errors[0] as SmtpError
      assert.ok(first instanceof SmtpError)
      assert.equal(first.code, 550)
      assert.equal(first.enhancedCode, '5.1.1')
      assert.equal(first.text, 'No such user here')
      assert.equal(first.command, 'RCPT TO:<x@example.test>')
      assert.equal(first.permanent, true)
      return true
    })
    assert.equal(client.isClosed, false)
  })

  test('a soft-rejected RCPT (-r RCPT) is a temporary SmtpError', async (t) => {
    const peer = await sink(t, ['-r', 'RCPT'])
    const client = await connect(t, peer)
    await assert.rejects(client.send({ from: 'a@example.test', to: 'x@example.test', message: text }), (err: AggregateError) => {
      const only = err.errors[0] as SmtpError
      assert.equal(only.code, 450)
      assert.equal(only.enhancedCode, '4.3.0')
      assert.equal(only.temporary, true)
      assert.match(only.message, /^450 4\.3\.0 Error: command failed \(RCPT TO:<x@example\.test>\)$/)
      return true
    })
  })

  test('a rejected MAIL, DATA or end of data is an SmtpError naming the command', async (t) => {
    for (const [command, named] of [['MAIL', /^MAIL FROM:<a@example\.test>/], ['DATA', /^DATA$/], ['.', /^DATA$/]] as const) {
      const peer = await sink(t, ['-f', command])
      const client = await connect(t, peer)
      await assert.rejects(client.send({ from: 'a@example.test', to: 'b@example.test', message: text }), (err: SmtpError) => {
        assert.ok(err instanceof SmtpError, `${command}: ${String(err)}`)
        assert.equal(err.code, 500)
        assert.match(err.command ?? '', named)
        return true
      })
      assert.equal(client.isClosed, false, command)
      await client.quit()
    }
  })

  test('421 on a command (-Q RCPT) rejects with the SmtpError and closes the client', async (t) => {
    const peer = await sink(t, ['-Q', 'RCPT'])
    const client = await connect(t, peer)
    await assert.rejects(client.send({ from: 'a@example.test', to: 'b@example.test', message: text }), (err: SmtpError) => {
      assert.ok(err instanceof SmtpError)
      assert.equal(err.code, 421)
      return true
    })
    assert.equal(client.isClosed, true)
  })

  test('LMTP (-L): one reply per recipient after the data', async (t) => {
    const peer = await sink(t, ['-L'])
    const client = await connect(t, peer, { lmtp: true })
    const result = await client.send({ from: 'a@example.test', to: ['b@example.test', 'c@example.test', 'd@example.test'], message: text })
    assert.deepEqual(result.accepted, ['b@example.test', 'c@example.test', 'd@example.test'])
    assert.deepEqual(result.lmtp?.map((r) => [r.recipient, r.reply.code]), [['b@example.test', 250], ['c@example.test', 250], ['d@example.test', 250]])
  })

  test('LMTP (-L -f .): every recipient refused after the data is an AggregateError of per-recipient SmtpErrors', async (t) => {
    const peer = await sink(t, ['-L', '-f', '.'])
    const client = await connect(t, peer, { lmtp: true })
    await assert.rejects(client.send({ from: 'a@example.test', to: ['b@example.test', 'c@example.test'], message: text }), (err: AggregateError) => {
      assert.equal(err.errors.length, 2)
      assert.deepEqual(err.errors.map((e: SmtpError) => [e.code, e.command]), [[500, 'DATA for <b@example.test>'], [500, 'DATA for <c@example.test>']])
      return true
    })
  })

  test('the message smtp-sink dumps (-d) is the one sent, byte for byte', async (t) => {
    const dir = dumpDir(t)
    const peer = await sink(t, ['-d', `${dir}/msg.`])
    const client = await connect(t, peer)
    const message = Buffer.from(
      'From: a@example.test\r\nSubject: dots and bytes\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nnot the end\r\n' +
      `${'x'.repeat(998)}\r\n\u00e9t\u00e9 \u2603\r\n\tindented\r\n\r\n`,
    )
    const result = await client.send({ from: 'a@example.test', to: 'b@example.test', message })
    assert.equal(result.bytes, message.length)
    assert.deepEqual(await readDump(dir), Buffer.concat([lf(message), Buffer.from('\n')]))
  })

  test('a 10 MB streamed message arrives whole', async (t) => {
    const dir = dumpDir(t)
    const peer = await sink(t, ['-d', `${dir}/msg.`])
    const client = await connect(t, peer)
    const line = Buffer.from(`${'.abcdefghijklmnopqrstuvwxyz0123456789'.repeat(2)}\r\n`)
    const lines = Math.ceil((10 << 20) / line.length)
    const header = Buffer.from('Subject: big\r\n\r\n')
    const expected = createHash('sha256').update(lf(header))
    for (let i = 0; i < lines; i++) expected.update(lf(line))
    expected.update('\n')
    async function* body() {
      yield header
      const batch = Buffer.concat(Array.from({ length: 1024 }, () => line))
      for (let sent = 0; sent < lines; sent += 1024) yield sent + 1024 <= lines ? batch : batch.subarray(0, (lines - sent) * line.length)
    }
    const result = await client.send({ from: 'a@example.test', to: 'b@example.test', message: body(), signal: AbortSignal.timeout(60_000) })
    assert.equal(result.bytes, header.length + lines * line.length)
    assert.equal(createHash('sha256').update(await readDump(dir)).digest('hex'), expected.digest('hex'))
  })

  test('a Pool sends 200 messages over its connections', async (t) => {
    const peer = await sink(t)
    const pool = new Pool({ host: peer.host, port: peer.port, tls: 'none' }, { maxConnections: 4, maxMessagesPerConnection: 60 })
    t.after(() => pool.close({ signal: AbortSignal.timeout(5000) }))
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => pool.send({ from: 'a@example.test', to: `r${i}@example.test`, message: text })))
    assert.equal(results.filter((r) => r.reply.code === 250).length, 200)
    assert.ok(pool.size <= 4)
    await pool.close()
    assert.equal(pool.size, 0)
  })
})
