import assert from 'node:assert/strict'
import { once } from 'node:events'
import { rmSync } from 'node:fs'
import { connect as netConnect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { duplexPair } from 'node:stream'
import { describe, test, type TestContext } from 'node:test'
import { connect as tlsConnect } from 'node:tls'
import { Server, type ConnectionInfo, type ServerOptions } from '../../src/server/index.ts'
import { ca, serverCert, serverKey } from '../helpers/tls.ts'
import { HOST, LineClient, readAll } from './harness.ts'

async function start(t: TestContext, options: ServerOptions = {}) {
  const errors: unknown[] = []
  const server = new Server({ hostname: HOST, onError: (error) => errors.push(error), ...options })
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 })
  t.after(() => server.close({ signal: AbortSignal.timeout(1000) }))
  return { server, port, errors }
}

async function dial(t: TestContext, target: { port: number; host?: string } | { path: string }): Promise<{ socket: Socket; client: LineClient }> {
  const socket = 'path' in target ? netConnect(target.path) : netConnect({ host: target.host ?? '127.0.0.1', port: target.port })
  t.after(() => socket.destroy())
  await once(socket, 'connect')
  // A forced close resets the connection; that is expected here, not a test failure.
  socket.on('error', () => {})
  return { socket, client: new LineClient(socket) }
}

async function closedBy(socket: Socket): Promise<void> {
  // Not events.once: it rejects on the 'error' (ECONNRESET) a forced close may bring first.
  if (!socket.destroyed) await new Promise((resolve) => socket.once('close', resolve))
}

describe('listening', () => {
  test('listens on an ephemeral port, and on several listeners at once', async (t) => {
    const { server, port } = await start(t)
    const second = await server.listen({ host: '127.0.0.1', port: 0 })
    assert.notEqual(second.port, port)
    for (const p of [port, second.port]) {
      const { client } = await dial(t, { port: p })
      assert.equal(await client.reply(), `220 ${HOST} ESMTP ready`)
    }
  })

  test('records the addresses of a TCP connection in ConnectionInfo', async (t) => {
    const seen: ConnectionInfo[] = []
    const { port } = await start(t, { newSession: (conn) => (seen.push(conn), {}) })
    const { client, socket } = await dial(t, { port })
    await client.reply()
    assert.equal(seen[0]!.remoteAddress, '127.0.0.1')
    assert.equal(seen[0]!.remotePort, socket.localPort)
    assert.equal(seen[0]!.localPort, port)
    assert.equal(seen[0]!.isTls, false)
    assert.match(seen[0]!.id, /^[0-9a-f]{6}[0-9a-z]{6,}$/)
  })

  test('listens on a Unix domain socket', async (t) => {
    const path = join(tmpdir(), `smtpkit-test-${process.pid}-${Date.now()}.sock`)
    const seen: ConnectionInfo[] = []
    const server = new Server({ hostname: HOST, newSession: (conn) => (seen.push(conn), {}) })
    t.after(async () => {
      await server.close({ signal: AbortSignal.timeout(1000) })
      rmSync(path, { force: true })
    })
    assert.deepEqual(await server.listen({ path }), { path })
    const { client } = await dial(t, { path })
    assert.equal(await client.reply(), `220 ${HOST} ESMTP ready`)
    client.send('QUIT')
    assert.equal(await client.reply(), `221 2.0.0 ${HOST} closing connection`)
    assert.equal(seen[0]!.remoteAddress, '')
  })

  test('listens on IPv6 ::1', async (t) => {
    const server = new Server({ hostname: HOST })
    t.after(() => server.close({ signal: AbortSignal.timeout(1000) }))
    let port: number
    try {
      ;({ port } = await server.listen({ host: '::1', port: 0 }))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL' || (error as NodeJS.ErrnoException).code === 'EAFNOSUPPORT') {
        return t.skip('::1 is not available here')
      }
      throw error
    }
    const { client } = await dial(t, { host: '::1', port })
    assert.equal(await client.reply(), `220 ${HOST} ESMTP ready`)
  })

  test('checks its options', () => {
    assert.throws(() => new Server({ hostname: 'bad host' }), TypeError)
    assert.throws(() => new Server({ hostname: HOST, requireAuth: true }), /requireAuth needs an auth hook/)
    assert.throws(() => new Server({ hostname: HOST, limits: { maxRecipients: 0 } }), RangeError)
    assert.throws(() => new Server({ hostname: HOST, authMechanisms: ['NTLM' as 'PLAIN'] }), TypeError)
    // OpenSSL's error alone would not say which option was wrong.
    assert.throws(() => new Server({ hostname: HOST, tls: { key: 'not a key', cert: serverCert } }), { name: 'TypeError', message: /^tls: cannot use the key and certificate: / })
  })
})

describe('options that are not options', () => {
  const throwsNaming = (make: () => unknown, pattern: RegExp): void => assert.throws(make, (error: unknown) => error instanceof TypeError && pattern.test(error.message))

  test('smtp-server habits get a TypeError that says what to write instead', () => {
    throwsNaming(() => new Server({ onData: () => {} } as never), /new Server\(\): unknown option "onData"; use newSession: .*data\(message, envelope\)/)
    throwsNaming(() => new Server({ authOptional: true } as never), /"authOptional"; .*requireAuth/)
    throwsNaming(() => new Server({ size: 1000 } as never), /"size"; use limits: \{ maxMessageBytes \}/)
    throwsNaming(() => new Server({ banner: 'hi' } as never), /"banner"; use greeting/)
    throwsNaming(() => new Server({ secure: true } as never), /"secure"; use listen\(\{ implicitTls: true \}\)/)
    for (const hook of ['onAuth', 'onMailFrom', 'onRcptTo', 'onConnect']) throwsNaming(() => new Server({ [hook]: () => {} } as never), new RegExp(`"${hook}"; use `))
    throwsNaming(() => new Server({ disabledCommands: ['AUTH'] } as never), /"disabledCommands"; /)
    throwsNaming(() => new Server({ hideSTARTTLS: true } as never), /"hideSTARTTLS"; /)
    throwsNaming(() => new Server({ limits: { maxMessageSize: 10 } } as never), /limits: unknown option "maxMessageSize"; use maxMessageBytes/)
  })

  test('unknown keys and wrong types are a TypeError naming the key, in every options object', () => {
    throwsNaming(() => new Server({ hostnmae: HOST } as never), /unknown option "hostnmae"; did you mean "hostname"\?/)
    throwsNaming(() => new Server({ pipelining: 'yes' } as never), /option "pipelining" must be boolean, got string/)
    throwsNaming(() => new Server({ limits: { maxRecipients: '5' } } as never), /limits: option "maxRecipients" must be number/)
    throwsNaming(() => new Server({ limits: { countLoopbackPerIp: 1 } } as never), /"countLoopbackPerIp" must be boolean/)
    throwsNaming(() => new Server({ tls: { key: serverKey, cert: serverCert, handshakeTimeout: 5 } } as never), /tls: unknown option "handshakeTimeout"/)
    throwsNaming(() => new Server({ proxyProtocol: { trusted: ['127.0.0.1'], timeout: 5 } } as never), /proxyProtocol: unknown option "timeout"; did you mean "timeoutMs"\?/)
    const server = new Server({ hostname: HOST })
    throwsNaming(() => server.handle(duplexPair()[0], { remoteAdress: '192.0.2.1' } as never), /handle\(\): unknown option "remoteAdress"/)
  })

  test('listen() checks its options the same way', async () => {
    const server = new Server({ hostname: HOST })
    await assert.rejects(server.listen({ port: 0, secure: true } as never), /listen\(\): unknown option "secure"; use implicitTls: true/)
    await assert.rejects(server.listen({ port: '25' } as never), /listen\(\): option "port" must be number/)
    await assert.rejects(server.listen({ path: '/tmp/x.sock', host: 'localhost' } as never), /listen\(\): unknown option "host"/)
  })
})

describe('connection limits', () => {
  test('answers connections over maxConnections with 421 4.7.0 and closes them', async (t) => {
    const { port, server } = await start(t, { limits: { maxConnections: 2 } })
    const first = await dial(t, { port })
    const second = await dial(t, { port })
    assert.equal(await first.client.reply(), `220 ${HOST} ESMTP ready`)
    assert.equal(await second.client.reply(), `220 ${HOST} ESMTP ready`)
    const third = await dial(t, { port })
    assert.equal(await third.client.reply(), `421 4.7.0 ${HOST} Too many connections, try again later`)
    await closedBy(third.socket)
    first.client.send('QUIT')
    await first.client.reply()
    await closedBy(first.socket)
    const signal = AbortSignal.timeout(2000)
    while (server.connectionCount > 1 && !signal.aborted) await new Promise((resolve) => setImmediate(resolve))
    const fourth = await dial(t, { port })
    assert.equal(await fourth.client.reply(), `220 ${HOST} ESMTP ready`)
  })

  test('answers connections over maxConnectionsPerIp with 421 4.7.0', async (t) => {
    const { port } = await start(t, { limits: { maxConnectionsPerIp: 1, countLoopbackPerIp: true } })
    const first = await dial(t, { port })
    assert.equal(await first.client.reply(), `220 ${HOST} ESMTP ready`)
    const second = await dial(t, { port })
    assert.equal(await second.client.reply(), `421 4.7.0 ${HOST} Too many connections from your address, try again later`)
    await closedBy(second.socket)
  })

  test('a refused client that keeps its side open is dropped after the refusal grace (2 s), on a Deadline', async (t) => {
    const { server, port } = await start(t, { limits: { maxConnectionsPerIp: 1, countLoopbackPerIp: true } })
    const first = await dial(t, { port })
    assert.equal(await first.client.reply(), `220 ${HOST} ESMTP ready`)
    // allowHalfOpen: the client does not answer the server's FIN with its own.
    const socket = netConnect({ host: '127.0.0.1', port, allowHalfOpen: true })
    t.after(() => socket.destroy())
    socket.on('error', () => {})
    await once(socket, 'connect')
    const client = new LineClient(socket)
    assert.match(await client.reply(), /^421 4\.7\.0 /)
    const refused = performance.now()
    await once(socket, 'end')
    // The server's close waits for the refused socket; the grace ends the wait, not the signal.
    await server.close({ signal: AbortSignal.timeout(10_000) })
    const heldMs = performance.now() - refused
    // Timers never fire early: the server held the half-open socket for the whole grace.
    assert.ok(heldMs >= 1500 && heldMs < 9000, `held for ${Math.round(heldMs)} ms`)
  })

  test('on an implicit TLS port, closes a connection over the limit without sending plain text', async (t) => {
    const server = new Server({ hostname: HOST, tls: { key: serverKey, cert: serverCert }, limits: { maxConnectionsPerIp: 1, countLoopbackPerIp: true } })
    const { port } = await server.listen({ host: '127.0.0.1', port: 0, implicitTls: true })
    t.after(() => server.close({ signal: AbortSignal.timeout(1000) }))
    const first = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' })
    t.after(() => first.destroy())
    await once(first, 'secureConnect', { signal: AbortSignal.timeout(5000) })
    const second = await dial(t, { port })
    let received = ''
    second.socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')))
    await closedBy(second.socket)
    assert.equal(received, '')
  })
})

describe('loopback and maxConnectionsPerIp', () => {
  test('loopback is not counted by default: more parallel connections than maxConnectionsPerIp are all served', async (t) => {
    const { port } = await start(t, { limits: { maxConnectionsPerIp: 2 } })
    const dialed = await Promise.all(Array.from({ length: 5 }, () => dial(t, { port })))
    for (const { client } of dialed) assert.equal(await client.reply(), `220 ${HOST} ESMTP ready`)
    for (const { client } of dialed) {
      client.send('NOOP')
      assert.equal(await client.reply(), '250 2.0.0 OK')
    }
  })

  test('countLoopbackPerIp counts loopback again', async (t) => {
    const { port } = await start(t, { limits: { maxConnectionsPerIp: 2, countLoopbackPerIp: true } })
    const dialed = await Promise.all(Array.from({ length: 3 }, () => dial(t, { port })))
    const replies = await Promise.all(dialed.map(({ client }) => client.reply()))
    assert.equal(replies.filter((reply) => reply === `220 ${HOST} ESMTP ready`).length, 2)
    assert.equal(replies.filter((reply) => reply.startsWith('421 4.7.0 ')).length, 1)
  })
})

describe('QUIT over TCP', () => {
  // Everything the server sent, and whether the connection ended with a FIN (not a reset).
  async function rawExchange(port: number, send: string): Promise<{ text: string; cleanEnd: boolean }> {
    const socket = netConnect({ host: '127.0.0.1', port })
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    let cleanEnd = false
    socket.once('end', () => (cleanEnd = true))
    socket.on('error', () => {})
    await once(socket, 'connect')
    socket.end(send)
    await once(socket, 'close')
    return { text: Buffer.concat(chunks).toString('latin1'), cleanEnd }
  }

  test('the 221 arrives whole, then a clean close, and the session is closed', async (t) => {
    let closed = 0
    const { port, errors } = await start(t, { newSession: () => ({ close: () => void closed++ }) })
    const { text, cleanEnd } = await rawExchange(port, 'EHLO client.example\r\nQUIT\r\n')
    assert.match(text, new RegExp(`\\r\\n221 2\\.0\\.0 ${HOST.replaceAll('.', '\\.')} closing connection\\r\\n$`))
    assert.equal(cleanEnd, true)
    for (let i = 0; i < 100 && closed === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.equal(closed, 1)
    assert.deepEqual(errors, [])
  })

  test('the server lets go of the connection at once, without waiting for the client to close its side', async (t) => {
    const { server, port } = await start(t)
    // allowHalfOpen: the client does not answer the server's FIN with its own.
    const socket = netConnect({ host: '127.0.0.1', port, allowHalfOpen: true })
    t.after(() => socket.destroy())
    socket.on('error', () => {})
    await once(socket, 'connect')
    const client = new LineClient(socket)
    await client.reply()
    client.send('QUIT')
    assert.match(await client.reply(), /^221 /)
    await once(socket, 'end')
    // The client keeps its side open. A graceful close would hold the connection until the client
    // closes or CLOSE_GRACE_MS (2 s) passes; QUIT on plain TCP releases it now.
    for (let i = 0; i < 100 && server.connectionCount > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.equal(server.connectionCount, 0)
    assert.equal(socket.writableEnded, false)
  })

  test('a closing connection whose peer keeps its side open is destroyed after the close grace (2 s), on the Deadline', async (t) => {
    const { server, port } = await start(t)
    const socket = netConnect({ host: '127.0.0.1', port, allowHalfOpen: true })
    t.after(() => socket.destroy())
    socket.on('error', () => {})
    await once(socket, 'connect')
    const client = new LineClient(socket)
    await client.reply()
    // Bytes after QUIT make the close a graceful one: the server ends its side and waits.
    socket.write('QUIT\r\nNOOP\r\n')
    assert.match(await client.reply(), /^221 /)
    const replied = performance.now()
    await once(socket, 'end')
    assert.equal(server.connectionCount, 1, 'the server waits for the peer to close')
    // The client never closes (nor learns that the server did): the grace is what ends it.
    for (let i = 0; i < 1000 && server.connectionCount > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    const heldMs = performance.now() - replied
    assert.equal(server.connectionCount, 0)
    assert.ok(heldMs >= 1500, `held for ${Math.round(heldMs)} ms`)
  })

  test('bytes pipelined after QUIT are read and dropped, and the 221 still arrives', async (t) => {
    const { port } = await start(t)
    const { text, cleanEnd } = await rawExchange(port, `QUIT\r\n${'NOOP\r\n'.repeat(2000)}`)
    assert.equal(text, `220 ${HOST} ESMTP ready\r\n221 2.0.0 ${HOST} closing connection\r\n`)
    assert.equal(cleanEnd, true)
  })
})

describe('graceful shutdown', () => {
  async function inTransaction(t: TestContext, port: number): Promise<{ socket: Socket; client: LineClient }> {
    const conn = await dial(t, { port })
    await conn.client.reply()
    for (const line of ['HELO client.example', 'MAIL FROM:<a@example.test>', 'RCPT TO:<b@example.test>', 'DATA']) {
      conn.client.send(line)
      await conn.client.reply()
    }
    conn.client.send('Subject: in flight')
    return conn
  }

  test('sends 421 4.3.2 to idle connections, lets a transaction finish, then resolves', async (t) => {
    const bodies: string[] = []
    const { server, port } = await start(t, { newSession: () => ({ data: async (m) => void bodies.push((await readAll(m)).toString()) }) })
    const idle = await dial(t, { port })
    await idle.client.reply()
    idle.client.send('EHLO client.example')
    await idle.client.reply()
    const busy = await inTransaction(t, port)
    const closing = server.close()
    assert.equal(await idle.client.reply(), `421 4.3.2 ${HOST} Service shutting down`)
    await closedBy(idle.socket)
    await assert.rejects(dial(t, { port }), { code: 'ECONNREFUSED' })
    busy.client.send('')
    busy.client.send('body')
    busy.client.send('.')
    assert.equal(await busy.client.reply(), '250 2.0.0 Message accepted')
    busy.client.send('NOOP')
    assert.equal(await busy.client.reply(), `421 4.3.2 ${HOST} Service shutting down`)
    await closing
    assert.equal(server.connectionCount, 0)
    assert.deepEqual(bodies, ['Subject: in flight\r\n\r\nbody\r\n'])
  })

  test('destroys connections still in flight when the signal aborts', async (t) => {
    const streamErrors: unknown[] = []
    const { server, port } = await start(t, {
      newSession: () => ({
        async data(message) {
          try {
            await readAll(message)
          } catch (error) {
            streamErrors.push(error)
            throw error
          }
        },
      }),
    })
    const busy = await inTransaction(t, port)
    const controller = new AbortController()
    const closing = server.close({ signal: controller.signal })
    controller.abort()
    await closing
    await closedBy(busy.socket)
    assert.equal(server.connectionCount, 0)
    assert.equal(streamErrors.length, 1)
  })

  test('handle() after close() destroys the stream at once', async () => {
    const server = new Server({ hostname: HOST })
    await server.close()
    const [a, b] = duplexPair()
    await server.handle(a)
    assert.equal(a.destroyed, true)
    b.destroy()
  })
})
