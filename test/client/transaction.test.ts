import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { SmtpError } from '../../src/protocol/errors.ts'
import { ClientError } from '../../src/client/errors.ts'
import { ehlo, ready } from './scripted-client.ts'

const message = 'From: a@example.test\r\nSubject: hi\r\n\r\nHello\r\n'

describe('Client.send', () => {
  test('pipelines MAIL, every RCPT and DATA in one write and lists refused recipients', async (t) => {
    const { client, done, serverSide } = await ready(t, `
      ${ehlo('PIPELINING', 'SIZE 1000000')}
      C: MAIL FROM:<a@example.test> SIZE=${message.length}
      C: RCPT TO:<b@example.test>
      C: RCPT TO:<nobody@example.test>
      C: RCPT TO:<c@example.test>
      C: DATA
      S: 250 2.1.0 Ok
      S: 250 2.1.5 Ok
      S: 550 5.1.1 No such user
      S: 250 2.1.5 Ok
      S: 354 go ahead
      C: From: a@example.test
      C: Subject: hi
      C:
      C: Hello
      C: .
      S: 250 2.0.0 queued as Q1
    `)
    const chunks: string[] = []
    serverSide.on('data', (chunk: Buffer) => chunks.push(chunk.toString()))
    const result = await client.send({ from: 'a@example.test', to: ['b@example.test', 'nobody@example.test', 'c@example.test'], message })
    await done
    assert.equal(
      chunks[0],
      `MAIL FROM:<a@example.test> SIZE=${message.length}\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<nobody@example.test>\r\nRCPT TO:<c@example.test>\r\nDATA\r\n`,
    )
    assert.deepEqual(result.accepted, ['b@example.test', 'c@example.test'])
    assert.equal(result.rejected.length, 1)
    assert.equal(result.rejected[0]!.recipient, 'nobody@example.test')
    assert.ok(result.rejected[0]!.error instanceof SmtpError)
    assert.equal(result.rejected[0]!.error.message, '550 5.1.1 No such user (RCPT TO:<nobody@example.test>)')
    assert.deepEqual(result.reply.lines, ['queued as Q1'])
    assert.equal(result.bytes, message.length)
  })

  test('when every recipient is refused after a pipelined DATA got 354, sends the lone dot, resets and rejects with an AggregateError', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('PIPELINING')}
      C: MAIL FROM:<a@example.test>
      C: RCPT TO:<x@example.test>
      C: RCPT TO:<y@example.test>
      C: DATA
      S: 250 Ok
      S: 550 5.1.1 unknown x
      S: 450 4.2.1 y is over quota
      S: 354 go ahead
      C: .
      S: 554 5.5.1 no valid recipients
      C: RSET
      S: 250 Ok
      C: NOOP
      S: 250 Ok
    `)
    await assert.rejects(client.send({ from: 'a@example.test', to: ['x@example.test', 'y@example.test'], message }), (err: unknown) => {
      assert.ok(err instanceof AggregateError)
      assert.equal(err.errors.length, 2)
      assert.ok(err.errors.every((e) => e instanceof SmtpError))
      assert.equal((err.errors[1] as SmtpError).temporary, true)
      assert.match(err.message, /550 5\.1\.1 unknown x \(RCPT TO:<x@example\.test>\)/)
      return true
    })
    await client.noop()
    await done
  })

  test('when every recipient is refused and DATA is refused too, resets without a dot', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('PIPELINING')}
      C: MAIL FROM:<a@example.test>
      C: RCPT TO:<x@example.test>
      C: DATA
      S: 250 Ok
      S: 550 5.1.1 unknown x
      S: 554 5.5.1 no valid recipients
      C: RSET
      S: 250 Ok
    `)
    await assert.rejects(client.send({ from: 'a@example.test', to: 'x@example.test', message }), AggregateError)
    await done
  })

  test('without PIPELINING, sends no DATA when every recipient is refused', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo()}
      C: MAIL FROM:<a@example.test>
      S: 250 Ok
      C: RCPT TO:<x@example.test>
      S: 550 5.1.1 unknown x
      C: RSET
      S: 250 Ok
    `)
    await assert.rejects(client.send({ from: 'a@example.test', to: ['x@example.test'], message }), AggregateError)
    await done
  })

  test('the server closing before the reply to the end of the data is ERR_SMTP_DELIVERY_UNKNOWN', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo()}
      C: MAIL FROM:<a@example.test>
      S: 250 Ok
      C: RCPT TO:<b@example.test>
      S: 250 Ok
      C: DATA
      S: 354 go
      C: hi
      C: .
      --- close
    `)
    await assert.rejects(client.send({ from: 'a@example.test', to: ['b@example.test'], message: 'hi\r\n' }), (err: unknown) =>
      err instanceof ClientError && err.code === 'ERR_SMTP_DELIVERY_UNKNOWN' && !err.isRetryable && /may have been delivered/.test(err.message))
    await done
  })

  test('the server closing before the envelope replies is ERR_SMTP_CONNECTION_LOST, which may be retried', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo()}
      C: MAIL FROM:<a@example.test>
      --- close
    `)
    await assert.rejects(client.send({ from: 'a@example.test', to: ['b@example.test'], message: 'hi\r\n' }), (err: unknown) =>
      err instanceof ClientError && err.code === 'ERR_SMTP_CONNECTION_LOST' && err.isRetryable)
    await done
  })

  test('a source that throws is ERR_SMTP_SOURCE_FAILED with its error as the cause', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo()}
      C: MAIL FROM:<a@example.test>
      S: 250 Ok
      C: RCPT TO:<b@example.test>
      S: 250 Ok
      C: DATA
      S: 354 go
    `)
    const failure = new Error('cannot read the file')
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('Subject: x\r\n')
      throw failure
    }
    await assert.rejects(client.send({ from: 'a@example.test', to: ['b@example.test'], message: failing() }), (err: unknown) =>
      err instanceof ClientError && err.code === 'ERR_SMTP_SOURCE_FAILED' && err.cause === failure)
    await done
  })

  test('MAIL refused rejects with that SmtpError, naming the command', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('PIPELINING')}
      C: MAIL FROM:<spam@example.test>
      C: RCPT TO:<b@example.test>
      C: DATA
      S: 550 5.7.1 sender refused
      S: 503 5.5.1 need MAIL first
      S: 503 5.5.1 need MAIL first
    `)
    await assert.rejects(client.send({ from: 'spam@example.test', to: ['b@example.test'], message }), (err: unknown) =>
      err instanceof SmtpError && err.message === '550 5.7.1 sender refused (MAIL FROM:<spam@example.test>)')
    await done
  })

  test('a refusal of the data is an SmtpError naming DATA', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo()}
      C: MAIL FROM:<a@example.test>
      S: 250 Ok
      C: RCPT TO:<b@example.test>
      S: 250 Ok
      C: DATA
      S: 354 go ahead
      C: x
      C: .
      S: 554 5.7.1 spam detected
    `)
    await assert.rejects(client.send({ from: 'a@example.test', to: ['b@example.test'], message: 'x' }), (err: unknown) =>
      err instanceof SmtpError && err.message === '554 5.7.1 spam detected (DATA)')
    await done
  })

  test('a composed message\'s eightBit and smtpUtf8 flags become BODY=8BITMIME and SMTPUTF8', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('8BITMIME', 'SMTPUTF8')}
      C: MAIL FROM:<a@example.test> BODY=8BITMIME SMTPUTF8
      S: 250 Ok
      C: RCPT TO:<b@example.test>
      S: 250 Ok
      C: DATA
      S: 354 go ahead
      C: caf\xc3\xa9
      C: .
      S: 250 Ok
    `)
    // What compose() returns for a message with 8-bit parts and raw UTF-8 headers.
    const composed = { stream: () => [Buffer.from('café\r\n')], eightBit: true, smtpUtf8: true }
    await client.send({ from: 'a@example.test', to: ['b@example.test'], message: composed })
    await done
  })

  test('refuses a message over the announced SIZE before sending anything', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('PIPELINING', 'SIZE 20')}
      C: QUIT
      S: 221 bye
    `)
    await assert.rejects(client.send({ from: 'a@example.test', to: ['b@example.test'], message }), (err: unknown) =>
      err instanceof SmtpError && err.code === 552 && err.enhancedCode === '5.3.4' && /limit of 20 octets/.test(err.message) && /nothing was sent/.test(err.message))
    await client.quit()
    await done
  })

  test('adds BODY=8BITMIME for 8-bit content, and refuses it when the server lacks 8BITMIME', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('8BITMIME')}
      C: MAIL FROM:<a@example.test> BODY=8BITMIME
      S: 250 Ok
      C: RCPT TO:<b@example.test>
      S: 250 Ok
      C: DATA
      S: 354 go
      C: caf\\xc3\\xa9
      C: .
      S: 250 Ok
    `)
    await client.send({ from: 'a@example.test', to: ['b@example.test'], message: 'café\r\n' })
    await done

    const other = await ready(t, `
      ${ehlo()}
      C: QUIT
      S: 221 bye
    `)
    await assert.rejects(other.client.send({ from: 'a@example.test', to: ['b@example.test'], message: Buffer.from('caf\xe9', 'latin1') }), (err: unknown) =>
      err instanceof ClientError && err.code === 'ERR_SMTP_UNSUPPORTED' && /8BITMIME/.test(err.message))
    await other.client.quit()
    await other.done
  })

  test('adds SMTPUTF8 for a non-ASCII address, and refuses it when the server lacks SMTPUTF8', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('SMTPUTF8')}
      C: MAIL FROM:<j\\xc3\\xbcrgen@example.test> SMTPUTF8
      S: 250 Ok
      C: RCPT TO:<b@example.test>
      S: 250 Ok
      C: DATA
      S: 354 go
      C: hi
      C: .
      S: 250 Ok
    `)
    await client.send({ from: 'jürgen@example.test', to: ['b@example.test'], message: 'hi\r\n' })
    await done

    const other = await ready(t, `
      ${ehlo('8BITMIME')}
      C: QUIT
      S: 221 bye
    `)
    await assert.rejects(other.client.send({ from: 'a@example.test', to: ['jürgen@example.test'], message: 'hi\r\n' }), (err: unknown) =>
      err instanceof ClientError && err.code === 'ERR_SMTP_UNSUPPORTED' && /SMTPUTF8/.test(err.message))
    await other.client.quit()
    await other.done
  })

  test('without SMTPUTF8, an internationalized domain goes out as A-labels; results keep the caller\'s spelling', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo()}
      C: MAIL FROM:<a@xn--bcher-kva.example>
      S: 250 Ok
      C: RCPT TO:<b@xn--bcher-kva.example>
      S: 250 Ok
      C: DATA
      S: 354 go
      C: hi
      C: .
      S: 250 Ok
    `)
    const result = await client.send({ from: 'a@bücher.example', to: ['b@bücher.example'], message: 'hi\r\n' })
    assert.deepEqual(result.accepted, ['b@bücher.example'])
    await done
  })

  test('sends DSN parameters when the server offers DSN, and refuses them otherwise', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('DSN')}
      C: MAIL FROM:<a@example.test> RET=HDRS ENVID=id+2B1
      S: 250 Ok
      C: RCPT TO:<b@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.test
      S: 250 Ok
      C: DATA
      S: 354 go
      C: hi
      C: .
      S: 250 Ok
    `)
    await client.send({
      from: 'a@example.test',
      to: ['b@example.test'],
      message: 'hi\r\n',
      mailParams: { ret: 'HDRS', envid: 'id+1' },
      rcptParams: (recipient) => ({ notify: ['SUCCESS', 'FAILURE'], orcpt: { addressType: 'rfc822', address: recipient } }),
    })
    await done

    const other = await ready(t, `
      ${ehlo()}
      C: QUIT
      S: 221 bye
    `)
    await assert.rejects(other.client.send({ from: 'a@example.test', to: ['b@example.test'], message: 'hi', mailParams: { ret: 'FULL' } }), (err: unknown) =>
      err instanceof ClientError && err.code === 'ERR_SMTP_UNSUPPORTED' && /DSN/.test(err.message))
    await assert.rejects(other.client.send({ from: 'a@example.test', to: ['b@example.test'], message: 'hi', rcptParams: { notify: 'NEVER' } }), (err: unknown) =>
      err instanceof ClientError && err.code === 'ERR_SMTP_UNSUPPORTED' && /DSN/.test(err.message))
    await other.client.quit()
    await other.done
  })

  test('refuses recipients with CR or LF before sending anything', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('PIPELINING')}
      C: QUIT
      S: 221 bye
    `)
    await assert.rejects(client.send({ from: 'a@example.test', to: ['b@example.test', 'c@example.test>\r\nDATA'], message }), TypeError)
    await assert.rejects(client.send({ from: 'a@example.test\r\nRSET', to: ['b@example.test'], message }), TypeError)
    await assert.rejects(client.send({ from: 'a@example.test', to: [], message }), TypeError)
    await client.quit()
    await done
  })

  test('uses BDAT when the server offers CHUNKING, after the RCPT replies are in', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('PIPELINING', 'CHUNKING')}
      C: MAIL FROM:<a@example.test>
      C: RCPT TO:<b@example.test>
      S: 250 Ok
      S: 250 Ok
      C: BDAT 4 LAST
      C: hi
      S: 250 2.0.0 Ok queued
    `)
    const result = await client.send({ from: 'a@example.test', to: ['b@example.test'], message: 'hi' })
    await done
    assert.deepEqual(result.reply.lines, ['Ok queued'])
  })

  test('BDAT with an empty message sends BDAT 0 LAST', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('CHUNKING')}
      C: MAIL FROM:<a@example.test>
      S: 250 Ok
      C: RCPT TO:<b@example.test>
      S: 250 Ok
      C: BDAT 0 LAST
      S: 250 Ok
    `)
    const result = await client.send({ from: 'a@example.test', to: ['b@example.test'], message: '' })
    await done
    assert.equal(result.bytes, 0)
  })

  test('a refused BDAT chunk stops the message and resets the transaction', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('CHUNKING')}
      C: MAIL FROM:<a@example.test>
      S: 250 Ok
      C: RCPT TO:<b@example.test>
      S: 250 Ok
      C: BDAT 8
      C: 123456
      S: 552 5.3.4 too big
      C: RSET
      S: 250 Ok
    `, { chunkBytes: 8 })
    async function* body(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('123456\r\n')
      yield Buffer.from('7890\r\n')
    }
    await assert.rejects(client.send({ from: 'a@example.test', to: ['b@example.test'], message: body() }), (err: unknown) =>
      err instanceof SmtpError && err.message === '552 5.3.4 too big (BDAT 8)')
    await done
  })

  test('uses DATA instead of BDAT when chunking is off', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('CHUNKING')}
      C: MAIL FROM:<a@example.test>
      S: 250 Ok
      C: RCPT TO:<b@example.test>
      S: 250 Ok
      C: DATA
      S: 354 go
      C: hi
      C: .
      S: 250 Ok
    `, { chunking: false })
    await client.send({ from: 'a@example.test', to: ['b@example.test'], message: 'hi' })
    await done
  })

  test('LMTP: one reply per accepted recipient after the data', async (t) => {
    const { client, done } = await ready(t, `
      S: 220 lmtp.test LMTP
      C: LHLO client.test
      S: 250-lmtp.test
      S: 250 PIPELINING
      C: MAIL FROM:<a@example.test>
      C: RCPT TO:<b@example.test>
      C: RCPT TO:<x@example.test>
      C: RCPT TO:<c@example.test>
      C: DATA
      S: 250 Ok
      S: 250 Ok
      S: 550 5.1.1 unknown
      S: 250 Ok
      S: 354 go
      C: hi
      C: .
      S: 250 2.0.0 <b@example.test> delivered
      S: 452 4.2.2 <c@example.test> over quota
    `, { lmtp: true })
    const result = await client.send({ from: 'a@example.test', to: ['b@example.test', 'x@example.test', 'c@example.test'], message: 'hi' })
    await done
    assert.deepEqual(result.accepted, ['b@example.test'])
    assert.deepEqual(result.rejected.map((r) => [r.recipient, r.error.code]), [['x@example.test', 550], ['c@example.test', 452]])
    assert.equal(result.lmtp?.length, 2)
    assert.equal(result.lmtp?.[1]?.error?.message, '452 4.2.2 <c@example.test> over quota (DATA for <c@example.test>)')
  })

  test('LMTP: data() returns each recipient reply, and rejects when all failed', async (t) => {
    const { client, done } = await ready(t, `
      S: 220 lmtp.test LMTP
      C: LHLO client.test
      S: 250 lmtp.test
      C: MAIL FROM:<a@example.test>
      S: 250 Ok
      C: RCPT TO:<b@example.test>
      S: 250 Ok
      C: RCPT TO:<c@example.test>
      S: 250 Ok
      C: DATA
      S: 354 go
      C: hi
      C: .
      S: 250 Ok b
      S: 250 Ok c
      C: MAIL FROM:<a@example.test>
      S: 250 Ok
      C: RCPT TO:<b@example.test>
      S: 250 Ok
      C: DATA
      S: 354 go
      C: hi
      C: .
      S: 550 5.2.1 mailbox disabled
    `, { lmtp: true })
    await client.mail('a@example.test')
    await client.rcpt('b@example.test')
    await client.rcpt('c@example.test')
    const reply = await client.data('hi')
    assert.deepEqual(reply.recipients?.map((r) => [r.recipient, r.reply.lines[0]]), [['b@example.test', 'Ok b'], ['c@example.test', 'Ok c']])
    await client.mail('a@example.test')
    await client.rcpt('b@example.test')
    await assert.rejects(client.data('hi'), AggregateError)
    await done
  })
})

describe('Client.send onProgress', () => {
  test("reports 'data' before the body is read and 'sent' before the terminator is written", async (t) => {
    const { client, done, serverSide } = await ready(t, `
      ${ehlo('PIPELINING')}
      C: MAIL FROM:<a@example.test>
      C: RCPT TO:<b@example.test>
      C: DATA
      S: 250 Ok
      S: 250 Ok
      S: 354 go ahead
      C: From: a@example.test
      C: Subject: hi
      C:
      C: Hello
      C: .
      S: 250 2.0.0 queued
    `)
    const events: string[] = []
    serverSide.on('data', (chunk: Buffer) => events.push(`wire ${JSON.stringify(chunk.toString().slice(-5))}`))
    async function* body() {
      events.push('source read')
      yield Buffer.from(message)
    }
    await client.send({ from: 'a@example.test', to: 'b@example.test', message: body(), onProgress: (stage) => events.push(stage) })
    await done
    const at = (event: string) => events.indexOf(event)
    assert.ok(at('data') >= 0 && at('data') < at('source read') && at('source read') < at('sent'), events.join(' | '))
    const terminator = events.findIndex((e) => e.startsWith('wire') && e.endsWith('.\\r\\n"'))
    assert.ok(terminator > at('sent'), events.join(' | '))
  })

  test('reports nothing when MAIL is refused, and only BDAT progress with CHUNKING', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('CHUNKING')}
      C: MAIL FROM:<a@example.test>
      S: 550 5.7.1 not you
      C: MAIL FROM:<a@example.test>
      S: 250 Ok
      C: RCPT TO:<b@example.test>
      S: 250 Ok
      C: BDAT ${message.length} LAST
      C: From: a@example.test
      C: Subject: hi
      C:
      C: Hello
      S: 250 2.0.0 queued
    `)
    const stages: string[] = []
    const onProgress = (stage: string) => stages.push(stage)
    await assert.rejects(client.send({ from: 'a@example.test', to: 'b@example.test', message, onProgress }), SmtpError)
    assert.deepEqual(stages, [])
    await client.send({ from: 'a@example.test', to: 'b@example.test', message, onProgress })
    await done
    assert.deepEqual(stages, ['data', 'sent'])
  })
})
