import assert from 'node:assert/strict'
import { duplexPair, type Duplex } from 'node:stream'
import { describe, test } from 'node:test'
import { Client } from '../../src/client/client.ts'
import { AuthenticationFailed, createServerMechanism, cramMd5, plain, scramSha256, xoauth2 } from '../../src/sasl/index.ts'
import { ProtocolError, SmtpError } from '../../src/protocol/errors.ts'
import { ClientError } from '../../src/client/errors.ts'
import { ehlo, ready } from './scripted-client.ts'

/**
 * A server over `peer` that answers EHLO and runs AUTH with the sasl module's server half, so
 * multi-step mechanisms (SCRAM) can be checked end to end. With `skipProof`, it answers 235
 * without sending its final SCRAM message, as a server that does not know the password would.
 */
function authServer(peer: Duplex, password: string, skipProof = false, iterations = 4096): void {
  let mechanism: ReturnType<typeof createServerMechanism>
  let step = 0
  peer.write('220 mx.test\r\n')
  let buffered = ''
  peer.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('latin1')
    for (let lf = buffered.indexOf('\n'); lf !== -1; lf = buffered.indexOf('\n')) {
      const line = buffered.slice(0, lf - 1)
      buffered = buffered.slice(lf + 1)
      void handle(line)
    }
  })
  const answer = async (response: Uint8Array | null): Promise<void> => {
    step++
    if (skipProof && step === 2) return void peer.write('235 2.7.0 trust me\r\n')
    try {
      const result = await mechanism!.next(response)
      peer.write(result.done ? '235 2.7.0 ok\r\n' : `334 ${Buffer.from(result.challenge).toString('base64')}\r\n`)
    } catch {
      peer.write('535 5.7.8 no\r\n')
    }
  }
  const handle = async (line: string): Promise<void> => {
    if (line.startsWith('EHLO')) return void peer.write('250-mx.test\r\n250 AUTH SCRAM-SHA-256 PLAIN\r\n')
    if (line.startsWith('AUTH ')) {
      const [, name, ir] = line.split(' ')
      mechanism = createServerMechanism(name!, () => password, { scramIterations: iterations })
      return answer(ir === undefined ? null : Buffer.from(ir === '=' ? '' : ir, 'base64'))
    }
    if (line === 'QUIT') return void peer.end('221 bye\r\n')
    return answer(Buffer.from(line, 'base64'))
  }
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64')

describe('Client.auth', () => {
  test('AUTH PLAIN sends the credentials as the initial response', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('AUTH PLAIN')}
      C: AUTH PLAIN ${b64('\0user\0pass word')}
      S: 235 2.7.0 Authentication successful
    `, { insecureAuthWithoutTls: true })
    const reply = await client.auth(plain({ username: 'user', password: 'pass word' }))
    await done
    assert.equal(reply.code, 235)
  })

  test('AUTH LOGIN answers the username and password challenges', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('AUTH LOGIN')}
      C: AUTH LOGIN
      S: 334 ${b64('Username:')}
      C: ${b64('user')}
      S: 334 ${b64('Password:')}
      C: ${b64('pass')}
      S: 235 2.7.0 ok
    `, { insecureAuthWithoutTls: true })
    await client.auth({ username: 'user', password: 'pass', mechanism: 'login' })
    await done
  })

  test('AUTH CRAM-MD5 answers the challenge with the RFC 2195 digest', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('AUTH CRAM-MD5')}
      C: AUTH CRAM-MD5
      S: 334 ${b64('<1896.697170952@postoffice.reston.mci.net>')}
      C: ${b64('tim b913a602c7eda7a495b4e6e7334d3890')}
      S: 235 2.7.0 ok
    `, { insecureAuthWithoutTls: true })
    await client.auth(cramMd5({ username: 'tim', password: 'tanstaaftanstaaf' }))
    await done
  })

  test('picks the strongest offered mechanism', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('AUTH PLAIN LOGIN CRAM-MD5')}
      C: AUTH CRAM-MD5
      S: 334 ${b64('<1896.697170952@postoffice.reston.mci.net>')}
      C: ${b64('tim b913a602c7eda7a495b4e6e7334d3890')}
      S: 235 2.7.0 ok
    `, { insecureAuthWithoutTls: true })
    await client.auth({ username: 'tim', password: 'tanstaaftanstaaf' })
    await done
  })

  test('with an authorizationId, passes over CRAM-MD5 and LOGIN, which cannot carry one, for PLAIN', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('AUTH CRAM-MD5 PLAIN LOGIN')}
      C: AUTH PLAIN ${b64('boss\0tim\0secret')}
      S: 235 2.7.0 ok
    `, { insecureAuthWithoutTls: true })
    await client.auth({ username: 'tim', password: 'secret', authorizationId: 'boss' })
    await done
  })

  test('535 is an SmtpError naming the mechanism, without the credentials', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('AUTH PLAIN')}
      C: AUTH PLAIN ${b64('\0user\0wrong')}
      S: 535 5.7.8 Authentication credentials invalid
    `, { insecureAuthWithoutTls: true })
    await assert.rejects(client.auth(plain({ username: 'user', password: 'wrong' })), (err: unknown) =>
      err instanceof SmtpError && err.code === 535 && err.message === '535 5.7.8 Authentication credentials invalid (AUTH PLAIN)')
    await done
  })

  test('refuses PLAIN and LOGIN over plaintext without insecureAuthWithoutTls, sending nothing', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('AUTH PLAIN LOGIN')}
      C: QUIT
      S: 221 bye
    `)
    const tlsRequired = (err: unknown): boolean => err instanceof ClientError && err.code === 'ERR_SMTP_TLS_REQUIRED'
    await assert.rejects(client.auth(plain({ username: 'user', password: 'pass' })), tlsRequired)
    await assert.rejects(client.auth({ username: 'user', password: 'pass', mechanism: 'LOGIN' }), tlsRequired)
    await assert.rejects(client.auth({ username: 'user', password: 'pass' }), tlsRequired)
    await assert.rejects(client.auth(xoauth2({ username: 'user', accessToken: 'token' })), tlsRequired)
    await client.quit()
    await done
  })

  test('refuses CRAM-MD5 and SCRAM-SHA-256 over plaintext too, sending nothing: a captured exchange gives the password away offline', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('AUTH SCRAM-SHA-256 CRAM-MD5')}
      C: QUIT
      S: 221 bye
    `)
    const tlsRequired = (err: unknown): boolean => err instanceof ClientError && err.code === 'ERR_SMTP_TLS_REQUIRED'
    await assert.rejects(client.auth(cramMd5({ username: 'tim', password: 'x' })), tlsRequired)
    await assert.rejects(client.auth(scramSha256({ username: 'tim', password: 'x' })), tlsRequired)
    await assert.rejects(client.auth({ username: 'tim', password: 'x' }), tlsRequired)
    await assert.rejects(client.auth({ username: 'tim', password: 'x', mechanism: 'CRAM-MD5' }), tlsRequired)
    await client.quit()
    await done
  })

  test('SCRAM-SHA-256 refuses a server that asks for fewer than 4096 iterations (RFC 7677 §4)', async (t) => {
    const [a, b] = duplexPair()
    t.after(() => { a.destroy(); b.destroy() })
    authServer(b, 'pencil', false, 1)
    const client = await Client.fromSocket(a, { localName: 'client.test', insecureAuthWithoutTls: true })
    await client.hello()
    await assert.rejects(client.auth({ username: 'user', password: 'pencil' }), (err: unknown) =>
      err instanceof AuthenticationFailed && /fewer than the 4096/.test(err.message))
  })

  test('a mechanism object is renewed for each exchange, so one auth option serves many connections', async (t) => {
    const mechanism = plain({ username: 'user', password: 'pass' })
    for (let i = 0; i < 2; i++) {
      const { client, done } = await ready(t, `
        ${ehlo('AUTH PLAIN')}
        C: AUTH PLAIN ${b64('\0user\0pass')}
        S: 235 2.7.0 ok
      `, { insecureAuthWithoutTls: true })
      await client.auth(mechanism)
      await done
    }
  })

  test('XOAUTH2 with a token function fetches a new token once after a refusal and retries', async (t) => {
    const error = Buffer.from(JSON.stringify({ status: '401', schemes: 'Bearer' })).toString('base64')
    const { client, done } = await ready(t, `
      ${ehlo('AUTH XOAUTH2')}
      C: AUTH XOAUTH2 ${b64('user=u@example.test\x01auth=Bearer old\x01\x01')}
      S: 334 ${error}
      C:
      S: 535 5.7.8 Username and Password not accepted
      C: AUTH XOAUTH2 ${b64('user=u@example.test\x01auth=Bearer new\x01\x01')}
      S: 235 2.7.0 Accepted
    `, { insecureAuthWithoutTls: true })
    const asked: boolean[] = []
    const accessToken = async ({ refresh }: { refresh: boolean }): Promise<string> => {
      asked.push(refresh)
      return refresh ? 'new' : 'old'
    }
    const reply = await client.auth(xoauth2({ username: 'u@example.test', accessToken }))
    await done
    assert.equal(reply.code, 235)
    assert.deepEqual(asked, [false, true])
  })

  test('XOAUTH2 refused again with the new token fails with the second refusal', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('AUTH XOAUTH2')}
      C: AUTH XOAUTH2 ${b64('user=u@example.test\x01auth=Bearer t1\x01\x01')}
      S: 535 5.7.8 first
      C: AUTH XOAUTH2 ${b64('user=u@example.test\x01auth=Bearer t2\x01\x01')}
      S: 535 5.7.8 second
    `, { insecureAuthWithoutTls: true })
    let n = 0
    await assert.rejects(client.auth(xoauth2({ username: 'u@example.test', accessToken: () => `t${++n}` })), (err: unknown) =>
      err instanceof SmtpError && err.code === 535 && /second/.test(err.message))
    await done
    assert.equal(n, 2)
  })

  test('XOAUTH2 with a fixed token does not retry a refusal', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('AUTH XOAUTH2')}
      C: AUTH XOAUTH2 ${b64('user=u@example.test\x01auth=Bearer fixed\x01\x01')}
      S: 535 5.7.8 no
      C: QUIT
      S: 221 bye
    `, { insecureAuthWithoutTls: true })
    await assert.rejects(client.auth(xoauth2({ username: 'u@example.test', accessToken: 'fixed' })), (err: unknown) => err instanceof SmtpError && err.code === 535)
    await client.quit()
    await done
  })

  test('a challenge the mechanism cannot answer is cancelled with *', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('AUTH CRAM-MD5')}
      C: AUTH CRAM-MD5
      S: 334 not-base64!
      C: *
      S: 501 5.7.0 cancelled
    `, { insecureAuthWithoutTls: true })
    await assert.rejects(client.auth(cramMd5({ username: 'tim', password: 'x' })), (err: unknown) => err instanceof ProtocolError && err.code === 'ERR_SMTP_BAD_REPLY')
    await done
  })

  test('an initial response too long for one line is sent after an empty challenge', async (t) => {
    const token = 'a'.repeat(600)
    const ir = b64(`user=u@example.test\x01auth=Bearer ${token}\x01\x01`)
    const { client, done } = await ready(t, `
      ${ehlo('AUTH XOAUTH2')}
      C: AUTH XOAUTH2
      S: 334
      C: ${ir}
      S: 235 2.7.0 ok
    `, { insecureAuthWithoutTls: true })
    await client.auth(xoauth2({ username: 'u@example.test', accessToken: token }))
    await done
  })

  test('SCRAM-SHA-256 completes and checks the server proof', async (t) => {
    const [a, b] = duplexPair()
    t.after(() => { a.destroy(); b.destroy() })
    authServer(b, 'pencil')
    const client = await Client.fromSocket(a, { localName: 'client.test', insecureAuthWithoutTls: true })
    await client.hello()
    const reply = await client.auth({ username: 'user', password: 'pencil' })
    assert.equal(reply.code, 235)
    await client.quit()
  })

  test('SCRAM-SHA-256 with a wrong password is an SmtpError', async (t) => {
    const [a, b] = duplexPair()
    t.after(() => { a.destroy(); b.destroy() })
    authServer(b, 'pencil')
    const client = await Client.fromSocket(a, { localName: 'client.test', insecureAuthWithoutTls: true })
    await client.hello()
    await assert.rejects(client.auth(scramSha256({ username: 'user', password: 'crayon' })), (err: unknown) => err instanceof SmtpError && err.code === 535)
  })

  test('a SCRAM success before the server proved itself is refused', async (t) => {
    const [a, b] = duplexPair()
    t.after(() => { a.destroy(); b.destroy() })
    authServer(b, 'pencil', true)
    const client = await Client.fromSocket(a, { localName: 'client.test', insecureAuthWithoutTls: true })
    await client.hello()
    await assert.rejects(client.auth({ username: 'user', password: 'pencil' }), (err: unknown) =>
      err instanceof ProtocolError && /did not prove itself/.test(err.message))
  })

  test('an XOAUTH2 error challenge is answered empty and the refusal is an SmtpError', async (t) => {
    const error = Buffer.from(JSON.stringify({ status: '401', schemes: 'Bearer', scope: 'https://mail.example.test/' })).toString('base64')
    const ir = b64('user=u@example.test\x01auth=Bearer expired\x01\x01')
    const { client, done } = await ready(t, `
      ${ehlo('AUTH XOAUTH2')}
      C: AUTH XOAUTH2 ${ir}
      S: 334 ${error}
      C:
      S: 535 5.7.8 Username and Password not accepted
    `, { insecureAuthWithoutTls: true })
    const mechanism = xoauth2({ username: 'u@example.test', accessToken: 'expired' })
    await assert.rejects(client.auth(mechanism), (err: unknown) => err instanceof SmtpError && err.code === 535 && /\(AUTH XOAUTH2\)$/.test(err.message))
    assert.equal(mechanism.serverError?.status, '401')
    await done
  })
})
