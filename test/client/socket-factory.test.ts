// The socket option, with an HTTP CONNECT proxy (RFC 9110 §9.3.6) written here: Client, Pool,
// sendMail and verify all reach the server through it.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect as netConnect, createServer, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { describe, test, type TestContext } from 'node:test'
import { Client } from '../../src/client/client.ts'
import type { SocketFactory } from '../../src/client/options.ts'
import { Pool } from '../../src/client/pool.ts'
import { sendMail } from '../../src/client/send-mail.ts'
import { verify } from '../../src/client/verify.ts'
import { startFakeServer } from './fake-smtp-server.ts'

/** A minimal HTTP CONNECT proxy on 127.0.0.1:0 that records each CONNECT target. */
async function startConnectProxy(t: TestContext): Promise<{ port: number; targets: string[] }> {
  const targets: string[] = []
  const sockets = new Set<Socket>()
  const proxy = createServer((client) => {
    sockets.add(client)
    client.on('error', () => {})
    let head = Buffer.alloc(0)
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) return
      client.off('data', onData)
      const [method, target] = head.subarray(0, end).toString('latin1').split(' ')
      if (method !== 'CONNECT' || !target) return void client.end('HTTP/1.1 405 Method Not Allowed\r\n\r\n')
      targets.push(target)
      const colon = target.lastIndexOf(':')
      const upstream = netConnect({ host: target.slice(0, colon), port: Number(target.slice(colon + 1)) }, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
        const rest = head.subarray(end + 4)
        if (rest.length > 0) upstream.write(rest)
        client.pipe(upstream).pipe(client)
      })
      sockets.add(upstream)
      upstream.on('error', () => client.destroy())
      client.on('close', () => upstream.destroy())
    }
    client.on('data', onData)
  })
  proxy.listen(0, '127.0.0.1')
  await once(proxy, 'listening')
  t.after(() => {
    for (const socket of sockets) socket.destroy()
    proxy.close()
  })
  return { port: (proxy.address() as { port: number }).port, targets }
}

/** The client side: a socket factory that asks the proxy at `proxyPort` to CONNECT. */
function httpConnectProxy(proxyPort: number): SocketFactory {
  return (target, signal) => new Promise<Duplex>((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port: proxyPort })
    const fail = (error: unknown): void => {
      socket.destroy()
      reject(error)
    }
    signal.addEventListener('abort', () => fail(signal.reason), { once: true })
    socket.on('error', fail)
    socket.once('connect', () => socket.write(`CONNECT ${target.host}:${target.port} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\n\r\n`))
    let head = Buffer.alloc(0)
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) return
      socket.off('data', onData)
      socket.off('error', fail)
      // Hold what comes next until the client listens.
      socket.pause()
      if (!/^HTTP\/1\.[01] 200 /.test(head.toString('latin1'))) return fail(new Error(`proxy refused: ${head.subarray(0, head.indexOf('\r\n')).toString('latin1')}`))
      // Bytes after the proxy's reply are the SMTP server's: hand them back to the stream.
      const rest = head.subarray(end + 4)
      if (rest.length > 0) socket.unshift(rest)
      resolve(socket)
    }
    socket.on('data', onData)
  })
}

describe('the socket option', () => {
  test('Client, Pool, sendMail and verify connect through an HTTP CONNECT proxy', async (t) => {
    const fake = await startFakeServer(t)
    const proxy = await startConnectProxy(t)
    const options = { host: '127.0.0.1', port: fake.port, tls: 'none' as const, localName: 'client.test', socket: httpConnectProxy(proxy.port) }
    const mail = { from: 'a@example.test', to: 'b@example.test', message: 'Subject: via proxy\r\n\r\nhi\r\n' }

    const client = await Client.connect(options)
    await client.send(mail)
    await client.quit()

    const pool = new Pool(options, { maxConnections: 2 })
    await Promise.all([pool.send(mail), pool.send(mail), pool.send(mail)])
    const checked = await pool.verify()
    await pool.close()

    await sendMail(options, mail)
    const result = await verify(options)

    assert.equal(result.greeting.code, 220)
    assert.ok(result.extensions.has('PIPELINING'))
    assert.equal(checked.authenticated, false)
    assert.equal(fake.messages.length, 5)
    assert.equal(proxy.targets.length, fake.sessions.length)
    assert.ok(proxy.targets.every((target) => target === `127.0.0.1:${fake.port}`))
  })

  test('a factory that never connects is bounded by the connect timeout', async () => {
    const never: SocketFactory = (_target, signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }))
    await assert.rejects(Client.connect({ host: 'mx.example.test', tls: 'none', socket: never, timeouts: { connect: 50 } }), (err: unknown) =>
      err instanceof DOMException && err.name === 'TimeoutError')
  })
})

describe('verify', () => {
  test('resolves with what the server offers and sends no message; a refused login rejects', async (t) => {
    const fake = await startFakeServer(t, {
      extensions: ['PIPELINING', 'AUTH PLAIN'],
      onCommand: (_s, line) => (line.startsWith('AUTH PLAIN') ? (line.endsWith(Buffer.from('\0u\0good').toString('base64')) ? '235 2.7.0 ok' : '535 5.7.8 no') : undefined),
    })
    const base = { host: '127.0.0.1', port: fake.port, localName: 'client.test', insecureAuthWithoutTls: true }
    const result = await verify({ ...base, auth: { username: 'u', password: 'good' } })
    assert.equal(result.authenticated, true)
    assert.equal(result.tls, undefined)
    assert.deepEqual(result.extensions.authMechanisms, ['PLAIN'])
    await assert.rejects(verify({ ...base, auth: { username: 'u', password: 'bad' } }), (err: unknown) => err instanceof Error && /535/.test(err.message))
    assert.equal(fake.commands('MAIL').length, 0)
    assert.deepEqual(fake.sessions[0]!.commands.map((c) => c.split(' ')[0]), ['EHLO', 'AUTH', 'QUIT'])
  })
})
