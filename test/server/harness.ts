// Shared setup for the server tests: a Server on one end of an in-memory duplex pair, the
// transcript player on the other, and cleanup that leaves no stream or timer behind.
import { duplexPair, type Duplex } from 'node:stream'
import type { TestContext } from 'node:test'
import { Server, type ServerOptions } from '../../src/server/index.ts'
import { playTranscript } from '../helpers/transcript.ts'

export const HOST = 'mx.example.test'

/** The EHLO reply of a default server without TLS or AUTH, for transcripts. */
export const EHLO_REPLY = `
  S: 250-${HOST}
  S: 250-PIPELINING
  S: 250-SIZE 26214400
  S: 250-8BITMIME
  S: 250-BINARYMIME
  S: 250-CHUNKING
  S: 250-SMTPUTF8
  S: 250-DSN
  S: 250 ENHANCEDSTATUSCODES`

/** The greeting, EHLO and one transaction (a@ to b@) up to DATA's 354, where many tests start. */
export const UP_TO_DATA = `
  S: 220 ${HOST} ESMTP ready
  C: EHLO client.example
  ${EHLO_REPLY}
  C: MAIL FROM:<a@example.test>
  S: 250 2.1.0 Sender OK
  C: RCPT TO:<b@example.test>
  S: 250 2.1.5 Recipient OK
  C: DATA
  S: 354 End data with <CR><LF>.<CR><LF>`

/** {@link EHLO_REPLY} with more keywords after it, such as `AUTH PLAIN LOGIN`. */
export function ehloReplyWith(...keywords: string[]): string {
  const lines = [EHLO_REPLY.replace('S: 250 ENHANCEDSTATUSCODES', 'S: 250-ENHANCEDSTATUSCODES')]
  keywords.forEach((keyword, i) => lines.push(`  S: 250${i === keywords.length - 1 ? ' ' : '-'}${keyword}`))
  return lines.join('\n')
}

export interface Harness {
  server: Server
  /** The client's end of the pair. */
  peer: Duplex
  /** Settles when the server side of the connection has closed. */
  closed: Promise<void>
  /** Errors passed to onError. */
  errors: unknown[]
  /** Plays a transcript with the script as the client. */
  play(script: string, timeoutMs?: number): Promise<void>
}

/** Starts a server with `options` (hostname and a recording onError filled in) on a duplex pair. */
export function connect(t: TestContext, options: ServerOptions = {}): Harness {
  const errors: unknown[] = []
  const server = new Server({
    hostname: HOST,
    onError: (error) => errors.push(error),
    ...options,
    limits: { authFailureDelayMs: 0, ...options.limits },
  })
  const [serverSide, peer] = duplexPair()
  const closed = server.handle(serverSide, { remoteAddress: '192.0.2.1', remotePort: 40000, localAddress: '192.0.2.25', localPort: 25 })
  t.after(async () => {
    peer.end()
    peer.destroy()
    serverSide.destroy()
    await server.close({ signal: AbortSignal.timeout(1000) })
  })
  return {
    server,
    peer,
    closed,
    errors,
    play: (script, timeoutMs = 5000) => playTranscript(peer, script, { role: 'client', timeoutMs }),
  }
}

/** Reads a whole Readable into one Buffer. */
export async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk)
  return Buffer.concat(chunks)
}

/**
 * A minimal line client for exchanges a static transcript cannot script (random challenges):
 * `send` a line, `reply` reads one whole reply (all its lines).
 */
export class LineClient {
  #buffer = ''
  #wake: (() => void) | undefined
  readonly #peer: Duplex
  readonly #onData = (chunk: Buffer): void => {
    this.#buffer += chunk.toString('latin1')
    this.#wake?.()
  }

  constructor(peer: Duplex) {
    this.#peer = peer
    peer.on('data', this.#onData)
  }

  /** Bytes received and not yet returned as a reply. */
  get pending(): string {
    return this.#buffer
  }

  /** Stops reading the peer (before handing a socket to TLS). */
  detach(): void {
    this.#peer.off('data', this.#onData)
    this.#peer.pause()
  }

  send(line: string): void {
    this.#peer.write(`${line}\r\n`)
  }

  async reply(signal = AbortSignal.timeout(5000)): Promise<string> {
    for (;;) {
      const match = /^(?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n/.exec(this.#buffer)
      if (match) {
        this.#buffer = this.#buffer.slice(match[0].length)
        return match[0].slice(0, -2)
      }
      if (signal.aborted) throw new Error(`no complete reply; buffered ${JSON.stringify(this.#buffer)}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50)
        this.#wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
  }
}
