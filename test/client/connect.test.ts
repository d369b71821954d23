import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { describe, test, type TestContext } from 'node:test'
import { createSecureContext, createServer as createTlsServer, Server as TlsServer, TLSSocket } from 'node:tls'
import { Client } from '../../src/client/client.ts'
import { parseSmtpUrl, sendMail } from '../../src/client/send-mail.ts'
import { ClientError } from '../../src/client/errors.ts'
import { ca, selfSignedCert, selfSignedKey, serverCert, serverKey } from '../helpers/tls.ts'
import { playTranscript } from '../helpers/transcript.ts'

const greetAndEhlo = (...extensions: string[]): string => {
  const replies = ['mx.test', ...extensions]
  return ['S: 220 mx.test ESMTP', 'C: EHLO client.test', ...replies.map((r, i) => `S: 250${i === replies.length - 1 ? ' ' : '-'}${r}`)].join('\n')
}

/**
 * A loopback server that runs `handle` on each connection (the TLS socket for a TLS server).
 * `done` settles with the first connection's handler, so a test can await the server's side of
 * the script and see its failures.
 */
async function serve(t: TestContext, server: Server, handle: (socket: Socket) => Promise<void>): Promise<{ port: number; done: Promise<void> }> {
  const sockets = new Set<Socket>()
  let settle: (error?: unknown) => void = () => {}
  const done = new Promise<void>((resolve, reject) => {
    settle = (error) => (error === undefined ? resolve() : reject(error))
  })
  done.catch(() => {})
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
  })
  server.on(server instanceof TlsServer ? 'secureConnection' : 'connection', (socket: Socket) => {
    handle(socket).then(() => settle(), (err: unknown) => {
      settle(err)
      socket.destroy()
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => {
    for (const socket of sockets) socket.destroy()
    server.close()
  })
  return { port: (server.address() as AddressInfo).port, done }
}

/** Starts TLS as the server on a plaintext socket after it answered STARTTLS. */
function startTlsAsServer(socket: Socket, cert = serverCert, key = serverKey): TLSSocket {
  const secure = new TLSSocket(socket, { isServer: true, secureContext: createSecureContext({ cert, key }) })
  secure.on('error', () => {})
  return secure
}

describe('connecting', () => {
  test('upgrades with STARTTLS, verifies the certificate against the trusted CA, and EHLOs again', async (t) => {
    const { port, done } = await serve(t, createNetServer(), async (socket) => {
      await playTranscript(socket, `
        ${greetAndEhlo('PIPELINING', 'STARTTLS', 'AUTH PLAIN')}
        C: STARTTLS
        S: 220 2.0.0 go ahead
      `)
      const secure = startTlsAsServer(socket)
      await playTranscript(secure, `
        C: EHLO client.test
        S: 250-mx.test
        S: 250 AUTH PLAIN
        C: AUTH PLAIN ${Buffer.from('\0user\0pass').toString('base64')}
        S: 235 2.7.0 ok
        C: QUIT
        S: 221 bye
      `)
    })
    const client = await Client.connect({
      host: '127.0.0.1', port, tls: 'starttls', tlsOptions: { ca }, localName: 'client.test',
      auth: { username: 'user', password: 'pass' },
    })
    t.after(() => client.close())
    assert.equal(client.isTls, true)
    assert.equal(client.tlsState?.authorized, true)
    assert.equal(client.extensions.has('STARTTLS'), false)
    assert.equal(client.extensions.has('PIPELINING'), false, 'extensions from before TLS are forgotten')
    await client.quit()
    await done
  })

  test('discards replies the server sent before the TLS handshake (STARTTLS response injection)', async (t) => {
    const { port, done } = await serve(t, createNetServer(), async (socket) => {
      await playTranscript(socket, `
        ${greetAndEhlo('STARTTLS')}
        C: STARTTLS
        S: 220 2.0.0 go ahead
        S: 250-injected.test
        S: 250 INJECTED
      `)
      const secure = startTlsAsServer(socket)
      await playTranscript(secure, `
        C: EHLO client.test
        S: 250-mx.test
        S: 250 SIZE 1000
        C: QUIT
        S: 221 bye
      `)
    })
    const client = await Client.connect({ host: '127.0.0.1', port, tls: 'starttls', tlsOptions: { ca }, localName: 'client.test' })
    t.after(() => client.close())
    assert.equal(client.isTls, true)
    assert.equal(client.extensions.has('INJECTED'), false)
    assert.equal(client.extensions.maxSize, 1000)
    await client.quit()
    await done
  })

  test('with tls: starttls, a server without STARTTLS gets a clear error and nothing else', async (t) => {
    const { port, done } = await serve(t, createNetServer(), async (socket) => {
      await playTranscript(socket, `
        ${greetAndEhlo('PIPELINING', 'AUTH PLAIN')}
        --- expect-close
      `)
    })
    await assert.rejects(
      Client.connect({ host: '127.0.0.1', port, tls: 'starttls', localName: 'client.test', auth: { username: 'u', password: 'p' } }),
      (err: unknown) => err instanceof ClientError && err.code === 'ERR_SMTP_TLS_REQUIRED' && /does not offer STARTTLS/.test(err.message),
    )
    await done
  })

  test('with tls: opportunistic, goes on in plaintext when STARTTLS is not offered', async (t) => {
    const { port, done } = await serve(t, createNetServer(), async (socket) => {
      await playTranscript(socket, `
        ${greetAndEhlo('PIPELINING')}
        C: QUIT
        S: 221 bye
      `)
    })
    const client = await Client.connect({ host: '127.0.0.1', port, tls: 'opportunistic', localName: 'client.test' })
    t.after(() => client.close())
    assert.equal(client.isTls, false)
    await client.quit()
    await done
  })

  test('connects with implicit TLS', async (t) => {
    const { port, done } = await serve(t, createTlsServer({ cert: serverCert, key: serverKey }), async (socket) => {
      await playTranscript(socket, `
        ${greetAndEhlo('AUTH PLAIN')}
        C: QUIT
        S: 221 bye
      `)
    })
    const client = await Client.connect({ host: '127.0.0.1', port, tls: 'implicit', tlsOptions: { ca }, localName: 'client.test' })
    t.after(() => client.close())
    assert.equal(client.isTls, true)
    assert.equal(client.tlsState?.authorized, true)
    assert.match(client.tlsState?.protocol ?? '', /^TLSv1\.[23]$/)
    await client.quit()
    await done
  })

  test('a certificate that fails verification is an error naming the host and the reason', async (t) => {
    const { port } = await serve(t, createTlsServer({ cert: selfSignedCert, key: selfSignedKey }), async () => {})
    await assert.rejects(Client.connect({ host: '127.0.0.1', port, tls: 'implicit', tlsOptions: { ca } }), (err: unknown) => {
      assert.ok(err instanceof Error)
      assert.match(err.message, /^TLS certificate verification failed for 127\.0\.0\.1: .*self[- ]signed/i)
      assert.ok(err.cause instanceof Error)
      assert.equal((err as Error & { code?: string }).code, 'DEPTH_ZERO_SELF_SIGNED_CERT')
      return true
    })
  })

  test('implicit TLS checks the certificate against serverName when it is given, as STARTTLS does', async (t) => {
    const { port } = await serve(t, createTlsServer({ cert: serverCert, key: serverKey }), async () => {})
    // The certificate names 127.0.0.1 and mx.example.test, not other.example.
    await assert.rejects(Client.connect({ host: '127.0.0.1', port, serverName: 'other.example', tls: 'implicit', tlsOptions: { ca } }), (err: unknown) =>
      err instanceof Error && /^TLS certificate verification failed for other\.example/.test(err.message))
  })

  test('implicit TLS to a port nobody listens on is a connection error, not a TLS one', async () => {
    const closed = createNetServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const { port } = closed.address() as { port: number }
    await new Promise((resolve) => closed.close(resolve))
    await assert.rejects(Client.connect({ host: '127.0.0.1', port, tls: 'implicit', tlsOptions: { ca } }), (err: unknown) =>
      err instanceof Error && (err as Error & { code?: string }).code === 'ECONNREFUSED' && !/TLS/.test(err.message))
  })

  test('a certificate that fails verification after STARTTLS is an error naming the host', async (t) => {
    const { port } = await serve(t, createNetServer(), async (socket) => {
      await playTranscript(socket, `
        ${greetAndEhlo('STARTTLS')}
        C: STARTTLS
        S: 220 go ahead
      `)
      startTlsAsServer(socket, selfSignedCert, selfSignedKey)
    })
    await assert.rejects(Client.connect({ host: '127.0.0.1', port, tls: 'starttls', tlsOptions: { ca }, localName: 'client.test' }), (err: unknown) =>
      err instanceof Error && /^TLS certificate verification failed for 127\.0\.0\.1/.test(err.message))
  })

  test('insecureSkipTlsVerify accepts a certificate that does not verify', async (t) => {
    const { port } = await serve(t, createTlsServer({ cert: selfSignedCert, key: selfSignedKey }), async (socket) => {
      await playTranscript(socket, `
        ${greetAndEhlo()}
        C: QUIT
        S: 221 bye
      `)
    })
    const client = await Client.connect({ host: '127.0.0.1', port, tls: 'implicit', insecureSkipTlsVerify: true, localName: 'client.test' })
    t.after(() => client.close())
    assert.equal(client.tlsState?.authorized, false)
    await client.quit()
  })

  test('the signal aborts a connect that waits for a greeting, with its reason', async (t) => {
    const { port } = await serve(t, createNetServer(), async () => {})
    await assert.rejects(Client.connect({ host: '127.0.0.1', port, tls: 'none', signal: AbortSignal.timeout(100) }), (err: unknown) =>
      err instanceof DOMException && err.name === 'TimeoutError')
  })

  test('a refused connection rejects with the socket error', async () => {
    const closed = createNetServer()
    closed.listen(0, '127.0.0.1')
    await once(closed, 'listening')
    const freePort = (closed.address() as AddressInfo).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    await assert.rejects(Client.connect({ host: '127.0.0.1', port: freePort, tls: 'none' }), (err: unknown) => (err as { code?: string }).code === 'ECONNREFUSED')
  })

  test('connects over IPv6 loopback', async (t) => {
    const server = createNetServer()
    const failed = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(true))
      server.listen(0, '::1', () => resolve(false))
    })
    if (failed) return t.skip('no IPv6 loopback on this machine')
    t.after(() => server.close())
    server.on('connection', (socket) => {
      socket.on('error', () => {})
      void playTranscript(socket, `
        ${greetAndEhlo()}
        C: QUIT
        S: 221 bye
      `).catch(() => socket.destroy())
    })
    const client = await Client.connect({ host: '::1', port: (server.address() as AddressInfo).port, tls: 'none', localName: 'client.test' })
    t.after(() => client.close())
    await client.quit()
  })
})

describe('sendMail', () => {
  test('connects, authenticates over TLS, sends and quits in one call, with timings', async (t) => {
    const { port, done } = await serve(t, createTlsServer({ cert: serverCert, key: serverKey }), async (socket) => {
      await playTranscript(socket, `
        ${greetAndEhlo('PIPELINING', 'AUTH PLAIN')}
        C: AUTH PLAIN ${Buffer.from('\0user\0pass').toString('base64')}
        S: 235 ok
        C: MAIL FROM:<a@example.test>
        C: RCPT TO:<b@example.test>
        C: DATA
        S: 250 ok
        S: 250 ok
        S: 354 go
        C: hi
        C: .
        S: 250 queued as Z
        C: QUIT
        S: 221 bye
      `)
    })
    const result = await sendMail(
      { host: '127.0.0.1', port, tls: 'implicit', tlsOptions: { ca }, localName: 'client.test', auth: { username: 'user', password: 'pass' } },
      { from: 'a@example.test', to: 'b@example.test', message: 'hi' },
    )
    assert.deepEqual(result.accepted, ['b@example.test'])
    assert.deepEqual(result.reply.lines, ['queued as Z'])
    assert.ok(result.timings.totalMs >= result.timings.connectMs + result.timings.sendMs - 1)
    await done
  })

  test('takes the envelope and the SMTPUTF8/8-bit flags from a composed message', async (t) => {
    const { port, done } = await serve(t, createNetServer(), async (socket) => {
      await playTranscript(socket, `
        ${greetAndEhlo('8BITMIME', 'SMTPUTF8')}
        C: MAIL FROM:<a@example.test> BODY=8BITMIME SMTPUTF8
        S: 250 ok
        C: RCPT TO:<b@example.test>
        S: 250 ok
        C: RCPT TO:<c@example.test>
        S: 250 ok
        C: DATA
        S: 354 go
        C: hi
        C: .
        S: 250 ok
        C: QUIT
        S: 221 bye
      `)
    })
    const message = {
      envelope: () => ({ from: 'a@example.test', to: ['b@example.test', 'c@example.test'] }),
      smtpUtf8: true,
      eightBit: true,
      async *stream() { yield Buffer.from('hi\r\n') },
    }
    const result = await sendMail({ host: '127.0.0.1', port, tls: 'none', localName: 'client.test' }, { message })
    assert.deepEqual(result.accepted, ['b@example.test', 'c@example.test'])
    await done
  })

  test('parses smtp:// and smtps:// URLs into connect options', () => {
    assert.deepEqual(parseSmtpUrl('smtp://mx.example.test'), { host: 'mx.example.test', port: 25, tls: 'opportunistic' })
    assert.deepEqual(parseSmtpUrl('smtp://u%40x:p%3Aw@mail.example.test:587'), {
      host: 'mail.example.test', port: 587, tls: 'starttls', auth: { username: 'u@x', password: 'p:w' },
    })
    assert.deepEqual(parseSmtpUrl('smtps://mail.example.test'), { host: 'mail.example.test', port: 465, tls: 'implicit' })
    assert.deepEqual(parseSmtpUrl('smtp://[::1]:2525'), { host: '::1', port: 2525, tls: 'opportunistic' })
    assert.throws(() => parseSmtpUrl('http://x.test'), TypeError)
  })
})
