// `smtpkit send` when the other end is not what --server promised: a silent port, a web server,
// a STARTTLS port under --tls, a deadline for the whole send; and its usage and refusal messages.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer as createHttpServer } from 'node:http'
import { createServer, type Socket } from 'node:net'
import { describe, test, type TestContext } from 'node:test'
import { runSend } from '../../src/cli/send.ts'
import { runServe } from '../../src/cli/serve.ts'
import { Server, SmtpError } from '../../src/server/index.ts'
import { captureIo } from './cli-process.ts'

const envelope = ['--from', 'a@example.test', '--to', 'b@example.test', '--text', 'x']

/** A TCP port that accepts connections and never says a word. */
async function silentPort(t: TestContext): Promise<number> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => { sockets.add(socket); socket.on('error', () => {}) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => { for (const s of sockets) s.destroy(); server.close() })
  return (server.address() as { port: number }).port
}

async function smtpServer(t: TestContext): Promise<number> {
  const server = new Server({
    newSession: () => ({
      rcpt(to: string) {
        if (to.startsWith('nobody')) throw new SmtpError(550, '5.1.1', 'No such user here')
      },
    }),
  })
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 })
  t.after(() => server.close())
  return port
}

async function send(args: readonly string[]): Promise<{ code: number; stderr: string; ms: number }> {
  const { io, stderr } = captureIo()
  const started = Date.now()
  const code = await runSend([...args], io)
  return { code, stderr: stderr(), ms: Date.now() - started }
}

describe('smtpkit send against the wrong kind of port', () => {
  test('--timeout gives up on the whole send and says so: exit 3', async (t) => {
    const port = await silentPort(t)
    const { code, stderr, ms } = await send(['--server', `127.0.0.1:${port}`, ...envelope, '--timeout', '1s'])
    assert.equal(code, 3, stderr)
    assert.equal(stderr, 'smtpkit send: gave up after --timeout 1s: the send did not finish in time\n')
    assert.ok(ms < 20_000, `took ${ms} ms`)
  })

  test('a port that never greets is an early error saying an SMTP server greets at once', async (t) => {
    const port = await silentPort(t)
    const { code, stderr } = await send(['--server', `127.0.0.1:${port}`, ...envelope, '--greeting-timeout', '500ms'])
    assert.equal(code, 3, stderr)
    assert.match(stderr, /no greeting within 500 ms/)
    assert.match(stderr, new RegExp(`127\\.0\\.0\\.1:${port} accepted the connection but sent no SMTP greeting; an SMTP server greets at once`))
  })

  test('a web server\'s HTTP answer is named as such', async (t) => {
    // Node's HTTP server answers a connection that sends no request with 408 once headersTimeout passes.
    const http = createHttpServer({ headersTimeout: 200, requestTimeout: 300, connectionsCheckingInterval: 50 }, (_req, res) => res.end())
    http.listen(0, '127.0.0.1')
    await once(http, 'listening')
    t.after(() => { http.closeAllConnections(); http.close() })
    const { port } = http.address() as { port: number }
    const { code, stderr } = await send(['--server', `127.0.0.1:${port}`, ...envelope])
    assert.equal(code, 3, stderr)
    assert.match(stderr, /"HTTP\/1\.1 408/)
    assert.match(stderr, new RegExp(`127\\.0\\.0\\.1:${port} answered in HTTP: it is a web server's port, not an SMTP server's`))
  })

  test('--tls against a plain/STARTTLS port says the server did not start TLS, not "wrong version number"', async (t) => {
    const port = await smtpServer(t)
    const { code, stderr } = await send(['--server', `127.0.0.1:${port}`, '--tls', ...envelope])
    assert.equal(code, 3, stderr)
    assert.match(stderr, /the server did not start TLS/)
    assert.match(stderr, /ports 25 and 587 usually want STARTTLS/)
    assert.doesNotMatch(stderr, /wrong version number/)
  })
})

describe('smtpkit send and serve messages', () => {
  test('an unknown option is named without a stray quote, with what to write instead', async () => {
    const { code, stderr } = await send(['--server', '127.0.0.1:1', ...envelope, '--body', 'hello'])
    assert.equal(code, 2)
    assert.equal(stderr, 'smtpkit send: unknown option --body; use --text (or --html) for the body\nRun "smtpkit send --help" for the options.\n')
    const other = await send(['--server', '127.0.0.1:1', ...envelope, '--frobnicate'])
    assert.match(other.stderr, /^smtpkit send: unknown option --frobnicate\n/)
  })

  test('a refused recipient is printed once when every recipient is refused', async (t) => {
    const port = await smtpServer(t)
    const { code, stderr } = await send(['--server', `127.0.0.1:${port}`, '--from', 'a@example.test', '--to', 'nobody1@example.test', '--to', 'nobody2@example.test', '--text', 'x'])
    assert.equal(code, 1, stderr)
    assert.equal(stderr.match(/RCPT TO:<nobody1@example\.test>/g)?.length, 1, stderr)
    assert.equal(stderr.match(/RCPT TO:<nobody2@example\.test>/g)?.length, 1, stderr)
  })

  test('serve --auth without a colon says the value must be USER:PASS before anything about TLS', async () => {
    const { io, stderr } = captureIo()
    const code = await runServe(['--auth', 'alice', '--store', 'none', '--listen', '127.0.0.1:0'], io)
    assert.equal(code, 2)
    assert.match(stderr(), /^smtpkit serve: --auth must be USER:PASS, got "alice"\n/)
    assert.doesNotMatch(stderr(), /TLS/)
  })
})
