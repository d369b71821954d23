// Our Server for interop tests with real clients: on 127.0.0.1 port 0, offering STARTTLS with
// the test certificate, recording every delivered message byte for byte. Recipients whose local
// part starts with `nobody` are refused with 550 5.1.1. Closing is registered with the test, and
// any internal error the server reported fails it.
import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Server, SmtpError, type ConnectionInfo, type Envelope, type ServerOptions } from '../../src/server/index.ts'
import { serverCert, serverKey } from '../helpers/tls.ts'

/** The CA that signed the server's certificate, as a file for clients that take a path. */
export const CA_FILE = fileURLToPath(new URL('../helpers/tls-fixtures/ca.crt', import.meta.url))

/** One message as the server received it, with what it knew of the connection. */
export interface Delivered {
  envelope: Envelope
  bytes: Buffer
  isTls: boolean
  authenticatedAs: string | undefined
  connectionId: string
  helo: string | undefined
}

export async function startRecordingServer(
  t: TestContext,
  options: ServerOptions = {},
  implicitTls = false,
): Promise<{ port: number; delivered: Delivered[] }> {
  const delivered: Delivered[] = []
  const errors: unknown[] = []
  const server = new Server({
    hostname: 'mx.example.test',
    tls: { key: serverKey, cert: serverCert },
    onError: (error) => errors.push(error),
    ...options,
    limits: { authFailureDelayMs: 0, ...options.limits },
    newSession: (conn: ConnectionInfo) => ({
      rcpt(to) {
        if (to.startsWith('nobody@')) throw new SmtpError(550, '5.1.1', 'No such user here')
      },
      async data(message, envelope) {
        const chunks: Buffer[] = []
        for await (const chunk of message) chunks.push(chunk as Buffer)
        delivered.push({
          envelope,
          bytes: Buffer.concat(chunks),
          isTls: conn.isTls,
          authenticatedAs: conn.authenticatedAs,
          connectionId: conn.id,
          helo: conn.helo,
        })
      },
    }),
  })
  const { port } = await server.listen({ host: '127.0.0.1', port: 0, implicitTls })
  t.after(async () => {
    await server.close({ signal: AbortSignal.timeout(2000) })
    assert.deepEqual(errors, [], 'the server reported internal errors')
  })
  return { port, delivered }
}
