// Crash safety of `smtpkit serve`: SIGKILL in the middle of a stream of deliveries loses no
// message that got 250 and leaves no partial file in new/.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { sendMail } from '../../src/client/index.ts'
import { startServe } from './cli-process.ts'

const WORKERS = 4
const MAX_MESSAGES = 200
const KILL_AFTER = 50

function makeMessage(index: number): { marker: string; bytes: Buffer } {
  const marker = `m${index}-${randomBytes(8).toString('hex')}`
  // Sizes from 1 KiB to ~256 KiB, so a kill can land while a file is being written.
  const lines = 16 + ((index * 7919) % 4096)
  const body = `${`${marker} `.repeat(7)}\r\n`.repeat(lines)
  return { marker, bytes: Buffer.from(`From: a@example.test\r\nSubject: ${index}\r\nX-Marker: ${marker}\r\n\r\n${body}END ${marker}\r\n`) }
}

test('SIGKILL during deliveries: every message that got 250 is complete in new/, and new/ holds nothing partial', async (t) => {
  const serve = await startServe(t)
  const sent = new Map<string, Buffer>()
  const accepted = new Set<string>()
  let next = 0
  let killed = false
  const worker = async (): Promise<void> => {
    while (next < MAX_MESSAGES) {
      const { marker, bytes } = makeMessage(next++)
      sent.set(marker, bytes)
      try {
        await sendMail(
          { host: '127.0.0.1', port: serve.port, tls: 'none', timeouts: { connect: 5000 } },
          { from: 'a@example.test', to: 'b@example.test', message: bytes, signal: AbortSignal.timeout(20_000) },
        )
      } catch (error) {
        if (killed) return
        throw error
      }
      accepted.add(marker)
      if (accepted.size >= KILL_AFTER && !killed) {
        killed = true
        serve.child.kill('SIGKILL')
      }
    }
  }
  await Promise.all(Array.from({ length: WORKERS }, worker))
  assert.ok(killed, `the server was not killed: only ${accepted.size} messages were accepted`)
  await serve.stop()
  assert.equal(serve.child.signalCode, 'SIGKILL')

  const names = await readdir(join(serve.maildir, 'new'))
  const stored = new Map<string, string>()
  for (const name of names) {
    const text = await readFile(join(serve.maildir, 'new', name), 'latin1')
    const marker = /\r\nX-Marker: (\S+)\r\n/.exec(text)?.[1]
    assert.ok(marker, `${name} has no marker: a partial file in new/`)
    const original = sent.get(marker)
    assert.ok(original, `${name} holds a message that was never sent`)
    assert.match(text, /^Return-Path: <a@example\.test>\r\nReceived: /)
    assert.ok(text.endsWith(original.toString('latin1')), `${name} is incomplete (${text.length} bytes)`)
    stored.set(marker, name)
  }
  const lost = [...accepted].filter((marker) => !stored.has(marker))
  assert.deepEqual(lost, [], 'messages that got 250 are missing from new/')
  assert.ok(accepted.size >= KILL_AFTER)
  t.diagnostic(`accepted ${accepted.size}, in new/ ${names.length}, tmp/ leftovers ${(await readdir(join(serve.maildir, 'tmp'))).length}`)
})
