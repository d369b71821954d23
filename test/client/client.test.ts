import assert from 'node:assert/strict'
import { duplexPair } from 'node:stream'
import { describe, test } from 'node:test'
import { Client } from '../../src/client/client.ts'
import { SmtpError } from '../../src/protocol/errors.ts'
import { ehlo, ready, scripted } from './scripted-client.ts'
import { ClientError } from '../../src/client/errors.ts'

describe('Client greeting and hello', () => {
  test('reads the greeting, sends EHLO and records the announced extensions', async (t) => {
    const { client, done } = await scripted(t, `
      ${ehlo('PIPELINING', 'SIZE 35882577', 'AUTH PLAIN LOGIN', '8BITMIME')}
    `)
    assert.equal(client.greeting.code, 220)
    const reply = await client.hello()
    await done
    assert.equal(reply.code, 250)
    assert.deepEqual(reply.lines, ['mx.test greets client.test', 'PIPELINING', 'SIZE 35882577', 'AUTH PLAIN LOGIN', '8BITMIME'])
    assert.equal(client.extensions.maxSize, 35882577)
    assert.equal(client.extension('pipelining'), '')
    assert.equal(client.extension('STARTTLS'), undefined)
    assert.deepEqual(client.extensions.authMechanisms, ['PLAIN', 'LOGIN'])
  })

  test('reads a multi-line greeting as one reply', async (t) => {
    const { client, done } = await scripted(t, `
      S: 220-mx.test ESMTP
      S: 220-no UCE
      S: 220 welcome
    `)
    await done
    assert.deepEqual(client.greeting.lines, ['mx.test ESMTP', 'no UCE', 'welcome'])
  })

  test('falls back to HELO when the server answers EHLO with 502', async (t) => {
    const { client, done } = await scripted(t, `
      S: 220 old.test SMTP
      C: EHLO client.test
      S: 502 5.5.1 command not implemented
      C: HELO client.test
      S: 250 old.test
    `)
    const reply = await client.hello()
    await done
    assert.equal(reply.code, 250)
    assert.equal(client.extensions.has('PIPELINING'), false)
  })

  test('falls back to HELO on 500 as well', async (t) => {
    const { client, done } = await scripted(t, `
      S: 220 old.test SMTP
      C: EHLO client.test
      S: 500 command unrecognized
      C: HELO client.test
      S: 250 old.test
    `)
    await client.hello()
    await done
  })

  test('rejects with the SmtpError when EHLO is refused otherwise', async (t) => {
    const { client, done } = await scripted(t, `
      S: 220 mx.test
      C: EHLO client.test
      S: 550 5.7.1 go away
    `)
    await assert.rejects(client.hello(), (err: unknown) => err instanceof SmtpError && err.code === 550 && err.message === '550 5.7.1 go away (EHLO client.test)')
    await done
  })

  test('sends LHLO in LMTP mode', async (t) => {
    const { client, done } = await scripted(t, `
      S: 220 lmtp.test LMTP
      C: LHLO client.test
      S: 250-lmtp.test
      S: 250 PIPELINING
    `, { lmtp: true })
    await client.hello()
    await done
    assert.equal(client.isLmtp, true)
  })

  test('rejects a 554 greeting with an SmtpError and closes', async (t) => {
    const [a, b] = duplexPair()
    t.after(() => { a.destroy(); b.destroy() })
    b.write('554 5.7.1 no service for you\r\n')
    await assert.rejects(Client.fromSocket(a), (err: unknown) => err instanceof SmtpError && err.code === 554)
    assert.equal(a.destroyed, true)
  })

  test('refuses an EHLO name with CR, LF or a space before sending anything', async (t) => {
    const { client, done } = await scripted(t, `
      S: 220 mx.test
      C: QUIT
      S: 221 bye
    `)
    await assert.rejects(client.hello('client.test\r\nMAIL FROM:<x@y.test>'), TypeError)
    await assert.rejects(client.hello('a b'), TypeError)
    const [a, b] = duplexPair()
    t.after(() => { a.destroy(); b.destroy() })
    await assert.rejects(Client.fromSocket(a, { localName: 'x\ny' }), TypeError)
    await client.quit()
    await done
  })
})

describe('Client step methods', () => {
  test('sends MAIL, RCPT, DATA with dot-stuffing and the terminator, byte for byte', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('8BITMIME')}
      C: MAIL FROM:<alice@example.test> BODY=8BITMIME
      S: 250 2.1.0 Ok
      C: RCPT TO:<bob@example.test>
      S: 250 2.1.5 Ok
      C: DATA
      S: 354 go ahead
      C: Subject: dots
      C:
      C: ..leading dot
      C: ...two dots
      C: a.b
      C: .
      S: 250 2.0.0 Ok: queued as ABC123
    `)
    await client.mail('alice@example.test', { body: '8BITMIME' })
    await client.rcpt('bob@example.test')
    const reply = await client.data('Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\na.b')
    await done
    assert.equal(reply.code, 250)
    assert.deepEqual(reply.lines, ['Ok: queued as ABC123'])
  })

  test('dot-stuffs a line start that falls on a chunk boundary of a streamed message', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo()}
      C: MAIL FROM:<>
      S: 250 Ok
      C: RCPT TO:<bob@example.test>
      S: 250 Ok
      C: DATA
      S: 354 go ahead
      C: line one
      C: ..dot
      C: bare lf
      C: .
      S: 250 Ok
    `)
    await client.mail('')
    await client.rcpt('bob@example.test')
    async function* body(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('line one\r\n')
      yield Buffer.from('.dot\r')
      yield Buffer.from('\nbare lf\n')
    }
    await client.data(body())
    await done
  })

  test('pipelines steps called without awaiting when the server offers PIPELINING', async (t) => {
    const { client, done, serverSide } = await ready(t, `
      ${ehlo('PIPELINING')}
      C: MAIL FROM:<a@example.test>
      C: RCPT TO:<b@example.test>
      C: RCPT TO:<c@example.test>
      S: 250 Ok
      S: 250 Ok
      S: 550 5.1.1 No such user
    `)
    const chunks: string[] = []
    serverSide.on('data', (chunk: Buffer) => chunks.push(chunk.toString()))
    const results = await Promise.allSettled([
      client.mail('a@example.test'),
      client.rcpt('b@example.test'),
      client.rcpt('c@example.test'),
    ])
    await done
    assert.equal(results[0].status, 'fulfilled')
    assert.equal(results[1].status, 'fulfilled')
    assert.equal(results[2].status, 'rejected')
    const error = (results[2] as PromiseRejectedResult).reason as SmtpError
    assert.equal(error.message, '550 5.1.1 No such user (RCPT TO:<c@example.test>)')
    assert.equal(error.command, 'RCPT TO:<c@example.test>')
    // All three commands were written before any reply came back.
    assert.equal(chunks.join(''), 'MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\n')
  })

  test('waits for each reply before the next command when the server does not pipeline', async (t) => {
    const { client, done, serverSide } = await ready(t, `
      ${ehlo()}
      C: MAIL FROM:<a@example.test>
      S: 250 Ok
      C: RCPT TO:<b@example.test>
      S: 250 Ok
    `)
    const timeline: string[] = []
    serverSide.on('data', (chunk: Buffer) => timeline.push(`C ${chunk.toString().trim()}`))
    const write = serverSide.write.bind(serverSide)
    serverSide.write = ((chunk: Buffer) => {
      timeline.push(`S ${chunk.toString().trim()}`)
      return write(chunk)
    }) as typeof serverSide.write
    await Promise.all([client.mail('a@example.test'), client.rcpt('b@example.test')])
    await done
    assert.deepEqual(timeline, ['C MAIL FROM:<a@example.test>', 'S 250 Ok', 'C RCPT TO:<b@example.test>', 'S 250 Ok'])
  })

  test('refuses addresses with CR, LF or junk before sending anything', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('PIPELINING')}
      C: NOOP
      S: 250 Ok
    `)
    await assert.rejects(client.mail('a@example.test>\r\nRCPT TO:<evil@example.test'), TypeError)
    await assert.rejects(client.mail('a@example.test\n'), TypeError)
    await assert.rejects(client.rcpt('b@example.test\rDATA'), TypeError)
    await assert.rejects(client.rcpt('no-at-sign'), TypeError)
    await assert.rejects(client.verify('x\r\nRSET'), TypeError)
    await client.noop()
    await done
  })

  test('MAIL refused is an SmtpError that names the command', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('SIZE 100')}
      C: MAIL FROM:<a@example.test> SIZE=10
      S: 451 4.3.0 try later
    `)
    await assert.rejects(client.mail('a@example.test', { size: 10 }), (err: unknown) =>
      err instanceof SmtpError && err.temporary && err.message === '451 4.3.0 try later (MAIL FROM:<a@example.test> SIZE=10)')
    await done
  })

  test('DATA refused before 354 is an SmtpError', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo()}
      C: DATA
      S: 503 5.5.1 need RCPT
    `)
    await assert.rejects(client.data('x'), (err: unknown) => err instanceof SmtpError && err.code === 503 && err.command === 'DATA')
    await done
  })

  test('VRFY, RSET, NOOP and QUIT', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo()}
      C: VRFY bob
      S: 252 2.5.2 cannot verify, will accept
      C: RSET
      S: 250 2.0.0 Ok
      C: NOOP
      S: 250 2.0.0 Ok
      C: QUIT
      S: 221 2.0.0 bye
      --- expect-close
    `)
    assert.equal((await client.verify('bob')).code, 252)
    await client.reset()
    await client.noop()
    assert.equal((await client.quit()).code, 221)
    await done
    assert.equal(client.isClosed, true)
    await assert.rejects(client.noop(), (err: unknown) => err instanceof ClientError && err.code === 'ERR_SMTP_CONNECTION_CLOSED')
  })

  test('asyncDispose sends QUIT and closes', async (t) => {
    const { client, done, clientSide } = await ready(t, `
      ${ehlo()}
      C: QUIT
      S: 221 bye
    `)
    await client[Symbol.asyncDispose]()
    await done
    assert.equal(client.isClosed, true)
    assert.equal(clientSide.destroyed || clientSide.writableEnded, true)
  })

  test('sends BDAT chunks with LAST, normalising bare LF', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('CHUNKING')}
      C: MAIL FROM:<a@example.test>
      S: 250 Ok
      C: RCPT TO:<b@example.test>
      S: 250 Ok
      C: BDAT 10
      C: 12345678
      S: 250 2.0.0 10 octets received
      C: BDAT 4 LAST
      C: 90
      S: 250 2.0.0 Message accepted
    `, { chunkBytes: 10 })
    await client.mail('a@example.test')
    await client.rcpt('b@example.test')
    const reply = await client.bdat('12345678\n90')
    await done
    assert.deepEqual(reply.lines, ['Message accepted'])
  })

  test('sends BDAT 0 LAST for an empty message', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('CHUNKING')}
      C: BDAT 0 LAST
      S: 250 Ok
    `)
    await client.bdat('')
    await done
  })

  test('binary BDAT sends the bytes unchanged', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('CHUNKING', 'BINARYMIME')}
      C: BDAT 5 LAST
      C: a\\nb\\r\\0\\
      S: 250 Ok
    `)
    await client.bdat(Buffer.from('a\nb\r\0'), { binary: true })
    await done
  })
})

describe('a refusal in the middle of the data', () => {
  test('is the server\'s SmtpError even when it closes the connection inside a write', async (t) => {
    // An in-memory peer answers synchronously, inside the client's socket.write(): the refusal
    // closes the connection before the write returns, so no 'drain' or close event follows.
    const [ours, peer] = duplexPair()
    t.after(() => {
      ours.destroy()
      peer.destroy()
    })
    let buffered = ''
    let inData = false
    peer.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1')
      if (inData) {
        if (buffered.length > 10) {
          inData = false
          peer.write('552 5.3.4 Message too big\r\n')
        }
        return
      }
      for (let end = buffered.indexOf('\r\n'); end !== -1; end = buffered.indexOf('\r\n')) {
        const line = buffered.slice(0, end)
        buffered = buffered.slice(end + 2)
        if (line.startsWith('EHLO')) peer.write('250-mx.test\r\n250 PIPELINING\r\n')
        else if (line.startsWith('MAIL') || line.startsWith('RCPT')) peer.write('250 ok\r\n')
        else if (line === 'DATA') {
          peer.write('354 go ahead\r\n')
          inData = true
          buffered = ''
          return
        }
      }
    })
    peer.write('220 mx.test ready\r\n')
    const client = await Client.fromSocket(ours, { localName: 'client.test', timeouts: { dataBlock: 2000 } })
    await client.hello()
    async function* body(): AsyncGenerator<Buffer> {
      yield Buffer.from('Subject: big\r\n\r\nhello\r\n')
      await new Promise((resolve) => setTimeout(resolve, 20))
      for (let i = 0; i < 10; i++) yield Buffer.alloc(70_000, 0x41)
    }
    await assert.rejects(client.send({ from: 'a@x.test', to: 'b@x.test', message: body() }), (error: unknown) =>
      error instanceof SmtpError && error.code === 552 && /\(DATA\)$/.test(error.message))
  })
})
