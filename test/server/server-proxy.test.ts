// The PROXY protocol as the server uses it (the `proxyProtocol` option): loopback connections
// from a "proxy" that writes a version 1 or 2 header, then speaks SMTP for its client.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect as netConnect, type Socket } from 'node:net'
import { duplexPair } from 'node:stream'
import { describe, test, type TestContext } from 'node:test'
import { connect as tlsConnect } from 'node:tls'
import { ProtocolError } from '../../src/protocol/errors.ts'
import { formatReceivedHeader, parseProxySslTlv, proxyTlvTypes, Server, type ConnectionInfo, type ServerOptions } from '../../src/server/index.ts'
import { ca, serverCert, serverKey } from '../helpers/tls.ts'
import { HOST, LineClient } from './harness.ts'

const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex')

/** A version 2 header: PROXY over TCP6 (family 0x21) or LOCAL (0x20, no addresses). */
function v2Tcp6(source: string, destination: string, sourcePort: number, destinationPort: number): Buffer {
  const fixed = Buffer.from([0x21, 0x21, 0, 36])
  const addresses = Buffer.alloc(36)
  Buffer.from(source, 'hex').copy(addresses, 0)
  Buffer.from(destination, 'hex').copy(addresses, 16)
  addresses.writeUInt16BE(sourcePort, 32)
  addresses.writeUInt16BE(destinationPort, 34)
  return Buffer.concat([V2_SIGNATURE, fixed, addresses])
}

/** A version 2 PROXY header for a client on a Unix socket (family 0x31): raw path bytes, NUL-padded. */
function v2Unix(source: Buffer | string, destination = '/run/smtp.sock'): Buffer {
  const addresses = Buffer.alloc(216)
  Buffer.from(source).copy(addresses, 0)
  Buffer.from(destination).copy(addresses, 108)
  return Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x31, 0, 216]), addresses])
}

const V2_LOCAL = Buffer.concat([V2_SIGNATURE, Buffer.from([0x20, 0x00, 0, 0])])

interface Started {
  server: Server
  port: number
  conns: ConnectionInfo[]
  errors: unknown[]
  received: string[]
}

async function start(t: TestContext, options: ServerOptions = {}, implicitTls = false): Promise<Started> {
  const conns: ConnectionInfo[] = []
  const errors: unknown[] = []
  const received: string[] = []
  const server = new Server({
    hostname: HOST,
    tls: { key: serverKey, cert: serverCert },
    proxyProtocol: { trusted: ['127.0.0.0/8', '::1'] },
    onError: (error) => errors.push(error),
    newSession: (conn) => {
      conns.push(conn)
      return {
        async data(message, envelope) {
          message.resume()
          received.push(formatReceivedHeader({ hostname: HOST, conn, envelope, date: new Date(0) }))
        },
      }
    },
    ...options,
  })
  const { port } = await server.listen({ host: '127.0.0.1', port: 0, implicitTls })
  t.after(() => server.close({ signal: AbortSignal.timeout(1000) }))
  return { server, port, conns, errors, received }
}

async function dial(t: TestContext, port: number): Promise<Socket> {
  const socket = netConnect({ host: '127.0.0.1', port })
  socket.on('error', () => {})
  t.after(() => socket.destroy())
  await once(socket, 'connect')
  return socket
}

/** Everything the server sends until it closes the connection. */
async function untilClosed(socket: Socket): Promise<string> {
  let text = ''
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')))
  if (!socket.destroyed && !socket.readableEnded) await once(socket, 'close', { signal: AbortSignal.timeout(5000) })
  return text
}

async function sendMessage(client: LineClient): Promise<void> {
  assert.match(await client.reply(), /^220 /)
  client.send('EHLO client.example')
  assert.match(await client.reply(), /^250-/)
  client.send('MAIL FROM:<a@example.test>')
  assert.equal(await client.reply(), '250 2.1.0 Sender OK')
  client.send('RCPT TO:<b@example.test>')
  assert.equal(await client.reply(), '250 2.1.5 Recipient OK')
  client.send('DATA')
  assert.match(await client.reply(), /^354 /)
  client.send('Subject: hi\r\n\r\nhello\r\n.')
  assert.equal(await client.reply(), '250 2.0.0 Message accepted')
}

describe('proxyProtocol option', () => {
  test('a version 1 header gives the session the client address, in ConnectionInfo and the Received header', async (t) => {
    const s = await start(t)
    const socket = await dial(t, s.port)
    socket.write('PROXY TCP4 203.0.113.9 198.51.100.25 51000 25\r\n')
    await sendMessage(new LineClient(socket))
    const conn = s.conns[0]!
    assert.deepEqual(
      [conn.remoteAddress, conn.remotePort, conn.localAddress, conn.localPort],
      ['203.0.113.9', 51000, '198.51.100.25', 25],
    )
    assert.match(s.received[0]!, /^Received: from client\.example \(\[203\.0\.113\.9\]\)\r\n/)
    assert.deepEqual(s.errors, [])
  })

  test('a version 2 TCP6 header sent together with the first command is read, and the command still runs', async (t) => {
    const s = await start(t)
    const socket = await dial(t, s.port)
    const client = new LineClient(socket)
    // Header and NOOP in one write: the bytes after the header belong to SMTP.
    socket.write(Buffer.concat([v2Tcp6('20010db8000000000000000000000001', '20010db8000000000000000000000019', 40001, 587), Buffer.from('NOOP\r\n')]))
    assert.match(await client.reply(), /^220 /)
    assert.equal(await client.reply(), '250 2.0.0 OK')
    client.send('QUIT')
    await client.reply()
    const conn = s.conns[0]!
    assert.deepEqual([conn.remoteAddress, conn.remotePort, conn.localAddress, conn.localPort], ['2001:db8::1', 40001, '2001:db8::19', 587])
  })

  test('the header and its TLVs are on ConnectionInfo.proxy: the authority and the TLS the client used with the proxy', async (t) => {
    const s = await start(t)
    const socket = await dial(t, s.port)
    const client = new LineClient(socket)
    const tlv = (type: number, value: Buffer): Buffer => Buffer.concat([Buffer.from([type, value.length >> 8, value.length & 0xff]), value])
    // PP2_TYPE_SSL: client flags 0x01 (TLS), verify 0, then a PP2_SUBTYPE_SSL_VERSION sub-TLV.
    const ssl = tlv(proxyTlvTypes.SSL, Buffer.concat([Buffer.from([0x01, 0, 0, 0, 0]), tlv(0x21, Buffer.from('TLSv1.3'))]))
    const tlvs = Buffer.concat([tlv(proxyTlvTypes.AUTHORITY, Buffer.from('mail.example.test')), ssl])
    const base = v2Tcp6('20010db8000000000000000000000001', '20010db8000000000000000000000019', 40001, 465)
    base.writeUInt16BE(36 + tlvs.length, 14)
    socket.write(Buffer.concat([base, tlvs]))
    assert.match(await client.reply(), /^220 /)
    client.send('QUIT')
    await client.reply()
    const proxy = s.conns[0]!.proxy!
    assert.deepEqual([proxy.version, proxy.command, proxy.family, proxy.sourceAddress], [2, 'PROXY', 'TCP6', '2001:db8::1'])
    assert.deepEqual(proxy.tlvs.map((t) => t.type), [proxyTlvTypes.AUTHORITY, proxyTlvTypes.SSL])
    assert.equal(proxy.tlvs[0]!.value.toString(), 'mail.example.test')
    const info = parseProxySslTlv(proxy.tlvs[1]!.value)
    assert.deepEqual([info.client, info.verify, info.tlvs[0]!.type, info.tlvs[0]!.value.toString()], [1, 0, 0x21, 'TLSv1.3'])
  })

  test('without the proxyProtocol option ConnectionInfo.proxy is undefined', async (t) => {
    const conns: ConnectionInfo[] = []
    const server = new Server({ hostname: HOST, newSession: (conn) => (conns.push(conn), {}) })
    const { port } = await server.listen({ host: '127.0.0.1', port: 0 })
    t.after(() => server.close({ signal: AbortSignal.timeout(1000) }))
    const client = new LineClient(await dial(t, port))
    assert.match(await client.reply(), /^220 /)
    client.send('QUIT')
    await client.reply()
    assert.equal(conns[0]!.proxy, undefined)
  })

  test('LOCAL (a health check) and UNKNOWN keep the socket’s own addresses', async (t) => {
    const s = await start(t)
    for (const header of [V2_LOCAL, Buffer.from('PROXY UNKNOWN\r\n')]) {
      const socket = await dial(t, s.port)
      const client = new LineClient(socket)
      socket.write(header)
      assert.match(await client.reply(), /^220 /)
      client.send('QUIT')
      await client.reply()
    }
    assert.equal(s.conns.length, 2)
    for (const conn of s.conns) {
      assert.equal(conn.remoteAddress, '127.0.0.1')
      assert.notEqual(conn.remotePort, 0)
      assert.equal(conn.localPort, s.port)
    }
  })

  test('a connection from an address not in trusted is closed without a greeting', async (t) => {
    const s = await start(t, { proxyProtocol: { trusted: ['10.0.0.0/8'] } })
    const socket = await dial(t, s.port)
    socket.write('PROXY TCP4 203.0.113.9 198.51.100.25 51000 25\r\n')
    assert.equal(await untilClosed(socket), '')
    assert.equal(s.conns.length, 0)
    assert.match(String(s.errors[0]), /not a trusted PROXY protocol proxy/)
  })

  test('a malformed header closes the connection without a greeting and goes to onError', async (t) => {
    const s = await start(t)
    for (const bad of ['EHLO client.example\r\n', 'PROXY TCP4 203.0.113.9 198.51.100.25 51000\r\n', 'PROXY TCP4 203.0.113.9 198.51.100.25 51000 25\n']) {
      const socket = await dial(t, s.port)
      socket.write(bad)
      assert.equal(await untilClosed(socket), '', `no greeting after ${JSON.stringify(bad)}`)
    }
    assert.equal(s.conns.length, 0)
    assert.equal(s.errors.length, 3)
    for (const error of s.errors) assert.ok(error instanceof ProtocolError && error.code === 'ERR_SMTP_PROXY_HEADER', String(error))
  })

  test('a header that does not arrive within timeoutMs closes the connection and goes to onError', async (t) => {
    const s = await start(t, { proxyProtocol: { trusted: ['127.0.0.1'], timeoutMs: 100 } })
    const socket = await dial(t, s.port)
    socket.write('PROXY TCP4 203.0.113.9')
    assert.equal(await untilClosed(socket), '')
    assert.equal((s.errors[0] as Error).name, 'TimeoutError')
    assert.equal(s.conns.length, 0)
  })

  test('a proxy that connects and closes (a TCP health check) does not reach onError', async (t) => {
    const s = await start(t)
    const socket = await dial(t, s.port)
    socket.end()
    await untilClosed(socket)
    await s.server.close({ signal: AbortSignal.timeout(1000) })
    assert.deepEqual(s.errors, [])
  })

  test('with implicit TLS the header comes first, then the handshake, and the session sees both', async (t) => {
    const s = await start(t, {}, true)
    const socket = await dial(t, s.port)
    socket.write('PROXY TCP4 203.0.113.9 198.51.100.25 51000 465\r\n')
    const secure = tlsConnect({ socket, ca, servername: 'localhost' })
    secure.on('error', () => {})
    t.after(() => secure.destroy())
    await once(secure, 'secureConnect', { signal: AbortSignal.timeout(5000) })
    await sendMessage(new LineClient(secure))
    const conn = s.conns[0]!
    assert.equal(conn.remoteAddress, '203.0.113.9')
    assert.equal(conn.isTls, true)
    assert.match(s.received[0]!, /\[203\.0\.113\.9\][\s\S]* with ESMTPS /)
  })

  test('with implicit TLS, a ClientHello in the same packet as the header reaches the handshake', async (t) => {
    const s = await start(t, {}, true)
    const raw = await dial(t, s.port)
    const [tlsSide, wireSide] = duplexPair()
    const secure = tlsConnect({ socket: tlsSide, ca, servername: 'localhost' })
    secure.on('error', () => {})
    t.after(() => secure.destroy())
    const [hello] = (await once(wireSide, 'data', { signal: AbortSignal.timeout(5000) })) as [Buffer]
    raw.write(Buffer.concat([Buffer.from('PROXY TCP4 203.0.113.9 198.51.100.25 51000 465\r\n'), hello]))
    wireSide.pipe(raw)
    raw.pipe(wireSide)
    await once(secure, 'secureConnect', { signal: AbortSignal.timeout(5000) })
    await sendMessage(new LineClient(secure))
    assert.equal(s.conns[0]!.remoteAddress, '203.0.113.9')
  })

  test('maxConnectionsPerIp counts the client named in the header, not the proxy', async (t) => {
    const s = await start(t, { limits: { maxConnectionsPerIp: 1 } })
    const open = async (client: string): Promise<{ socket: Socket; line: LineClient }> => {
      const socket = await dial(t, s.port)
      const line = new LineClient(socket)
      socket.write(`PROXY TCP4 ${client} 198.51.100.25 51000 25\r\n`)
      return { socket, line }
    }
    // Two clients through the one proxy address: both served.
    const first = await open('203.0.113.1')
    const second = await open('203.0.113.2')
    assert.match(await first.line.reply(), /^220 /)
    assert.match(await second.line.reply(), /^220 /)
    // A second connection from the first client is refused once its header is read.
    const third = await open('203.0.113.1')
    assert.equal(await third.line.reply(), `421 4.7.0 ${HOST} Too many connections from your address, try again later`)
    await untilClosed(third.socket)
    // When the first client leaves, it may connect again.
    first.line.send('QUIT')
    await first.line.reply()
    await untilClosed(first.socket)
    const signal = AbortSignal.timeout(2000)
    while (s.server.connectionCount > 1 && !signal.aborted) await new Promise((resolve) => setImmediate(resolve))
    const fourth = await open('203.0.113.1')
    assert.match(await fourth.line.reply(), /^220 /)
  })

  test('a Unix socket path with CR LF in a version 2 header cannot add header lines to Received:', async (t) => {
    const s = await start(t)
    const socket = await dial(t, s.port)
    socket.write(v2Unix('/tmp/x\r\nX-Injected-Header: yes\r\n\\'))
    await sendMessage(new LineClient(socket))
    const conn = s.conns[0]!
    assert.equal(conn.remoteAddress, '/tmp/x\\x0d\\x0aX-Injected-Header:\\x20yes\\x0d\\x0a\\x5c')
    assert.doesNotMatch(s.received[0]!, /\r\nX-Injected-Header/)
    assert.equal(s.received[0]!.split('\r\n').filter((line) => line !== '' && !/^\t/.test(line)).length, 1)
  })

  test('every client behind a Unix socket counts under one key for maxConnectionsPerIp, whatever its path', async (t) => {
    const s = await start(t, { limits: { maxConnectionsPerIp: 1 } })
    const first = await dial(t, s.port)
    const firstLine = new LineClient(first)
    first.write(v2Unix(''))
    assert.match(await firstLine.reply(), /^220 /)
    for (const path of ['', '/run/other.sock']) {
      const socket = await dial(t, s.port)
      const line = new LineClient(socket)
      socket.write(v2Unix(path))
      assert.equal(await line.reply(), `421 4.7.0 ${HOST} Too many connections from your address, try again later`)
      await untilClosed(socket)
    }
  })

  test('refuses a proxyProtocol option without trusted proxies', () => {
    assert.throws(() => new Server({ proxyProtocol: { trusted: [] } }), TypeError)
    assert.throws(() => new Server({ proxyProtocol: { trusted: ['not an ip'] } }), TypeError)
  })
})
