// Plays one side of an SMTP conversation from a readable script, byte-exact, over any Duplex
// (usually one end of stream.duplexPair()). The other end is our client or server under test.
//
//   S: 220 mx.test ESMTP        the scripted side is the server: it sends this line
//   C: EHLO client.test         and expects exactly this line from the client under test
//
// With `role: 'client'` the meaning flips: C: lines are sent, S: lines are expected. Lines end
// with CRLF on the wire. Consecutive sent lines go out in one write; expected lines are matched
// however the bytes are chunked. Escapes in a line: \r \n \t \0 \\ and \xHH. A line ending in
// `\` is sent or expected without its CRLF (for raw, smuggling or injection tests).
// Directives:  `--- close` ends the scripted side; `--- expect-close` waits for the other side to
// close (end or destroy) and fails if it sends more bytes first.
import type { Duplex } from 'node:stream'

type Step =
  | { kind: 'send'; bytes: Buffer }
  | { kind: 'expect'; bytes: Buffer }
  | { kind: 'close' }
  | { kind: 'expect-close' }

export interface TranscriptOptions {
  /** Which side the script plays. Default 'server' (testing a client). */
  role?: 'server' | 'client'
  /** Fails the transcript if it has not finished by then. Default 5000 ms. */
  timeoutMs?: number
}

function unescape(text: string): string {
  return text.replace(/\\(x[0-9a-fA-F]{2}|[rnt0\\])/g, (_, e: string) => {
    switch (e) {
      case 'r': return '\r'
      case 'n': return '\n'
      case 't': return '\t'
      case '0': return '\0'
      case '\\': return '\\'
      default: return String.fromCharCode(Number.parseInt(e.slice(1), 16))
    }
  })
}

export function parseScript(script: string, role: 'server' | 'client' = 'server'): Step[] {
  const steps: Step[] = []
  for (const raw of script.split('\n')) {
    const line = raw.trim() === '' ? '' : raw.replace(/^\s+/, '')
    if (!line) continue
    if (line === '--- close') { steps.push({ kind: 'close' }); continue }
    if (line === '--- expect-close') { steps.push({ kind: 'expect-close' }); continue }
    const m = /^([SC]):( ?)(.*)$/.exec(line)
    if (!m) throw new Error(`bad transcript line: ${line}`)
    let body = m[3]!
    let eol = '\r\n'
    if (body.endsWith('\\') && !body.endsWith('\\\\')) { body = body.slice(0, -1); eol = '' }
    const bytes = Buffer.from(unescape(body) + eol, 'latin1')
    const sends = (m[1] === 'S') === (role === 'server')
    const last = steps[steps.length - 1]
    const kind = sends ? 'send' : 'expect'
    if (last && last.kind === kind) last.bytes = Buffer.concat([last.bytes, bytes])
    else steps.push({ kind, bytes })
  }
  return steps
}

function show(bytes: Buffer): string {
  return JSON.stringify(bytes.toString('latin1'))
}

/**
 * Runs the script against `peer`. Resolves when every step is done; rejects with a message that
 * shows expected and actual bytes on the first difference, or on timeout.
 */
export async function playTranscript(peer: Duplex, script: string, options: TranscriptOptions = {}): Promise<void> {
  const steps = parseScript(script, options.role ?? 'server')
  let received = Buffer.alloc(0)
  let ended = false
  let wake: (() => void) | undefined
  const onData = (chunk: Buffer): void => { received = Buffer.concat([received, chunk]); wake?.() }
  const onEnd = (): void => { ended = true; wake?.() }
  peer.on('data', onData)
  peer.on('end', onEnd)
  peer.on('close', onEnd)
  peer.on('error', onEnd)
  const deadline = AbortSignal.timeout(options.timeoutMs ?? 5000)
  const waitForMore = (): Promise<void> =>
    new Promise((resolve, reject) => {
      if (deadline.aborted) return reject(new Error('transcript timed out'))
      const onAbort = (): void => reject(new Error(`transcript timed out; received so far ${show(received)}`))
      deadline.addEventListener('abort', onAbort, { once: true })
      wake = () => { wake = undefined; deadline.removeEventListener('abort', onAbort); resolve() }
    })
  try {
    for (const step of steps) {
      if (step.kind === 'send') {
        peer.write(step.bytes)
      } else if (step.kind === 'close') {
        peer.end()
      } else if (step.kind === 'expect') {
        while (received.length < step.bytes.length && !ended) {
          if (!received.equals(step.bytes.subarray(0, received.length))) break
          await waitForMore()
        }
        const got = received.subarray(0, step.bytes.length)
        if (!got.equals(step.bytes)) {
          throw new Error(`transcript mismatch\n  expected ${show(step.bytes)}\n  received ${show(received)}`)
        }
        received = received.subarray(step.bytes.length)
      } else {
        while (!ended && received.length === 0) await waitForMore()
        if (received.length > 0) throw new Error(`expected the peer to close, but it sent ${show(received)}`)
      }
    }
  } finally {
    peer.off('data', onData)
    peer.off('end', onEnd)
    peer.off('close', onEnd)
    peer.off('error', onEnd)
  }
}
