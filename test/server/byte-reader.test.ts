// ByteReader: the server's pull-style reads from a socket, with one shared timer.
import assert from 'node:assert/strict'
import { Duplex } from 'node:stream'
import { test } from 'node:test'
import { ByteReader } from '../../src/server/byte-reader.ts'

/** A socket stand-in: what the peer sends is pushed into the readable side, as a socket does. */
class FakeSocket extends Duplex {
  override _read(): void {}
  override _write(_chunk: unknown, _encoding: BufferEncoding, callback: () => void): void {
    callback()
  }
  send(data: string): void {
    this.push(Buffer.from(data, 'latin1'))
  }
}

const text = (result: Buffer | string): string => (typeof result === 'string' ? `<${result}>` : result.toString('latin1'))

test('returns chunks in order; bytes written before the first read come out together', async () => {
  const stream = new FakeSocket()
  stream.send('EHLO a\r\n')
  stream.send('NOOP\r\n')
  const reader = new ByteReader(stream)
  assert.equal(text(await reader.read(1000)), 'EHLO a\r\nNOOP\r\n')
  const next = reader.read(1000)
  stream.send('QUIT\r\n')
  assert.equal(text(await next), 'QUIT\r\n')
  stream.push(null)
  assert.equal(text(await reader.read(1000)), '<end>')
})

test('reads ahead at most one chunk while nobody waits: the stream is paused', async () => {
  const stream = new FakeSocket()
  const reader = new ByteReader(stream)
  const first = reader.read(1000)
  stream.send('one\r\n')
  assert.equal(text(await first), 'one\r\n')
  stream.send('two\r\n')
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(stream.isPaused(), true)
  stream.send('three\r\n')
  // 'two' was taken while flowing; 'three' waits in the stream's own buffer, and comes next.
  assert.equal(text(await reader.read(1000)), 'two\r\n')
  assert.equal(text(await reader.read(1000)), 'three\r\n')
})

test('unread puts bytes back in front', async () => {
  const stream = new FakeSocket()
  const reader = new ByteReader(stream)
  stream.send('later\r\n')
  reader.unread(Buffer.from('first\r\n'))
  assert.equal(text(await reader.read(1000)), 'first\r\n')
  assert.equal(text(await reader.read(1000)), 'later\r\n')
})

test('a wait with nothing arriving ends with timeout; the next read still gets later bytes', async () => {
  const stream = new FakeSocket()
  const reader = new ByteReader(stream)
  assert.equal(text(await reader.read(20)), '<timeout>')
  const next = reader.read(1000)
  stream.send('late\r\n')
  assert.equal(text(await next), 'late\r\n')
})

test('interrupt ends an interruptible wait and every later one with aborted, but not other waits', async () => {
  const stream = new FakeSocket()
  const reader = new ByteReader(stream)
  const idle = reader.read(1000, true)
  reader.interrupt()
  assert.equal(text(await idle), '<aborted>')
  assert.equal(text(await reader.read(1000, true)), '<aborted>')
  const inTransaction = reader.read(1000, false)
  stream.send('DATA\r\n')
  assert.equal(text(await inTransaction), 'DATA\r\n')
})

test('detach hands back a chunk read ahead while nobody waited, and ends a pending read', async () => {
  const stream = new FakeSocket()
  const reader = new ByteReader(stream)
  const first = reader.read(1000)
  stream.send('STARTTLS\r\n')
  assert.equal(text(await first), 'STARTTLS\r\n')
  const pending = reader.read(1000)
  stream.send('EHLO a\r\n')
  assert.equal(text(await pending), 'EHLO a\r\n')
  // Arrives with no read waiting: kept by the reader, the stream paused.
  stream.send('injected\r\n')
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(Buffer.concat(reader.detach()).toString('latin1'), 'injected\r\n')
  assert.equal(text(await reader.read(1000)), '<end>')

  const other = new ByteReader(new FakeSocket())
  const waiting = other.read(1000)
  other.detach()
  assert.equal(text(await waiting), '<end>')
})

test('detach returns bytes still buffered in the stream', async () => {
  const stream = new FakeSocket()
  const reader = new ByteReader(stream)
  const first = reader.read(1000)
  stream.send('STARTTLS\r\nEHLO evil\r\n')
  assert.equal(text(await first), 'STARTTLS\r\nEHLO evil\r\n')
  stream.send('MAIL FROM:<x@y>\r\n')
  const rest = reader.detach()
  assert.equal(Buffer.concat(rest).toString('latin1'), 'MAIL FROM:<x@y>\r\n')
  assert.equal(text(await reader.read(1000)), '<end>')
  assert.equal(stream.listenerCount('data'), 0)
})

test('a stream error ends the wait with end and is kept', async () => {
  const stream = new FakeSocket()
  const reader = new ByteReader(stream)
  const waiting = reader.read(1000)
  stream.destroy(new Error('ECONNRESET'))
  assert.equal(text(await waiting), '<end>')
  assert.equal(reader.error?.message, 'ECONNRESET')
})
