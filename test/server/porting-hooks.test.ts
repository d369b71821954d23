// What smtp-server users bring along: per-session EHLO choices, an identity object from auth,
// a hook after the TLS handshake, XCLIENT from trusted proxies, and optional reverse DNS.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect as netConnect } from 'node:net'
import { describe, test } from 'node:test'
import { connect as tlsConnect } from 'node:tls'
import { SmtpError } from '../../src/protocol/errors.ts'
import { formatReceivedHeader, Server, type ConnectionInfo } from '../../src/server/index.ts'
import { ca, serverCert, serverKey } from '../helpers/tls.ts'
import { EHLO_REPLY, HOST, LineClient, connect, ehloReplyWith } from './harness.ts'

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64')

describe('Session.extensions: what EHLO offers, per session', () => {
  test('a session that leaves out STARTTLS and AUTH gets neither advertised nor accepted', async (t) => {
    const h = connect(t, {
      tls: { key: serverKey, cert: serverCert },
      auth: () => true,
      insecureAuthWithoutTls: true,
      newSession: () => ({ extensions: (offered) => offered.filter((keyword) => keyword !== 'STARTTLS' && !keyword.startsWith('AUTH ')) }),
    })
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: EHLO client.example
      ${EHLO_REPLY}
      C: STARTTLS
      S: 502 5.5.1 STARTTLS not available
      C: AUTH PLAIN ${b64('\0bob\0secret')}
      S: 502 5.5.1 AUTH not available
      C: MAIL FROM:<a@example.test> AUTH=<>
      S: 555 5.5.4 Parameter not supported: it needs AUTH, which is not offered
    `)
  })

  test('a session that leaves out CHUNKING, DSN and SIZE-related nothing: BDAT and DSN parameters are refused', async (t) => {
    const h = connect(t, { newSession: () => ({ extensions: (offered) => offered.filter((keyword) => keyword !== 'CHUNKING' && keyword !== 'BINARYMIME' && keyword !== 'DSN') }) })
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: EHLO client.example
      S: 250-${HOST}
      S: 250-PIPELINING
      S: 250-SIZE 26214400
      S: 250-8BITMIME
      S: 250-SMTPUTF8
      S: 250 ENHANCEDSTATUSCODES
      C: MAIL FROM:<a@example.test> RET=HDRS
      S: 555 5.5.4 Parameter not supported: it needs DSN, which is not offered
      C: MAIL FROM:<a@example.test>
      S: 250 2.1.0 Sender OK
      C: RCPT TO:<b@example.test> NOTIFY=NEVER
      S: 555 5.5.4 Parameter not supported: it needs DSN, which is not offered
      C: RCPT TO:<b@example.test>
      S: 250 2.1.5 Recipient OK
      C: BDAT 1 LAST
      C: x\\
      S: 502 5.5.1 BDAT not available
    `)
  })

  test('a hook that returns something other than an array is a mistake: 451 4.3.0, and onError says what it returned', async (t) => {
    // An object, as a hook mixing up the shape might return: read as "offer nothing", the
    // client would lose every extension without anyone being told.
    const h = connect(t, { newSession: () => ({ extensions: () => ({ STARTTLS: false }) as unknown as string[] }) })
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: EHLO client.example
      S: 451 4.3.0 Local error in processing
    `)
    assert.equal(h.errors.length, 1)
    assert.ok(h.errors[0] instanceof TypeError)
    assert.match((h.errors[0] as Error).message, /extensions hook must return an array of keywords, got object/)
  })
})

describe('auth hook identity objects', () => {
  test('{ identity, user } keeps user on ConnectionInfo.user until STARTTLS or the end', async (t) => {
    let seen: ConnectionInfo | undefined
    const h = connect(t, {
      auth: (request) => (request.mechanism === 'PLAIN' && request.password === 'secret' ? { identity: request.username, user: { id: 7, roles: ['sender'] } } : false),
      insecureAuthWithoutTls: true,
      newSession: (conn) => ({ mail: () => void (seen = conn) }),
    })
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: EHLO client.example
      ${ehloReplyWith('AUTH PLAIN LOGIN')}
      C: AUTH PLAIN ${b64('\0bob\0secret')}
      S: 235 2.7.0 Authentication successful
      C: MAIL FROM:<bob@example.test>
      S: 250 2.1.0 Sender OK
    `)
    assert.equal(seen?.authenticatedAs, 'bob')
    assert.deepEqual(seen?.user, { id: 7, roles: ['sender'] })
  })
})

describe('afterTls', () => {
  test('may refuse a client after STARTTLS: its reply goes over TLS and the connection closes', async (t) => {
    const server = new Server({
      hostname: HOST,
      tls: { key: serverKey, cert: serverCert },
      onError: () => {},
      afterTls: (conn) => {
        assert.equal(conn.isTls, true)
        throw new SmtpError(554, '5.7.1', 'Client certificate required')
      },
    })
    const { port } = await server.listen({ host: '127.0.0.1', port: 0 })
    t.after(() => server.close({ signal: AbortSignal.timeout(1000) }))
    const socket = netConnect({ host: '127.0.0.1', port })
    t.after(() => socket.destroy())
    await once(socket, 'connect')
    const plain = new LineClient(socket)
    await plain.reply()
    plain.send('EHLO client.example')
    await plain.reply()
    plain.send('STARTTLS')
    assert.equal(await plain.reply(), '220 2.0.0 Ready to start TLS')
    plain.detach()
    const tls = tlsConnect({ socket, ca, servername: 'localhost' })
    t.after(() => tls.destroy())
    tls.on('error', () => {})
    await once(tls, 'secureConnect')
    const client = new LineClient(tls)
    assert.equal(await client.reply(), '554 5.7.1 Client certificate required')
    if (!tls.destroyed && !tls.readableEnded) await once(tls, 'close')
  })

  test('with implicit TLS, a refusal replaces the greeting; a hook that returns lets the client in', async (t) => {
    let refuse = true
    const server = new Server({
      hostname: HOST,
      tls: { key: serverKey, cert: serverCert },
      onError: () => {},
      afterTls: () => {
        if (refuse) throw new SmtpError(554, '5.7.1', 'Not you')
      },
    })
    const { port } = await server.listen({ host: '127.0.0.1', port: 0, implicitTls: true })
    t.after(() => server.close({ signal: AbortSignal.timeout(1000) }))
    for (const expected of ['554 5.7.1 Not you', `220 ${HOST} ESMTP ready`]) {
      const tls = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' })
      t.after(() => tls.destroy())
      tls.on('error', () => {})
      assert.equal(await new LineClient(tls).reply(), expected)
      refuse = false
    }
  })
})

describe('XCLIENT', () => {
  test('a trusted client sets the address, name and login that the session and Received: see, and gets a new greeting', async (t) => {
    let seen: ConnectionInfo | undefined
    let received = ''
    const h = connect(t, {
      xclient: { trusted: ['192.0.2.0/24'] },
      newSession: (conn) => ({
        async data(message, envelope) {
          seen = conn
          message.resume()
          received = formatReceivedHeader({ hostname: HOST, conn, envelope, date: new Date(0) })
        },
      }),
    })
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: EHLO proxy.example
      ${ehloReplyWith('XCLIENT NAME ADDR PORT PROTO HELO LOGIN')}
      C: XCLIENT NAME=mail.client.example ADDR=203.0.113.5 PORT=40001 LOGIN=alice
      S: 220 ${HOST} ESMTP ready
      C: MAIL FROM:<a@example.test>
      S: 503 5.5.1 Send EHLO/HELO first
      C: EHLO client.example
      ${ehloReplyWith('XCLIENT NAME ADDR PORT PROTO HELO LOGIN')}
      C: MAIL FROM:<a@example.test>
      S: 250 2.1.0 Sender OK
      C: RCPT TO:<b@example.test>
      S: 250 2.1.5 Recipient OK
      C: DATA
      S: 354 End data with <CR><LF>.<CR><LF>
      C: hi
      C: .
      S: 250 2.0.0 Message accepted
    `)
    assert.deepEqual([seen?.remoteAddress, seen?.remotePort, seen?.clientHostname, seen?.authenticatedAs], ['203.0.113.5', 40001, 'mail.client.example', 'alice'])
    assert.match(received, /^Received: from client\.example \(mail\.client\.example \[203\.0\.113\.5\]\)\r\n/)
  })

  test('from an address not in trusted it is neither offered nor accepted', async (t) => {
    const h = connect(t, { xclient: { trusted: ['198.51.100.0/24'] } })
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: EHLO client.example
      ${EHLO_REPLY}
      C: XCLIENT ADDR=203.0.113.5
      S: 550 5.7.0 Insufficient authorization
    `)
  })

  test('bad attributes get 501 and change nothing', async (t) => {
    const h = connect(t, { xclient: { trusted: ['192.0.2.1'] } })
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: EHLO proxy.example
      ${ehloReplyWith('XCLIENT NAME ADDR PORT PROTO HELO LOGIN')}
      C: XCLIENT ADDR=not-an-ip
      S: 501 5.5.4 Bad XCLIENT ADDR: an IPv4 or IPv6 address
      C: XCLIENT PORT=70000
      S: 501 5.5.4 Bad XCLIENT PORT
      C: XCLIENT
      S: 501 5.5.4 Syntax: XCLIENT attribute=value ...
    `)
  })
})

describe('reverseDns', () => {
  test('is off by default; when on, the confirmed name reaches ConnectionInfo before newSession', async (t) => {
    const names: (string | undefined)[] = []
    const asked: string[] = []
    for (const reverseDns of [undefined, { resolve: async (address: string) => (asked.push(address), 'host.client.example') }]) {
      const h = connect(t, { ...(reverseDns ? { reverseDns } : {}), newSession: (conn) => (names.push(conn.clientHostname), {}) })
      await h.play(`S: 220 ${HOST} ESMTP ready`)
    }
    assert.deepEqual(names, [undefined, 'host.client.example'])
    assert.deepEqual(asked, ['192.0.2.1'])
  })

  test('a lookup that does not answer within timeoutMs leaves the name unknown and the client is greeted', async (t) => {
    let name: string | undefined = 'not looked up'
    const h = connect(t, { reverseDns: { timeoutMs: 50, resolve: () => new Promise(() => {}) }, newSession: (conn) => ((name = conn.clientHostname), {}) })
    await h.play(`S: 220 ${HOST} ESMTP ready`)
    assert.equal(name, undefined)
  })
})
