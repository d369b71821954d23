import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect as netConnect, type Socket } from 'node:net'
import { describe, test, type TestContext } from 'node:test'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import { Server, type ConnectionInfo, type ServerOptions } from '../../src/server/index.ts'
import { ca, serverCert, serverKey } from '../helpers/tls.ts'
import { HOST, LineClient } from './harness.ts'

async function start(t: TestContext, options: ServerOptions = {}, implicitTls = false) {
  const conns: ConnectionInfo[] = []
  const errors: unknown[] = []
  const server = new Server({
    hostname: HOST,
    tls: { key: serverKey, cert: serverCert },
    onError: (error) => errors.push(error),
    newSession: (conn) => {
      conns.push(conn)
      return {}
    },
    ...options,
  })
  const { port } = await server.listen({ host: '127.0.0.1', port: 0, implicitTls })
  t.after(() => server.close({ signal: AbortSignal.timeout(1000) }))
  return { server, port, conns, errors }
}

async function dial(t: TestContext, port: number): Promise<Socket> {
  const socket = netConnect({ host: '127.0.0.1', port })
  t.after(() => socket.destroy())
  await once(socket, 'connect')
  return socket
}

async function secure(t: TestContext, socket: Socket | undefined, port: number): Promise<TLSSocket> {
  const tls = tlsConnect({ ...(socket ? { socket } : { host: '127.0.0.1', port }), ca, servername: 'localhost' })
  t.after(() => tls.destroy())
  await once(tls, 'secureConnect')
  return tls
}

describe('STARTTLS (RFC 3207)', () => {
  test('discards commands pipelined after STARTTLS and requires a new EHLO', async (t) => {
    const { port, conns } = await start(t, { auth: () => true })
    const socket = await dial(t, port)
    const plain = new LineClient(socket)
    assert.equal(await plain.reply(), `220 ${HOST} ESMTP ready`)
    plain.send('EHLO client.example')
    const ehlo = await plain.reply()
    assert.match(ehlo, /\r\n250-STARTTLS\r\n|250 STARTTLS$/)
    assert.doesNotMatch(ehlo, /AUTH/)
    plain.send('MAIL FROM:<a@example.test>')
    assert.equal(await plain.reply(), '250 2.1.0 Sender OK')
    plain.send('RSET')
    assert.equal(await plain.reply(), '250 2.0.0 OK')
    // One write: the RSET rides in the same packet as STARTTLS, the CVE-2011-0411 pattern.
    socket.write('STARTTLS\r\nRSET\r\n')
    assert.equal(await plain.reply(), '220 2.0.0 Ready to start TLS')
    assert.equal(plain.pending, '')
    plain.detach()
    const tls = await secure(t, socket, port)
    const client = new LineClient(tls)
    client.send('MAIL FROM:<a@example.test>')
    assert.equal(await client.reply(), '503 5.5.1 Send EHLO/HELO first')
    client.send('EHLO client.example')
    const secured = await client.reply()
    assert.doesNotMatch(secured, /STARTTLS/)
    assert.match(secured, /250 AUTH PLAIN LOGIN$/)
    client.send('STARTTLS')
    assert.equal(await client.reply(), '503 5.5.1 Already using TLS')
    assert.equal(conns[0]!.isTls, true)
    assert.equal(conns[0]!.helo, 'client.example')
    assert.match(conns[0]!.tls!.protocol ?? '', /^TLSv1\.[23]$/)
    assert.ok(conns[0]!.tls!.cipher.length > 0)
  })

  test('each connection gets the EHLO reply of its own TLS state, whatever another connection had', async (t) => {
    const { port } = await start(t, { auth: () => true })
    const ehlo = async (client: LineClient): Promise<string> => {
      client.send('EHLO client.example')
      return client.reply()
    }
    const first = await dial(t, port)
    const plainFirst = new LineClient(first)
    await plainFirst.reply()
    assert.doesNotMatch(await ehlo(plainFirst), /AUTH/)
    plainFirst.send('STARTTLS')
    assert.equal(await plainFirst.reply(), '220 2.0.0 Ready to start TLS')
    plainFirst.detach()
    const secured = await ehlo(new LineClient(await secure(t, first, port)))
    assert.match(secured, /250 AUTH PLAIN LOGIN$/)
    assert.doesNotMatch(secured, /STARTTLS/)
    // A plain connection after the TLS one still gets STARTTLS offered and no AUTH.
    const second = new LineClient(await dial(t, port))
    await second.reply()
    const plain = await ehlo(second)
    assert.match(plain, /\r\n250-STARTTLS\r\n|250 STARTTLS$/)
    assert.doesNotMatch(plain, /AUTH/)
  })

  test('refuses client-initiated TLS renegotiation after STARTTLS', async (t) => {
    const { port } = await start(t)
    const socket = await dial(t, port)
    const plain = new LineClient(socket)
    assert.equal(await plain.reply(), `220 ${HOST} ESMTP ready`)
    plain.send('EHLO client.example')
    await plain.reply()
    plain.send('STARTTLS')
    assert.equal(await plain.reply(), '220 2.0.0 Ready to start TLS')
    plain.detach()
    // TLS 1.3 has no renegotiation; 1.2 does, and each one costs the server a handshake.
    const tls = tlsConnect({ socket, ca, servername: 'localhost', maxVersion: 'TLSv1.2' })
    t.after(() => tls.destroy())
    await once(tls, 'secureConnect')
    tls.resume()
    const outcome = await new Promise<Error | null | 'no answer'>((resolve) => {
      const timer = setTimeout(() => resolve('no answer'), 5000)
      const settle = (value: Error | null): void => {
        clearTimeout(timer)
        resolve(value)
      }
      if (!tls.renegotiate({}, (error) => settle(error ?? null))) settle(new Error('renegotiate() refused locally'))
      tls.once('error', settle)
      tls.once('close', () => settle(new Error('closed')))
    })
    assert.ok(outcome instanceof Error, `the renegotiation must be refused, got ${String(outcome)}`)
  })

  test('refuses STARTTLS before EHLO, after a plain HELO, with arguments, or inside a transaction', async (t) => {
    const { port } = await start(t)
    const client = new LineClient(await dial(t, port))
    await client.reply()
    client.send('STARTTLS')
    assert.equal(await client.reply(), '503 5.5.1 Send EHLO/HELO first')
    client.send('HELO client.example')
    await client.reply()
    // HELO offers no extensions (RFC 5321 §2.2.1), STARTTLS among them.
    client.send('STARTTLS')
    assert.equal(await client.reply(), '503 5.5.1 Not offered after HELO: send EHLO to use extensions')
    client.send('EHLO client.example')
    await client.reply()
    client.send('STARTTLS now')
    assert.equal(await client.reply(), '501 5.5.4 Syntax: STARTTLS (no parameters)')
    client.send('MAIL FROM:<a@example.test>')
    await client.reply()
    client.send('STARTTLS')
    assert.equal(await client.reply(), '503 5.5.1 Not allowed during a mail transaction')
  })

  test('requireTls lets mail through once TLS is up', async (t) => {
    const { port } = await start(t, { requireTls: true })
    const socket = await dial(t, port)
    const plain = new LineClient(socket)
    await plain.reply()
    plain.send('EHLO client.example')
    await plain.reply()
    plain.send('MAIL FROM:<a@example.test>')
    assert.equal(await plain.reply(), '530 5.7.0 Must issue a STARTTLS command first')
    plain.send('STARTTLS')
    assert.equal(await plain.reply(), '220 2.0.0 Ready to start TLS')
    plain.detach()
    const client = new LineClient(await secure(t, socket, port))
    client.send('HELO client.example')
    await client.reply()
    client.send('MAIL FROM:<a@example.test>')
    assert.equal(await client.reply(), '250 2.1.0 Sender OK')
  })

  test('a failed handshake closes that connection and the server goes on', async (t) => {
    const { port } = await start(t)
    const socket = await dial(t, port)
    const plain = new LineClient(socket)
    await plain.reply()
    plain.send('EHLO client.example')
    await plain.reply()
    plain.send('STARTTLS')
    assert.equal(await plain.reply(), '220 2.0.0 Ready to start TLS')
    socket.write('this is not a TLS ClientHello\r\n')
    await once(socket, 'close')
    const other = new LineClient(await dial(t, port))
    assert.equal(await other.reply(), `220 ${HOST} ESMTP ready`)
  })
})

describe('implicit TLS (RFC 8314)', () => {
  test('greets only after the handshake, and offers AUTH but not STARTTLS', async (t) => {
    const { port, conns } = await start(t, { auth: () => true }, true)
    const client = new LineClient(await secure(t, undefined, port))
    assert.equal(await client.reply(), `220 ${HOST} ESMTP ready`)
    client.send('EHLO client.example')
    const ehlo = await client.reply()
    assert.doesNotMatch(ehlo, /STARTTLS/)
    assert.match(ehlo, /AUTH PLAIN LOGIN/)
    assert.equal(conns[0]!.isTls, true)
  })

  test('listen with implicitTls needs the tls option', async () => {
    const server = new Server({ hostname: HOST })
    await assert.rejects(server.listen({ implicitTls: true }), TypeError)
    await server.close()
  })
})
