import assert from 'node:assert/strict'
import { describe, test, type TestContext } from 'node:test'
import { cramMd5, scramSha256 } from '../../src/sasl/index.ts'
import { SmtpError } from '../../src/protocol/errors.ts'
import { duplexPair } from 'node:stream'
import { Server, type AuthHook, type ServerOptions } from '../../src/server/index.ts'
import { HOST, LineClient, connect, ehloReplyWith } from './harness.ts'

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64')

const check: AuthHook = (request) => {
  switch (request.mechanism) {
    case 'PLAIN':
    case 'LOGIN':
      return request.username === 'bob' && request.password === 'secret'
    case 'CRAM-MD5':
      return request.username === 'bob' && request.verify('secret')
    case 'SCRAM-SHA-256':
      return request.username === 'bob' ? 'secret' : null
    case 'XOAUTH2':
      return request.username === 'bob' && request.token === 'token-1'
  }
}

const ALL = ['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-256', 'XOAUTH2'] as const

function authServer(t: TestContext, options: ServerOptions = {}) {
  let identity: string | undefined
  const h = connect(t, {
    auth: check,
    authMechanisms: ALL,
    insecureAuthWithoutTls: true,
    newSession: (conn) => ({ mail: () => void (identity = conn.authenticatedAs) }),
    ...options,
  })
  return { h, identity: () => identity }
}

/** The greeting and EHLO exchange of {@link authServer}, which offers `mechanisms`. */
const greeted = (mechanisms: readonly string[] = ALL): string => `
  S: 220 ${HOST} ESMTP ready
  C: EHLO client.example
  ${ehloReplyWith(`AUTH ${mechanisms.join(' ')}`)}`
const GREETED = greeted()

describe('AUTH (RFC 4954)', () => {
  test('PLAIN with an initial response authenticates, and the identity reaches the session', async (t) => {
    const { h, identity } = authServer(t)
    await h.play(`${GREETED}
      C: AUTH PLAIN ${b64('\0bob\0secret')}
      S: 235 2.7.0 Authentication successful
      C: MAIL FROM:<bob@example.test>
      S: 250 2.1.0 Sender OK
    `)
    assert.equal(identity(), 'bob')
  })

  test('PLAIN without an initial response gets an empty 334 challenge', async (t) => {
    const { h } = authServer(t)
    await h.play(`${GREETED}
      C: AUTH plain
      S: 334\\x20
      C: ${b64('\0bob\0secret')}
      S: 235 2.7.0 Authentication successful
    `)
  })

  test('an empty initial response (=) is passed on as empty', async (t) => {
    const { h } = authServer(t)
    await h.play(`${GREETED}
      C: AUTH PLAIN =
      S: 501 5.5.2 Malformed authentication response
    `)
  })

  test('LOGIN asks for the username, then the password', async (t) => {
    const { h } = authServer(t)
    await h.play(`${GREETED}
      C: AUTH LOGIN
      S: 334 ${b64('Username:')}
      C: ${b64('bob')}
      S: 334 ${b64('Password:')}
      C: ${b64('secret')}
      S: 235 2.7.0 Authentication successful
    `)
  })

  test('CRAM-MD5 works with the sasl client half', async (t) => {
    const { h } = authServer(t)
    await h.play(GREETED)
    const client = new LineClient(h.peer)
    const mechanism = cramMd5({ username: 'bob', password: 'secret' })
    client.send('AUTH CRAM-MD5')
    const challenge = await client.reply()
    assert.match(challenge, /^334 \S+$/)
    const decoded = Buffer.from(challenge.slice(4), 'base64').toString()
    assert.match(decoded, new RegExp(`^<\\d+\\.\\d+@${HOST}>$`))
    client.send(Buffer.from(mechanism.next(Buffer.from(challenge.slice(4), 'base64'))).toString('base64'))
    assert.equal(await client.reply(), '235 2.7.0 Authentication successful')
  })

  test('SCRAM-SHA-256 works with the sasl client half, and a wrong password fails', async (t) => {
    for (const [password, expected] of [['secret', '235 2.7.0 Authentication successful'], ['wrong', '535 5.7.8 Authentication credentials invalid']] as const) {
      const { h } = authServer(t)
      await h.play(GREETED)
      const client = new LineClient(h.peer)
      const mechanism = scramSha256({ username: 'bob', password })
      client.send(`AUTH SCRAM-SHA-256 ${Buffer.from(mechanism.start()!).toString('base64')}`)
      let reply = await client.reply()
      while (reply.startsWith('334 ')) {
        client.send(Buffer.from(mechanism.next(Buffer.from(reply.slice(4), 'base64'))).toString('base64'))
        reply = await client.reply()
      }
      assert.equal(reply, expected)
      if (password === 'secret') assert.equal(mechanism.isComplete, true)
    }
  })

  test('XOAUTH2 accepts a good token and answers a bad one with the JSON error, then 535', async (t) => {
    const { h } = authServer(t)
    const error = b64(JSON.stringify({ status: '401', schemes: 'bearer' }))
    await h.play(`${GREETED}
      C: AUTH XOAUTH2 ${b64('user=bob\x01auth=Bearer bad\x01\x01')}
      S: 334 ${error}
      C:
      S: 535 5.7.8 Authentication credentials invalid
      C: AUTH XOAUTH2 ${b64('user=bob\x01auth=Bearer token-1\x01\x01')}
      S: 235 2.7.0 Authentication successful
    `)
  })

  test('* cancels the exchange with 501 5.0.0', async (t) => {
    const { h } = authServer(t)
    await h.play(`${GREETED}
      C: AUTH LOGIN
      S: 334 ${b64('Username:')}
      C: *
      S: 501 5.0.0 Authentication cancelled
    `)
  })

  test('a wrong password gets 535 5.7.8; the last allowed failure closes with 421', async (t) => {
    const { h } = authServer(t, { limits: { maxAuthFailures: 2 } })
    await h.play(`${GREETED}
      C: AUTH PLAIN ${b64('\0bob\0wrong')}
      S: 535 5.7.8 Authentication credentials invalid
      C: AUTH PLAIN ${b64('\0mallory\0secret')}
      S: 421 4.7.0 ${HOST} Error: too many authentication failures
      --- expect-close
    `)
  })

  test('waits authFailureDelayMs before a 535', async (t) => {
    const { h } = authServer(t, { limits: { authFailureDelayMs: 150 } })
    await h.play(GREETED)
    const started = performance.now()
    await h.play(`
      C: AUTH PLAIN ${b64('\0bob\0wrong')}
      S: 535 5.7.8 Authentication credentials invalid
    `)
    assert.ok(performance.now() - started >= 140)
  })

  test('unknown mechanisms, bad base64, repeated AUTH and AUTH in a transaction are refused', async (t) => {
    const { h } = authServer(t, { authMechanisms: ['PLAIN'] })
    await h.play(`${greeted(['PLAIN'])}
      C: AUTH LOGIN
      S: 504 5.5.4 Unrecognized authentication type
      C: AUTH GSSAPI
      S: 504 5.5.4 Unrecognized authentication type
      C: AUTH PLAIN not*base64
      S: 501 5.5.2 Invalid base64 data in initial response
      C: AUTH PLAIN
      S: 334\\x20
      C: %%%
      S: 501 5.5.2 Invalid base64 data
      C: MAIL FROM:<a@example.test>
      S: 250 2.1.0 Sender OK
      C: AUTH PLAIN ${b64('\0bob\0secret')}
      S: 503 5.5.1 Not allowed during a mail transaction
      C: RSET
      S: 250 2.0.0 OK
      C: AUTH PLAIN ${b64('\0bob\0secret')}
      S: 235 2.7.0 Authentication successful
      C: AUTH PLAIN ${b64('\0bob\0secret')}
      S: 503 5.5.1 Already authenticated
    `)
  })

  test('AUTH before EHLO/HELO is a bad sequence', async (t) => {
    const { h } = authServer(t)
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: AUTH PLAIN ${b64('\0bob\0secret')}
      S: 503 5.5.1 Send EHLO/HELO first
    `)
  })

  test('AUTH after a plain HELO is refused (HELO offers no extensions); after EHLO it works', async (t) => {
    const { h } = authServer(t)
    await h.play(`
      S: 220 ${HOST} ESMTP ready
      C: HELO client.example
      S: 250 ${HOST}
      C: AUTH PLAIN ${b64('\0bob\0secret')}
      S: 503 5.5.1 Not offered after HELO: send EHLO to use extensions
      C: EHLO client.example
      ${ehloReplyWith(`AUTH ${ALL.join(' ')}`)}
      C: AUTH PLAIN ${b64('\0bob\0secret')}
      S: 235 2.7.0 Authentication successful
    `)
  })

  test('a hook that fails gets 454 4.7.0 and onError; one that throws SmtpError gets its reply', async (t) => {
    const { h } = authServer(t, {
      auth: (request) => {
        if (request.mechanism === 'PLAIN' && request.username === 'boom') throw new Error('ldap down')
        throw new SmtpError(454, '4.7.0', 'Try again later')
      },
    })
    await h.play(`${GREETED}
      C: AUTH PLAIN ${b64('\0boom\0x')}
      S: 454 4.7.0 Temporary authentication failure
      C: AUTH PLAIN ${b64('\0bob\0x')}
      S: 454 4.7.0 Try again later
    `)
    assert.equal((h.errors[0] as Error).message, 'ldap down')
  })

  test('a cancelled exchange counts as a failure: the last allowed one closes with 421', async (t) => {
    let scramLookups = 0
    const { h } = authServer(t, {
      auth: (request) => {
        scramLookups++
        return check(request, undefined as never)
      },
    })
    const client = new LineClient(h.peer)
    const first = b64(`n,,n=bob,r=${'a'.repeat(24)}`)
    await client.reply()
    client.send('EHLO client.example')
    await client.reply()
    const replies: string[] = []
    for (const response of ['*', 'not base64!']) {
      client.send(`AUTH SCRAM-SHA-256 ${first}`)
      assert.match(await client.reply(), /^334 /)
      client.send(response)
      replies.push(await client.reply())
    }
    client.send('AUTH LOGIN')
    replies.push(await client.reply())
    client.send('*')
    replies.push(await client.reply())
    assert.deepEqual(replies, [
      '501 5.0.0 Authentication cancelled',
      '501 5.5.2 Invalid base64 data',
      `334 ${b64('Username:')}`,
      `421 4.7.0 ${HOST} Error: too many authentication failures`,
    ])
    await h.closed
    assert.equal(scramLookups, 2)
  })

  test('waits authFailureDelayMs before answering a cancelled exchange too', async (t) => {
    const { h } = authServer(t, { limits: { authFailureDelayMs: 150 } })
    await h.play(`${GREETED}
      C: AUTH LOGIN
      S: 334 ${b64('Username:')}
    `)
    const started = performance.now()
    await h.play(`
      C: *
      S: 501 5.0.0 Authentication cancelled
    `)
    assert.ok(performance.now() - started >= 140)
  })

  test('failures from one address across connections reach maxAuthFailuresPerIp: AUTH then gets 421 before any mechanism runs', async (t) => {
    let calls = 0
    const server = new Server({
      hostname: HOST,
      auth: (request) => {
        calls++
        return check(request, undefined as never)
      },
      insecureAuthWithoutTls: true,
      onError: () => {},
      limits: { authFailureDelayMs: 0, maxAuthFailuresPerIp: 2 },
    })
    t.after(() => server.close({ signal: AbortSignal.timeout(1000) }))
    const open = (remoteAddress: string): LineClient => {
      const [serverSide, peer] = duplexPair()
      t.after(() => peer.destroy())
      void server.handle(serverSide, { remoteAddress })
      return new LineClient(peer)
    }
    const attempt = async (client: LineClient): Promise<string> => {
      await client.reply()
      client.send('EHLO client.example')
      await client.reply()
      client.send(`AUTH PLAIN ${b64('\0bob\0wrong')}`)
      return client.reply()
    }
    // Each connection stays under maxAuthFailures (3); the address as a whole does not.
    assert.equal(await attempt(open('198.51.100.7')), '535 5.7.8 Authentication credentials invalid')
    assert.equal(await attempt(open('198.51.100.7')), '535 5.7.8 Authentication credentials invalid')
    assert.equal(await attempt(open('198.51.100.7')), `421 4.7.0 ${HOST} Error: too many authentication failures from your address, try again later`)
    assert.equal(calls, 2)
    // Another address is not affected.
    assert.equal(await attempt(open('198.51.100.8')), '535 5.7.8 Authentication credentials invalid')
  })

  test('MAIL AUTH= from an unauthenticated client reaches the hook as <> (RFC 4954 §5); after AUTH it is kept', async (t) => {
    const seen: (string | undefined)[] = []
    const { h } = authServer(t, { newSession: () => ({ mail: (_from, params) => void seen.push(params.auth) }) })
    await h.play(`${GREETED}
      C: MAIL FROM:<a@example.test> AUTH=ceo@corp.example
      S: 250 2.1.0 Sender OK
      C: RSET
      S: 250 2.0.0 OK
      C: AUTH PLAIN ${b64('\0bob\0secret')}
      S: 235 2.7.0 Authentication successful
      C: MAIL FROM:<bob@example.test> AUTH=bob@example.test
      S: 250 2.1.0 Sender OK
    `)
    assert.deepEqual(seen, ['<>', 'bob@example.test'])
  })

  test('a response line over maxAuthLineBytes gets 500 5.5.6', async (t) => {
    const { h } = authServer(t, { limits: { maxAuthLineBytes: 100 } })
    await h.play(`${GREETED}
      C: AUTH LOGIN
      S: 334 ${b64('Username:')}
      C: ${'QUFB'.repeat(40)}
      S: 500 5.5.6 Authentication exchange line is too long
      C: NOOP
      S: 250 2.0.0 OK
    `)
  })
})
