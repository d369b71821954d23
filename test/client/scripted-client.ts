// Test scaffolding for client transcript tests: our Client on one end of duplexPair(), a scripted
// server (test/helpers/transcript.ts) on the other. Not a test file itself.
import type { TestContext } from 'node:test'
import { duplexPair, type Duplex } from 'node:stream'
import { Client } from '../../src/client/client.ts'
import type { ClientOptions } from '../../src/client/options.ts'
import { playTranscript } from '../helpers/transcript.ts'

export interface Scripted {
  client: Client
  /** Settles when the scripted server has played every line; rejects on the first mismatch. */
  done: Promise<void>
  clientSide: Duplex
  serverSide: Duplex
}

/** The greeting and an EHLO exchange announcing `extensions`, as transcript lines. */
export function ehlo(...extensions: string[]): string {
  const lines = ['S: 220 mx.test ESMTP ready', 'C: EHLO client.test']
  const replies = ['mx.test greets client.test', ...extensions]
  replies.forEach((text, i) => lines.push(`S: 250${i === replies.length - 1 ? ' ' : '-'}${text}`))
  return lines.join('\n')
}

/**
 * Starts the scripted server and a Client on the other end, and waits for the greeting. When the
 * script fails, the client's side is destroyed so no call hangs.
 */
export async function scripted(t: TestContext, script: string, options: ClientOptions = {}): Promise<Scripted> {
  const { clientSide, serverSide, done } = scriptedPair(t, script)
  const client = await Client.fromSocket(clientSide, { localName: 'client.test', ...options })
  return { client, done, clientSide, serverSide }
}

/**
 * A socket pair whose server end plays `script`; both ends are destroyed when the test ends, and
 * the client's end as soon as the script fails, so no call hangs. For a Pool or sendMail given
 * the client's end through their `socket` option.
 */
export function scriptedPair(t: TestContext, script: string): { clientSide: Duplex; serverSide: Duplex; done: Promise<void> } {
  const [clientSide, serverSide] = duplexPair()
  t.after(() => {
    clientSide.destroy()
    serverSide.destroy()
  })
  const done = playTranscript(serverSide, script, { timeoutMs: 5000 })
  done.catch(() => clientSide.destroy())
  return { clientSide, serverSide, done }
}

/** Scripted, then EHLO already done. */
export async function ready(t: TestContext, script: string, options: ClientOptions = {}): Promise<Scripted> {
  const s = await scripted(t, script, options)
  await s.client.hello()
  return s
}
