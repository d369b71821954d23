// A small scriptable SMTP server on 127.0.0.1:0 for the pool tests: it speaks just enough SMTP
// (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT, pipelined), records every session, and lets a test
// change any reply or drop the connection. Not a test file itself.
import { once } from 'node:events'
import { createServer, type Server, type Socket } from 'node:net'
import type { TestContext } from 'node:test'

/** One connection as the fake server saw it. */
export interface FakeSession {
  readonly id: number
  readonly socket: Socket
  /** Every command line received, without CRLF. */
  readonly commands: string[]
  /** Every message received, dot-unstuffed, terminator removed. */
  readonly messages: Buffer[]
  /** Settles when the connection has closed. */
  readonly closed: Promise<void>
}

/** What a hook may answer: a reply line to send, `'close'` to drop the connection without a reply, or undefined for the default. */
export type HookAnswer = string | 'close' | undefined

export interface FakeServerOptions {
  /** EHLO keywords. Default PIPELINING and 8BITMIME. */
  readonly extensions?: readonly string[]
  /** Called for each command; may change the reply (or wait, by returning a promise). */
  readonly onCommand?: (session: FakeSession, line: string) => HookAnswer | Promise<HookAnswer>
  /** Called with the message data read so far, before the terminator; `'close'` drops the connection mid-body. */
  readonly onBody?: (session: FakeSession, received: Buffer) => 'close' | undefined
  /** Called when a whole message is in; may change the final reply. */
  readonly onMessage?: (session: FakeSession, data: Buffer) => HookAnswer | Promise<HookAnswer>
}

export interface FakeServer {
  readonly port: number
  readonly sessions: FakeSession[]
  /** The most connections that were open at once. */
  readonly maxConcurrent: number
  /** Every message received, in order of arrival. */
  readonly messages: Buffer[]
  /** The commands of all sessions whose verb is `verb`. */
  commands(verb: string): string[]
}

/** Starts a fake server; it is closed, with every connection, after the test. */
export async function startFakeServer(t: TestContext, options: FakeServerOptions = {}): Promise<FakeServer> {
  const sessions: FakeSession[] = []
  const messages: Buffer[] = []
  let open = 0
  let maxConcurrent = 0
  const server: Server = createServer({ noDelay: true }, (socket) => {
    open++
    maxConcurrent = Math.max(maxConcurrent, open)
    const session: FakeSession = {
      id: sessions.length + 1,
      socket,
      commands: [],
      messages: [],
      closed: once(socket, 'close').then(() => { open-- }),
    }
    sessions.push(session)
    void serve(session, options, messages)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(async () => {
    for (const session of sessions) session.socket.destroy()
    server.close()
    await once(server, 'close')
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  return {
    port: address.port,
    sessions,
    messages,
    get maxConcurrent() { return maxConcurrent },
    commands: (verb) => sessions.flatMap((s) => s.commands.filter((c) => c.split(' ')[0]!.toUpperCase() === verb)),
  }
}

async function serve(session: FakeSession, options: FakeServerOptions, all: Buffer[]): Promise<void> {
  const { socket } = session
  let buffer = Buffer.alloc(0)
  let notify: (() => void) | undefined
  let ended = false
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk])
    notify?.()
  })
  socket.on('close', () => { ended = true; notify?.() })
  socket.on('error', () => {})
  const more = (): Promise<void> => new Promise((resolve) => { notify = resolve })
  const send = (line: string): void => { if (!socket.destroyed) socket.write(`${line}\r\n`) }
  const drop = (): void => { socket.destroy() }

  send('220 fake.test ESMTP')
  const extensions = options.extensions ?? ['PIPELINING', '8BITMIME']
  for (;;) {
    let end = buffer.indexOf('\r\n')
    while (end === -1 && !ended) {
      await more()
      end = buffer.indexOf('\r\n')
    }
    if (end === -1) return
    const line = buffer.subarray(0, end).toString('utf8')
    buffer = buffer.subarray(end + 2)
    session.commands.push(line)
    const verb = line.split(' ')[0]!.toUpperCase()
    const answer = await options.onCommand?.(session, line)
    if (answer === 'close') return drop()
    if (answer !== undefined) {
      send(answer)
      if (answer.startsWith('421')) return drop()
      continue
    }
    if (verb === 'EHLO') {
      const lines = ['fake.test', ...extensions]
      lines.forEach((text, i) => send(`250${i === lines.length - 1 ? ' ' : '-'}${text}`))
    } else if (verb === 'QUIT') {
      send('221 2.0.0 Bye')
      socket.end()
      return
    } else if (verb === 'DATA') {
      send('354 End data with <CR><LF>.<CR><LF>')
      // The terminator may follow the DATA line's CRLF directly (an empty body).
      let body = Buffer.concat([Buffer.from('\r\n'), buffer])
      let stop = body.indexOf('\r\n.\r\n')
      while (stop === -1) {
        if (options.onBody?.(session, body.subarray(2)) === 'close') return drop()
        if (ended) return
        await more()
        body = Buffer.concat([Buffer.from('\r\n'), buffer])
        stop = body.indexOf('\r\n.\r\n')
      }
      buffer = body.subarray(stop + 5)
      const raw = body.subarray(2, stop + 2)
      const data = Buffer.from(raw.toString('latin1').replace(/\r\n\./g, '\r\n').replace(/^\./, ''), 'latin1')
      session.messages.push(data)
      all.push(data)
      const reply = await options.onMessage?.(session, data)
      if (reply === 'close') return drop()
      send(reply ?? `250 2.0.0 Ok: queued as ${session.id}.${session.messages.length}`)
      if (reply?.startsWith('421')) return drop()
    } else if (verb === 'MAIL' || verb === 'RCPT' || verb === 'RSET' || verb === 'NOOP') {
      send('250 2.0.0 Ok')
    } else {
      send('502 5.5.2 Command not recognized')
    }
  }
}
