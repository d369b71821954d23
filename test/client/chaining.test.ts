// Chaining (RFC 2920 §3.1): behind the end of one message's data, the next message's MAIL, RCPT
// and DATA go out in the same write, when the server offers PIPELINING and a next message is at
// hand. Each transcript below is byte-exact and its order proves the chain: the scripted server
// expects the next envelope before it answers the previous message's end of data.
import assert from 'node:assert/strict'
import type { Duplex } from 'node:stream'
import { describe, test, type TestContext } from 'node:test'
import { Pool } from '../../src/client/pool.ts'
import { sendMail } from '../../src/client/send-mail.ts'
import { SmtpError } from '../../src/protocol/errors.ts'
import { ehlo, ready, scriptedPair } from './scripted-client.ts'

/** Records every write the client makes on `socket`, as latin1 text. */
function recordWrites(socket: Duplex): string[] {
  const writes: string[] = []
  const write = socket.write.bind(socket) as (chunk: unknown, ...rest: unknown[]) => boolean
  socket.write = ((chunk: unknown, ...rest: unknown[]) => {
    writes.push(Buffer.from(chunk as Uint8Array).toString('latin1'))
    return write(chunk, ...rest)
  }) as typeof socket.write
  return writes
}

/** A Pool of one connection whose socket is one end of a pair, the script playing the server on the other. */
function scriptedPool(t: TestContext, script: string): { pool: Pool; done: Promise<void>; writes: string[] } {
  const { clientSide, done } = scriptedPair(t, script)
  const writes = recordWrites(clientSide)
  const pool = new Pool(
    { host: 'mx.test', port: 25, tls: 'none', localName: 'client.test', socket: async () => clientSide },
    { maxConnections: 1 },
  )
  return { pool, done, writes }
}

const envelope = (n: number): string => `
  C: MAIL FROM:<a@example.test>
  C: RCPT TO:<r${n}@example.test>
  C: DATA`
const accepted = `
  S: 250 2.1.0 Ok
  S: 250 2.1.5 Ok
  S: 354 go ahead`
const body = (n: number): string => `
  C: message ${n}
  C: .`
const send = (target: { send: Pool['send'] }, n: number) => target.send({ from: 'a@example.test', to: `r${n}@example.test`, message: `message ${n}\r\n` })

// Three messages; the server refuses the chained MAIL (and so its RCPT and DATA) with 503: the
// second message is sent again alone, and the third waits for each reply.
const REFUSED_CHAIN = `
      ${ehlo('PIPELINING')}
      ${envelope(1)}
      ${accepted}
      ${body(1)}
      ${envelope(2)}
      S: 250 2.0.0 queued as 1
      S: 503 5.5.1 bad sequence of commands
      S: 503 5.5.1 bad sequence of commands
      S: 503 5.5.1 bad sequence of commands
      ${envelope(2)}
      ${accepted}
      ${body(2)}
      S: 250 2.0.0 queued as 2
      ${envelope(3)}
      ${accepted}
      ${body(3)}
      S: 250 2.0.0 queued as 3
`

describe('chaining on a Client', () => {
  test('a second send follows the first one\'s end of data in the same write, before its reply', async (t) => {
    const { client, done, clientSide } = await ready(t, `
      ${ehlo('PIPELINING')}
      ${envelope(1)}
      ${accepted}
      ${body(1)}
      ${envelope(2)}
      S: 250 2.0.0 queued as 1
      ${accepted}
      ${body(2)}
      S: 250 2.0.0 queued as 2
    `)
    const writes = recordWrites(clientSide)
    const [first, second] = await Promise.all([send(client, 1), send(client, 2)])
    await done
    assert.equal(first.reply.lines[0], 'queued as 1')
    assert.deepEqual(first.accepted, ['r1@example.test'])
    assert.equal(second.reply.lines[0], 'queued as 2')
    assert.deepEqual(second.accepted, ['r2@example.test'])
    assert.ok(writes.includes('message 1\r\n.\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<r2@example.test>\r\nDATA\r\n'), JSON.stringify(writes))
  })

  test('a refusal of the first message stays with it; the chained one is delivered', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('PIPELINING')}
      ${envelope(1)}
      ${accepted}
      ${body(1)}
      ${envelope(2)}
      S: 554 5.7.1 rejected as spam
      ${accepted}
      ${body(2)}
      S: 250 2.0.0 queued as 2
    `)
    const [first, second] = await Promise.allSettled([send(client, 1), send(client, 2)])
    await done
    assert.equal(first.status, 'rejected')
    assert.ok((first as PromiseRejectedResult).reason instanceof SmtpError)
    assert.equal(((first as PromiseRejectedResult).reason as SmtpError).code, 554)
    assert.equal(second.status, 'fulfilled')
    assert.equal((second as PromiseFulfilledResult<{ reply: { lines: readonly string[] } }>).value.reply.lines[0], 'queued as 2')
  })

  test('a 503 to the chained MAIL: that message is sent again alone, and later ones wait for each reply', async (t) => {
    const { client, done } = await ready(t, REFUSED_CHAIN)
    const results = await Promise.all([send(client, 1), send(client, 2), send(client, 3)])
    await done
    assert.deepEqual(results.map((r) => r.reply.lines[0]), ['queued as 1', 'queued as 2', 'queued as 3'])
  })

  test('without PIPELINING, the next envelope waits for the reply to the end of data', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo()}
      C: MAIL FROM:<a@example.test>
      S: 250 Ok
      C: RCPT TO:<r1@example.test>
      S: 250 Ok
      C: DATA
      S: 354 go ahead
      ${body(1)}
      S: 250 2.0.0 queued as 1
      C: MAIL FROM:<a@example.test>
      S: 250 Ok
      C: RCPT TO:<r2@example.test>
      S: 250 Ok
      C: DATA
      S: 354 go ahead
      ${body(2)}
      S: 250 2.0.0 queued as 2
    `)
    const results = await Promise.all([send(client, 1), send(client, 2)])
    await done
    assert.deepEqual(results.map((r) => r.reply.lines[0]), ['queued as 1', 'queued as 2'])
  })

  test('BDAT: the next envelope follows BDAT n LAST in the same write', async (t) => {
    const { client, done, clientSide } = await ready(t, `
      ${ehlo('PIPELINING', 'CHUNKING')}
      C: MAIL FROM:<a@example.test>
      C: RCPT TO:<r1@example.test>
      S: 250 Ok
      S: 250 Ok
      C: BDAT 11 LAST
      C: message 1
      C: MAIL FROM:<a@example.test>
      C: RCPT TO:<r2@example.test>
      S: 250 2.0.0 queued as 1
      S: 250 Ok
      S: 250 Ok
      C: BDAT 11 LAST
      C: message 2
      S: 250 2.0.0 queued as 2
    `)
    const writes = recordWrites(clientSide)
    const results = await Promise.all([send(client, 1), send(client, 2)])
    await done
    assert.deepEqual(results.map((r) => r.reply.lines[0]), ['queued as 1', 'queued as 2'])
    assert.ok(writes.includes('BDAT 11 LAST\r\nmessage 1\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<r2@example.test>\r\n'), JSON.stringify(writes))
  })
})

describe('chaining in a Pool', () => {
  test('queued messages go out one write each: end of data, then the next envelope', async (t) => {
    const { pool, done, writes } = scriptedPool(t, `
      ${ehlo('PIPELINING')}
      ${envelope(1)}
      ${accepted}
      ${body(1)}
      ${envelope(2)}
      S: 250 2.0.0 queued as 1
      ${accepted}
      ${body(2)}
      ${envelope(3)}
      S: 250 2.0.0 queued as 2
      ${accepted}
      ${body(3)}
      S: 250 2.0.0 queued as 3
      C: QUIT
      S: 221 bye
    `)
    const results = await Promise.all([send(pool, 1), send(pool, 2), send(pool, 3)])
    await pool.close()
    await done
    assert.deepEqual(results.map((r) => r.reply.lines[0]), ['queued as 1', 'queued as 2', 'queued as 3'])
    const group = (n: number): string => `message ${n - 1}\r\n.\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<r${n}@example.test>\r\nDATA\r\n`
    assert.ok(writes.includes(group(2)) && writes.includes(group(3)), JSON.stringify(writes))
  })

  test('a server that answers the chained MAIL with 503 puts the pool back on one group per message', async (t) => {
    const { pool, done } = scriptedPool(t, `${REFUSED_CHAIN}
      C: QUIT
      S: 221 bye
    `)
    const results = await Promise.all([send(pool, 1), send(pool, 2), send(pool, 3)])
    await pool.close()
    await done
    assert.deepEqual(results.map((r) => r.reply.lines[0]), ['queued as 1', 'queued as 2', 'queued as 3'])
  })

  test('a refused recipient of a chained message is its own; the message before it is unaffected', async (t) => {
    const { pool, done } = scriptedPool(t, `
      ${ehlo('PIPELINING')}
      ${envelope(1)}
      ${accepted}
      ${body(1)}
      ${envelope(2)}
      S: 250 2.0.0 queued as 1
      S: 250 2.1.0 Ok
      S: 550 5.1.1 no such user
      S: 554 5.5.1 no valid recipients
      C: RSET
      S: 250 Ok
      C: RSET
      S: 250 Ok
      C: QUIT
      S: 221 bye
    `)
    const [first, second] = await Promise.allSettled([send(pool, 1), send(pool, 2)])
    await pool.close()
    await done
    assert.equal(first.status, 'fulfilled')
    assert.equal(second.status, 'rejected')
    assert.ok((second as PromiseRejectedResult).reason instanceof AggregateError)
  })
})

// sendMail's one message under PIPELINING: QUIT goes out behind the end of the data.
function quitBehindDot(): string {
  return `
      ${ehlo('PIPELINING')}
      ${envelope(1)}
      ${accepted}
      ${body(1)}
      C: QUIT
      S: 250 2.0.0 queued as 1
      S: 221 2.0.0 bye
      --- expect-close
    `
}

// sendMail of one message to r1 over the client's end of a scripted pair.
const sendOne = (clientSide: Duplex, message: string | AsyncIterable<Uint8Array>) =>
  sendMail({ host: 'mx.test', port: 25, tls: 'none', localName: 'client.test', socket: async () => clientSide }, { from: 'a@example.test', to: 'r1@example.test', message })

describe('sendMail', () => {
  test('QUIT follows the end of the data in the same write under PIPELINING', async (t) => {
    const { clientSide, done } = scriptedPair(t, quitBehindDot())
    const writes = recordWrites(clientSide)
    const result = await sendOne(clientSide, 'message 1\r\n')
    await done
    assert.equal(result.reply.lines[0], 'queued as 1')
    assert.ok(writes.includes('message 1\r\n.\r\nQUIT\r\n'), JSON.stringify(writes))
  })

  test('QUIT follows the end of streamed data in the same write, and BDAT LAST likewise', async (t) => {
    for (const chunking of [false, true]) {
      const { clientSide, done } = scriptedPair(t, chunking
        ? `
      ${ehlo('PIPELINING', 'CHUNKING')}
      C: MAIL FROM:<a@example.test>
      C: RCPT TO:<r1@example.test>
      S: 250 2.1.0 Ok
      S: 250 2.1.5 Ok
      C: BDAT 11 LAST
      C: message 1
      C: QUIT
      S: 250 2.0.0 queued as 1
      S: 221 2.0.0 bye
      --- expect-close
    `
        : quitBehindDot())
      const writes = recordWrites(clientSide)
      async function* message(): AsyncGenerator<Buffer> {
        yield Buffer.from('message 1\r\n')
      }
      const result = await sendOne(clientSide, message())
      await done
      assert.equal(result.reply.lines[0], 'queued as 1')
      const end = chunking ? 'BDAT 11 LAST\r\nmessage 1\r\nQUIT\r\n' : '.\r\nQUIT\r\n'
      assert.ok(writes.some((w) => w.endsWith(end)), JSON.stringify(writes))
    }
  })

  test('a refused message still quits once, behind its end of data', async (t) => {
    const { clientSide, done } = scriptedPair(t, `
      ${ehlo('PIPELINING')}
      ${envelope(1)}
      ${accepted}
      ${body(1)}
      C: QUIT
      S: 554 5.7.1 rejected
      S: 221 2.0.0 bye
      --- expect-close
    `)
    await assert.rejects(
      sendOne(clientSide, 'message 1\r\n'),
      (err: unknown) => err instanceof SmtpError && err.code === 554,
    )
    await done
  })
})

describe('many sends at once on one Client', () => {
  test('are written in the order they were called, each taking its turn once', async (t) => {
    const count = 50
    let script = ehlo('PIPELINING')
    for (let n = 1; n <= count; n++) {
      script += envelope(n) + (n > 1 ? `\n      S: 250 2.0.0 queued as ${n - 1}` : '') + accepted + body(n)
    }
    script += `\n      S: 250 2.0.0 queued as ${count}`
    const { client, done } = await ready(t, script)
    const results = await Promise.all(Array.from({ length: count }, (_, i) => send(client, i + 1)))
    await done
    assert.deepEqual(results.map((r) => r.reply.lines[0]), Array.from({ length: count }, (_, i) => `queued as ${i + 1}`))
  })

  test('one whose signal aborts while it waits for its turn leaves the others and the connection as they were', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo('PIPELINING')}
      ${envelope(1)}
      ${accepted}
      ${body(1)}
      ${envelope(3)}
      S: 250 2.0.0 queued as 1
      ${accepted}
      ${body(3)}
      S: 250 2.0.0 queued as 3
    `)
    const controller = new AbortController()
    const first = send(client, 1)
    const second = client.send({ from: 'a@example.test', to: 'r2@example.test', message: 'message 2\r\n', signal: controller.signal })
    const third = send(client, 3)
    controller.abort(new Error('not this one'))
    await assert.rejects(second, /not this one/)
    const results = await Promise.all([first, third])
    await done
    assert.deepEqual(results.map((r) => r.reply.lines[0]), ['queued as 1', 'queued as 3'])
  })
})
