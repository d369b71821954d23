import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { duplexPair, type Duplex } from 'node:stream'
import { describe, test, type TestContext } from 'node:test'
import fc from 'fast-check'
import { Client } from '../../src/client/client.ts'
import { DotDecoder } from '../../src/protocol/dot-stuffing.ts'
import { ehlo, ready } from './scripted-client.ts'
import { splitAt } from '../helpers/split-at.ts'

const TERMINATOR = Buffer.from('\r\n.\r\n')

/**
 * A loopback SMTP sink that counts message octets without keeping them: DATA up to CRLF.CRLF
 * (which the client always writes last), and BDAT by the declared sizes.
 */
async function startSink(t: TestContext): Promise<{ port: number; received: number[] }> {
  const received: number[] = []
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    let mode: 'command' | 'data' | 'bdat' = 'command'
    let pending = ''
    let count = 0
    let tail = Buffer.alloc(0)
    let remaining = 0
    let last = false
    const command = (line: string): void => {
      const verb = line.slice(0, 4).toUpperCase()
      if (verb === 'EHLO') socket.write('250-sink.test\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 8BITMIME\r\n')
      else if (verb === 'MAIL' || verb === 'RCPT') socket.write('250 ok\r\n')
      else if (verb === 'DATA') {
        socket.write('354 go\r\n')
        mode = 'data'
        count = 0
        tail = Buffer.alloc(0)
      } else if (verb === 'BDAT') {
        const [, size, flag] = line.split(' ')
        remaining = Number(size)
        last = flag === 'LAST'
        mode = 'bdat'
        if (remaining === 0) endChunk()
      } else if (verb === 'QUIT') socket.end('221 bye\r\n')
      else socket.write('500 what\r\n')
    }
    const endChunk = (): void => {
      mode = 'command'
      if (last) {
        received.push(count)
        count = 0
        socket.write('250 message ok\r\n')
      } else {
        socket.write('250 chunk ok\r\n')
      }
    }
    socket.write('220 sink.test\r\n')
    socket.on('data', (chunk: Buffer) => {
      let i = 0
      while (i < chunk.length) {
        if (mode === 'command') {
          const lf = chunk.indexOf(0x0a, i)
          if (lf === -1) {
            pending += chunk.toString('latin1', i)
            return
          }
          const line = (pending + chunk.toString('latin1', i, lf)).replace(/\r$/, '')
          pending = ''
          i = lf + 1
          command(line)
        } else if (mode === 'data') {
          const piece = chunk.subarray(i)
          count += piece.length
          tail = Buffer.concat([tail, piece.subarray(Math.max(0, piece.length - 5))]).subarray(-5)
          i = chunk.length
          if (tail.equals(TERMINATOR)) {
            received.push(count)
            mode = 'command'
            socket.write('250 message ok\r\n')
          }
        } else {
          const take = Math.min(remaining, chunk.length - i)
          count += take
          remaining -= take
          i += take
          if (remaining === 0) endChunk()
        }
      }
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => {
    for (const socket of sockets) socket.destroy()
    server.close()
  })
  return { port: (server.address() as AddressInfo).port, received }
}

const LINE = Buffer.from(`${'x'.repeat(78)}\r\n`)
const CHUNK = Buffer.concat(Array.from({ length: 820 }, () => LINE))
const CHUNKS = 1525
const TOTAL = CHUNK.length * CHUNKS

/** ~100 MB of message as an async generator, sampling RSS as it goes. */
async function* bigMessage(samples: number[], chunks = CHUNKS): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < chunks; i++) {
    if (i % 25 === 0) samples.push(process.memoryUsage().rss)
    yield CHUNK
  }
  samples.push(process.memoryUsage().rss)
}

describe('streaming a large message', () => {
  for (const chunking of [true, false]) {
    const verb = chunking ? 'BDAT' : 'DATA'
    test(`streams ~100 MB through ${verb} with flat memory and an exact byte count`, async (t) => {
      const { port, received } = await startSink(t)
      const client = await Client.connect({ host: '127.0.0.1', port, tls: 'none', localName: 'client.test', chunking })
      t.after(() => client.close())
      assert.equal(client.extensions.has('CHUNKING'), true)
      // Warm up first (JIT, heap sizing), so the measurement shows growth with message size.
      await client.send({ from: 'a@example.test', to: ['b@example.test'], message: bigMessage([], 100) })
      const samples: number[] = []
      const baseline = process.memoryUsage().rss
      const result = await client.send({ from: 'a@example.test', to: ['b@example.test'], message: bigMessage(samples), signal: AbortSignal.timeout(60_000) })
      await client.quit()
      assert.equal(result.bytes, TOTAL)
      // DATA adds the terminator's `.CRLF`; BDAT sends the body alone.
      assert.equal(received[1], chunking ? TOTAL : TOTAL + 3)
      const growth = Math.max(...samples) - baseline
      t.diagnostic(`RSS growth ${(growth / 1048576).toFixed(1)} MiB`)
      assert.ok(growth < 64 * 1024 * 1024, `RSS grew by ${(growth / 1048576).toFixed(1)} MiB while streaming ${(TOTAL / 1048576).toFixed(0)} MiB`)
    })
  }
})

/**
 * A minimal in-memory server that decodes what the client sends: DATA through the protocol's
 * DotDecoder, BDAT by the declared sizes. Resolves with the message body it received.
 */
function receiveOne(peer: Duplex, chunking: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let mode: 'command' | 'data' | 'bdat' = 'command'
    let pending = Buffer.alloc(0)
    let decoder = new DotDecoder({ maxLineBytes: Infinity })
    const body: Buffer[] = []
    let remaining = 0
    let last = false
    peer.write('220 fake.test\r\n')
    peer.on('error', reject)
    peer.on('data', (chunk: Buffer) => {
      let buf = Buffer.concat([pending, chunk])
      pending = Buffer.alloc(0)
      while (buf.length > 0) {
        if (mode === 'command') {
          const lf = buf.indexOf(0x0a)
          if (lf === -1) {
            pending = buf
            return
          }
          const line = buf.toString('latin1', 0, lf - 1)
          buf = buf.subarray(lf + 1)
          const verb = line.slice(0, 4)
          if (verb === 'EHLO') peer.write(`250-fake.test\r\n250-PIPELINING\r\n${chunking ? '250-CHUNKING\r\n' : ''}250 8BITMIME\r\n`)
          else if (verb === 'DATA') {
            peer.write('354 go\r\n')
            mode = 'data'
            decoder = new DotDecoder({ maxLineBytes: Infinity })
          } else if (verb === 'BDAT') {
            const [, size, flag] = line.split(' ')
            remaining = Number(size)
            last = flag === 'LAST'
            mode = 'bdat'
            if (remaining === 0) {
              mode = 'command'
              peer.write('250 ok\r\n')
              if (last) resolve(Buffer.concat(body))
            }
          } else peer.write('250 ok\r\n')
        } else if (mode === 'data') {
          const result = decoder.decode(buf)
          body.push(...result.body.map((b) => Buffer.from(b)))
          if (result.end === -1) return
          buf = buf.subarray(result.end)
          mode = 'command'
          peer.write('250 ok\r\n')
          resolve(Buffer.concat(body))
        } else {
          const take = Math.min(remaining, buf.length)
          body.push(Buffer.from(buf.subarray(0, take)))
          buf = buf.subarray(take)
          remaining -= take
          if (remaining === 0) {
            mode = 'command'
            peer.write('250 ok\r\n')
            if (last) resolve(Buffer.concat(body))
          }
        }
      }
    })
  })
}

/** What the server must store: bare CR and LF made CRLF, and a final CRLF on a non-empty body. */
function normalise(bytes: Uint8Array): Buffer {
  let text = Buffer.from(bytes).toString('latin1').replace(/\r\n|\r|\n/g, '\r\n')
  if (text.length > 0 && !text.endsWith('\r\n')) text += '\r\n'
  return Buffer.from(text, 'latin1')
}


describe('message bytes on the wire', () => {
  // Bytes rich in the characters that matter: CR, LF and '.'.
  const body = fc.array(fc.constantFrom(0x0d, 0x0a, 0x2e, 0x61, 0xc3, 0x00), { maxLength: 200 }).map((a) => Uint8Array.from(a))
  for (const chunking of [false, true]) {
    test(`the server receives the CRLF-normalised message, whatever its bytes and chunking (${chunking ? 'BDAT' : 'DATA'})`, async () => {
      await fc.assert(
        fc.asyncProperty(body, fc.array(fc.nat(), { maxLength: 6 }), fc.integer({ min: 1, max: 64 }), async (bytes, cuts, chunkBytes) => {
          const [a, b] = duplexPair()
          try {
            const received = receiveOne(b, chunking)
            const client = await Client.fromSocket(a, { localName: 'client.test', chunkBytes })
            await client.hello()
            async function* source(): AsyncGenerator<Uint8Array> {
              yield* splitAt(bytes, cuts)
            }
            const result = await client.send({ from: 'a@example.test', to: ['b@example.test'], message: source(), mailParams: { body: '8BITMIME' } })
            assert.equal(result.bytes, bytes.length)
            assert.deepEqual(await received, normalise(bytes))
          } finally {
            a.destroy()
            b.destroy()
          }
        }),
        { numRuns: 150 },
      )
    })
  }
})

describe('a large string message', () => {
  test('goes out byte-exact through DATA over a socket that pushes back, though its pieces share one buffer', async (t) => {
    // Lines that need stuffing or repair, and characters of 2 to 4 UTF-8 bytes, so that pieces
    // end in every kind of place; about 600 KB, many 64 KiB pieces.
    const lines = ['.starts with a dot\r\n', 'plain ascii text for the bulk of the line\r\n', 'é ü ß\r\n', 'emoji 😀 and 𝄞\n', 'bare CR\r', '..two dots\r\n', '中文字符\r\n']
    let text = ''
    for (let i = 0; text.length < 600_000; i++) text += lines[(i * 7 + (i >> 3)) % lines.length]!
    const server = createServer()
    t.after(() => server.close())
    const received = new Promise<Buffer>((resolve, reject) => {
      server.once('connection', (socket: Socket) => {
        // A slow reader: the client's writes back up and wait for 'drain'.
        socket.on('data', () => {
          socket.pause()
          setTimeout(() => socket.resume(), 1)
        })
        receiveOne(socket, false).then(resolve, reject)
      })
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const client = await Client.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, tls: 'none', localName: 'client.test' })
    t.after(() => client.close())
    const result = await client.send({ from: 'a@example.test', to: ['b@example.test'], message: text })
    assert.equal(result.bytes, Buffer.byteLength(text, 'utf8'))
    assert.deepEqual(await received, normalise(Buffer.from(text, 'utf8')))
  })

  test('goes out byte-exact through DATA over a Duplex whose reader keeps the very buffers written', async () => {
    // Nothing to stuff or repair, so the pieces themselves are written, not copies of them.
    const text = Array.from({ length: 3000 }, (_, i) => `${String(i).padStart(100, '-')}\r\n`).join('')
    const [a, b] = duplexPair()
    try {
      // Chunks kept as they came, not copied: used again by the writer, they would change here.
      const kept: Buffer[] = []
      b.on('data', (chunk: Buffer) => kept.push(chunk))
      const received = receiveOne(b, false)
      const client = await Client.fromSocket(a, { localName: 'client.test' })
      await client.hello()
      await client.send({ from: 'a@example.test', to: ['b@example.test'], message: text })
      await received
      const wire = Buffer.concat(kept)
      const start = wire.indexOf('DATA\r\n') + 6
      const decoded = new DotDecoder({ maxLineBytes: Infinity }).decode(wire.subarray(start))
      assert.deepEqual(Buffer.concat(decoded.body), normalise(Buffer.from(text, 'utf8')))
    } finally {
      a.destroy()
      b.destroy()
    }
  })
})

describe('writing DATA from a slow source', () => {
  test('writes gathered small chunks when the source stalls, instead of holding them back', async (t) => {
    const { client, done } = await ready(t, `
      ${ehlo()}
      C: DATA
      S: 354 go
      C: first line
    `)
    let release = (): void => {}
    async function* trickle(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('first line\r\n')
      await new Promise<void>((resolve) => (release = resolve))
      yield Buffer.from('second line\r\n')
    }
    const data = client.data(trickle())
    // The transcript only completes if the first line went out while the source was stalled.
    await done
    release()
    client.close()
    await assert.rejects(data)
  })
})
