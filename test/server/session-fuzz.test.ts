// Property tests of a whole server session over an in-memory duplex pair: random command streams
// drawn from a grammar of valid and invalid commands, sent in random chunkings. Bounded: a few
// hundred short runs.
import assert from 'node:assert/strict'
import { duplexPair, type Duplex } from 'node:stream'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { Server, type ServerOptions } from '../../src/server/index.ts'
import { HOST, readAll } from './harness.ts'

const MAX_MESSAGE_BYTES = 2000
const MAX_PENDING_REPLY_BYTES = 4096

// ---------------------------------------------------------------------------------------------
// The grammar. Each step is what a client sends, and which reply codes may answer it.

/** One step of a client: bytes, the codes its final reply may carry, and any follow-up. */
type Step =
  | { kind: 'line'; bytes: Buffer; codes: readonly number[] }
  | { kind: 'data'; body: Buffer; codes: readonly number[] }
  | { kind: 'auth'; bytes: Buffer; responses: readonly string[]; codes: readonly number[] }
  | { kind: 'quit' }

// Replies any command may get: too many errors, or a 421 that closes (RFC 5321 §3.8).
const ANY = [421]
const SEQUENCE = [503, 530]
const line = (text: string | Buffer, codes: readonly number[]): Step => ({
  kind: 'line',
  bytes: Buffer.concat([Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8'), Buffer.from('\r\n')]),
  codes: [...codes, ...ANY],
})

const domain = fc.constantFrom('client.example', 'x', '[192.0.2.1]', 'a.b.c.example', '')
const mailbox = fc.constantFrom('a@example.test', 'b@example.test', '', 'Postmaster', 'bad address', 'ü@example.test', '@x:a@b.test', 'a@[192.0.2.1]')
const mailParam = fc.constantFrom('', ' SIZE=10', ' SIZE=999999', ' BODY=8BITMIME', ' BODY=BINARYMIME', ' BODY=9BIT', ' SMTPUTF8', ' RET=HDRS', ' ENVID=x+2Bid', ' FROB=1', ' AUTH=<>', ' SIZE=abc')
const rcptParam = fc.constantFrom('', ' NOTIFY=NEVER', ' NOTIFY=SUCCESS,FAILURE', ' ORCPT=rfc822;a@b.test', ' NOTIFY=BOGUS', ' XYZ')
const safeText = fc.string({ unit: fc.constantFrom('a', 'B', '.', ' ', '-', '<', '>', ':', '@', '=', 'é'), maxLength: 20 })

// A body line: anything but CR and LF, stuffed if it starts with a dot, so that only the
// terminator we add can end the data; bare line endings and NULs come from the separators.
const bodyLine = fc.oneof(
  { weight: 5, arbitrary: fc.string({ unit: fc.constantFrom('a', '.', ' ', 'x', '\t', 'é'), maxLength: 30 }) },
  { weight: 1, arbitrary: fc.constantFrom('.', '..', 'MAIL FROM:<evil@example.test>', '\x00', 'x'.repeat(1200)) },
)
const separator = fc.oneof({ weight: 8, arbitrary: fc.constant('\r\n') }, { weight: 1, arbitrary: fc.constantFrom('\n', '\r', '\r\n\x00') })
const body = fc.array(fc.tuple(bodyLine, separator), { maxLength: 12 }).map((pairs) => {
  const text = pairs.map(([text, sep]) => `${text.startsWith('.') ? '.' : ''}${text}${sep}`).join('')
  // Never a CRLF.CRLF before the end: a dot after a NUL or bare ending is not at a line start.
  return Buffer.from(`${text}${text === '' || text.endsWith('\r\n') ? '' : '\r\n'}.\r\n`, 'utf8')
})
const base64ish = fc.oneof(
  fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes).toString('base64')),
  fc.constantFrom('*', '=', 'AHUAcHc=', 'AHUAcA==', '!!!', 'dQ==', 'cHc='),
)

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.tuple(fc.constantFrom('EHLO', 'HELO', 'ehlo'), domain).map(([verb, name]) => line(`${verb} ${name}`.trimEnd(), [250, 501])),
  fc.tuple(mailbox, mailParam).map(([box, params]) => line(`MAIL FROM:<${box}>${params}`, [250, 501, 552, 553, 555, ...SEQUENCE])),
  fc.tuple(mailbox, rcptParam).map(([box, params]) => line(`RCPT TO:<${box}>${params}`, [250, 452, 501, 553, 555, ...SEQUENCE])),
  body.map((bytes): Step => ({ kind: 'data', body: bytes, codes: [250, 552, 554, ...ANY] })),
  fc.constant(line('DATA x', [501, ...SEQUENCE])),
  fc.tuple(fc.nat({ max: 2 * MAX_MESSAGE_BYTES }), fc.boolean(), fc.uint8Array({ maxLength: 64 })).map(([size, last, seed]) => {
    const chunk = Buffer.alloc(size, seed.length > 0 ? Buffer.from(seed) : 'x')
    return { kind: 'line', bytes: Buffer.concat([Buffer.from(`BDAT ${size}${last ? ' LAST' : ''}\r\n`), chunk]), codes: [250, 501, 552, ...SEQUENCE, ...ANY] } as Step
  }),
  fc.constant(line('BDAT x', [501, ...SEQUENCE])),
  fc.constant(line('RSET', [250])),
  fc.constant(line('RSET x', [501])),
  fc.tuple(fc.constantFrom('NOOP', 'noop', 'NOOP x', 'HELP', 'VRFY a@b.test', 'VRFY', 'EXPN list', 'STARTTLS'), fc.constant(null)).map(([text]) => line(text, [250, 214, 252, 501, 502])),
  fc.tuple(fc.constantFrom('PLAIN', 'LOGIN', 'CRAM-MD5', 'FOO'), fc.option(base64ish, { nil: undefined }), fc.array(base64ish, { maxLength: 3 })).map(
    ([mechanism, initial, responses]): Step => ({
      kind: 'auth',
      bytes: Buffer.from(`AUTH ${mechanism}${initial === undefined ? '' : ` ${initial}`}\r\n`),
      responses,
      codes: [235, 454, 500, 501, 503, 504, 535, 530, ...ANY],
    }),
  ),
  // Broken lines: bare LF or CR inside, NUL, overlong, junk.
  fc.tuple(safeText, fc.constantFrom('\n', '\r'), safeText).map(([a, sep, b]) => line(`NOOP ${a}${sep}MAIL FROM:<evil@example.test>${b}`, [500])),
  fc.constant(line('NOOP \x00', [500])),
  fc.constant(line(`NOOP ${'x'.repeat(600)}`, [500])),
  fc.constant(line(`MAIL FROM:<${'x'.repeat(13_000)}@example.test>`, [500])),
  fc.uint8Array({ minLength: 1, maxLength: 40 }).map((bytes) => {
    const clean = Buffer.from(bytes.filter((byte) => byte !== 0x0a && byte !== 0x0d))
    return line(Buffer.concat([Buffer.from('X'), clean]), [500])
  }),
  fc.constant<Step>({ kind: 'quit' }),
)

// ---------------------------------------------------------------------------------------------
// Checking replies.

const REPLY_LINE = /^([2-5][0-9][0-9])([ -])([\x20-\x7e]*)$/

/** Splits complete replies off `text`: each is its lines (without CRLF); throws on a bad line. */
function takeReplies(state: { text: string }): string[][] {
  const replies: string[][] = []
  let current: string[] = []
  for (;;) {
    const end = state.text.indexOf('\r\n')
    if (end === -1) break
    const text = state.text.slice(0, end)
    state.text = state.text.slice(end + 2)
    assert.ok(!text.includes('\n') && !text.includes('\r'), `bare line ending in reply ${JSON.stringify(text)}`)
    const match = REPLY_LINE.exec(text)
    assert.ok(match, `not a valid reply line: ${JSON.stringify(text)}`)
    assert.ok(text.length + 2 <= 512, `reply line over 512 octets (RFC 5321 §4.5.3.1.5)`)
    const [, code, sep, rest] = match
    if (current.length > 0) assert.equal(code, current[0]!.slice(0, 3), 'every line of a multi-line reply has the same code')
    // RFC 3463: the enhanced code's class is the reply's first digit.
    const enhanced = /^([245])\.\d{1,3}\.\d{1,3}(?: |$)/.exec(rest!)
    if (enhanced) assert.equal(enhanced[1], code![0], `enhanced code class in ${JSON.stringify(text)}`)
    current.push(text)
    if (sep === ' ') {
      replies.push(current)
      current = []
    }
  }
  // A partial multi-line reply stays for the next call.
  if (current.length > 0) state.text = `${current.map((l) => `${l}\r\n`).join('')}${state.text}`
  return replies
}

/** The client end: reads replies as they come, and knows when the server closed. */
class Peer {
  readonly state = { text: '' }
  readonly replies: string[][] = []
  closed = false
  /** The first malformed reply line, if any. */
  failure: unknown
  #wake: (() => void) | undefined
  readonly #stream: Duplex

  constructor(stream: Duplex) {
    this.#stream = stream
    stream.on('data', (chunk: Buffer) => {
      this.state.text += chunk.toString('latin1')
      // Thrown here, the failure would surface inside the server's write; keep it for the test.
      try {
        this.replies.push(...takeReplies(this.state))
      } catch (error) {
        this.failure ??= error
      }
      this.#wake?.()
    })
    const onClose = (): void => {
      this.closed = true
      this.#wake?.()
    }
    stream.on('end', onClose)
    stream.on('close', onClose)
    stream.on('error', () => {})
  }

  /** The next reply, or null once the server has closed without one. */
  async next(signal: AbortSignal): Promise<string[] | null> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure
      const reply = this.replies.shift()
      if (reply) return reply
      if (this.closed) return null
      if (signal.aborted) throw new Error(`no reply; buffered ${JSON.stringify(this.state.text)}`)
      await new Promise<void>((resolve) => {
        const done = (): void => {
          signal.removeEventListener('abort', done)
          this.#wake = undefined
          resolve()
        }
        this.#wake = done
        signal.addEventListener('abort', done)
      })
    }
  }

  /** Writes `bytes` in pieces of the given sizes (cycled), letting the server run in between. */
  async write(bytes: Buffer, sizes: readonly number[]): Promise<void> {
    let at = 0
    for (let i = 0; at < bytes.length; i++) {
      const size = sizes.length === 0 ? bytes.length : sizes[i % sizes.length]!
      if (!this.#stream.destroyed && !this.#stream.writableEnded) this.#stream.write(bytes.subarray(at, at + size))
      at += size
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
}

/** A signal that aborts after `ms`, with a ref'd timer: a stuck server fails the run, not the process. */
function deadline(ms: number): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(new Error(`timed out after ${ms} ms`)), ms)
  return { signal: controller.signal, clear: () => clearTimeout(timer) }
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }))
}

function codeOf(reply: readonly string[]): number {
  return Number(reply[0]!.slice(0, 3))
}

function serverOptions(extra: Partial<ServerOptions>, errors: unknown[]): ServerOptions {
  return {
    hostname: HOST,
    onError: (error) => errors.push(error),
    auth: (request) => 'password' in request && request.username === 'u' && request.password === 'pw',
    authMechanisms: ['PLAIN', 'LOGIN', 'CRAM-MD5'],
    insecureAuthWithoutTls: true,
    ...extra,
    limits: { authFailureDelayMs: 0, maxMessageBytes: MAX_MESSAGE_BYTES, maxPendingReplyBytes: MAX_PENDING_REPLY_BYTES, ...extra.limits },
  }
}

const chunkSizes = fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 8 })
const maxBadCommands = fc.constantFrom(3, 1000)

describe('session fuzzing', () => {
  test('every command gets well-formed replies with a code allowed for it, in order, and only 221 or 421 closes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 25 }), chunkSizes, maxBadCommands, fc.boolean(), async (steps, sizes, bad, lenient) => {
        const errors: unknown[] = []
        const server = new Server(serverOptions({ insecureAcceptBareLineEndings: lenient, limits: { maxBadCommands: bad } }, errors))
        const [serverSide, client] = duplexPair()
        const closed = server.handle(serverSide, { remoteAddress: '192.0.2.1' })
        const peer = new Peer(client)
        const { signal, clear } = deadline(10_000)
        try {
          const greeting = await peer.next(signal)
          assert.equal(codeOf(greeting!), 220)
          let last = greeting!
          for (const s of steps) {
            if (peer.closed) break
            let reply: string[] | null
            let allowed: readonly number[]
            if (s.kind === 'quit') {
              await peer.write(Buffer.from('QUIT\r\n'), sizes)
              reply = await peer.next(signal)
              allowed = [221, 421]
            } else if (s.kind === 'data') {
              await peer.write(Buffer.from('DATA\r\n'), sizes)
              reply = await peer.next(signal)
              allowed = [354, 501, ...SEQUENCE, ...ANY]
              if (reply && codeOf(reply) === 354) {
                await peer.write(s.body, sizes)
                reply = await peer.next(signal)
                allowed = s.codes
              }
            } else if (s.kind === 'auth') {
              await peer.write(s.bytes, sizes)
              reply = await peer.next(signal)
              allowed = s.codes
              // Answer each 334 challenge; cancel with '*' when out of answers.
              for (let i = 0; reply && codeOf(reply) === 334; i++) {
                assert.match(reply[0]!, /^334 [A-Za-z0-9+/=]*$/)
                await peer.write(Buffer.from(`${s.responses[i] ?? '*'}\r\n`), sizes)
                reply = await peer.next(signal)
              }
            } else {
              await peer.write(s.bytes, sizes)
              reply = await peer.next(signal)
              allowed = s.codes
            }
            if (reply === null) {
              // The server closed: only after it said so.
              assert.ok([221, 421].includes(codeOf(last)), `closed without 221/421 after ${JSON.stringify(last)}`)
              break
            }
            assert.ok(allowed.includes(codeOf(reply)), `${JSON.stringify(reply)} is not an answer to ${JSON.stringify(s.kind === 'quit' ? 'QUIT' : s.kind === 'data' ? 'DATA' : s.bytes.subarray(0, 60).toString('latin1'))}`)
            last = reply
            // A 421 may follow the reply (too many errors, an unreadable BDAT chunk): it closes.
            if (codeOf(reply) !== 421 && codeOf(reply) !== 221 && peer.replies.length > 0) {
              last = (await peer.next(signal))!
              assert.equal(codeOf(last), 421)
            }
            if ([221, 421].includes(codeOf(last))) {
              client.end()
              await Promise.race([closed, rejectOnAbort(signal)])
              assert.equal(peer.replies.length, 0, 'nothing after the closing reply')
              break
            }
            assert.ok(serverSide.writableLength <= MAX_PENDING_REPLY_BYTES + 64 * 1024)
          }
          if (peer.failure !== undefined) throw peer.failure
          assert.equal(peer.state.text, '', 'no partial reply left')
        } finally {
          client.end()
          await Promise.race([closed, rejectOnAbort(signal)]).catch(() => {})
          clear()
          client.destroy()
          serverSide.destroy()
          await server.close({ signal: AbortSignal.timeout(1000) })
        }
        assert.deepEqual(errors, [], 'protocol errors never reach onError')
      }),
      { numRuns: 200 },
    )
  })

  test('a pipelined stream in any chunking gets only well-formed replies, and the server holds a bounded amount of it', async () => {
    const stepBytes = (s: Step): Buffer =>
      s.kind === 'quit' ? Buffer.from('QUIT\r\n') : s.kind === 'data' ? Buffer.concat([Buffer.from('DATA\r\n'), s.body]) : s.kind === 'auth' ? Buffer.concat([s.bytes, ...s.responses.map((r) => Buffer.from(`${r}\r\n`))]) : s.bytes
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 30 }), chunkSizes, async (steps, sizes) => {
        const errors: unknown[] = []
        const server = new Server(serverOptions({ limits: { maxBadCommands: 1000 } }, errors))
        const [serverSide, client] = duplexPair()
        const closed = server.handle(serverSide, { remoteAddress: '192.0.2.1' })
        const bytes = Buffer.concat([Buffer.from('EHLO client.example\r\n'), ...steps.map(stepBytes)])
        const largest = Math.max(64, ...sizes)
        let highest = 0
        const sample = (): void => {
          highest = Math.max(highest, serverSide.readableLength)
          assert.ok(serverSide.writableLength <= MAX_PENDING_REPLY_BYTES + 64 * 1024, `server holds ${serverSide.writableLength} reply bytes`)
        }
        // Write everything without reading a reply first, then read: the server must stop
        // reading while its replies go unread, and hold no more than its buffers allow.
        let at = 0
        for (let i = 0; at < bytes.length; i++) {
          const size = sizes.length === 0 ? 64 : sizes[i % sizes.length]!
          client.write(bytes.subarray(at, at + size))
          at += size
          if (i % 16 === 0) await new Promise((resolve) => setImmediate(resolve))
          sample()
        }
        client.end()
        const peer = new Peer(client)
        const { signal, clear } = deadline(10_000)
        const ticker = setInterval(sample, 1)
        try {
          await Promise.race([closed, rejectOnAbort(signal)])
        } finally {
          clear()
          clearInterval(ticker)
          client.destroy()
          serverSide.destroy()
          await server.close({ signal: AbortSignal.timeout(1000) })
        }
        // The readable side holds at most a high-water mark plus one write.
        assert.ok(highest <= serverSide.readableHighWaterMark + largest, `server buffered ${highest} unread bytes`)
        if (peer.failure !== undefined) throw peer.failure
        const codes = peer.replies.map(codeOf)
        assert.equal(codes[0], 220)
        const closing = codes.findIndex((code) => code === 221 || code === 421)
        if (closing !== -1) assert.equal(closing, codes.length - 1, 'nothing after 221 or 421')
        assert.equal(peer.state.text, '', 'no partial reply')
        assert.deepEqual(errors.map(String), [])
      }),
      { numRuns: 100 },
    )
  })

  test('the data hook gets exactly the unstuffed body, by DATA or BDAT, whatever the chunking', async () => {
    const text = fc.string({ unit: fc.constantFrom('a', '.', ' ', 'x', '\t', 'é', '\x7f'), maxLength: 20 })
    await fc.assert(
      fc.asyncProperty(fc.array(text, { maxLength: 15 }), chunkSizes, fc.boolean(), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 5 }), async (lines, sizes, useBdat, bdatSizes) => {
        const expected = Buffer.from(lines.map((l) => `${l}\r\n`).join(''), 'utf8')
        let message: Buffer | undefined
        const errors: unknown[] = []
        const server = new Server(serverOptions({ newSession: () => ({ async data(stream) { message = await readAll(stream) } }) }, errors))
        const [serverSide, client] = duplexPair()
        const closed = server.handle(serverSide, { remoteAddress: '192.0.2.1' })
        const peer = new Peer(client)
        let wire: Buffer
        if (useBdat) {
          const parts: Buffer[] = []
          let at = 0
          for (let i = 0; at < expected.length; i++) {
            const size = bdatSizes[i % bdatSizes.length]!
            const chunk = expected.subarray(at, at + size)
            parts.push(Buffer.from(`BDAT ${chunk.length}\r\n`), chunk)
            at += size
          }
          wire = Buffer.concat([...parts, Buffer.from('BDAT 0 LAST\r\n')])
        } else {
          const stuffed = lines.map((l) => `${l.startsWith('.') ? '.' : ''}${l}\r\n`).join('')
          wire = Buffer.from(`DATA\r\n${stuffed}.\r\n`, 'utf8')
        }
        await peer.write(Buffer.concat([Buffer.from('EHLO client.example\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n'), wire, Buffer.from('QUIT\r\n')]), sizes)
        client.end()
        const { signal, clear } = deadline(5000)
        try {
          await Promise.race([closed, rejectOnAbort(signal)])
        } finally {
          clear()
          client.destroy()
          serverSide.destroy()
          await server.close({ signal: AbortSignal.timeout(1000) })
        }
        if (peer.failure !== undefined) throw peer.failure
        const codes = peer.replies.map(codeOf)
        assert.equal(codes.at(-1), 221)
        assert.equal(codes.at(-2), 250)
        assert.deepEqual(message, expected)
        assert.deepEqual(errors, [])
      }),
      { numRuns: 200 },
    )
  })
})
