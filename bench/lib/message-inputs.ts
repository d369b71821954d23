// Inputs shared by the message benchmark (bench/message.ts) and the output fingerprint
// (bench/lib/message-fingerprint.ts): one small message in the shape both smtpkit's compose() and
// nodemailer's MailComposer take, a DKIM key kept across runs, and a big attachment file.
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { closeSync, existsSync, openSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A fixed date, so every run composes the same header fields. */
export const BENCH_DATE = new Date('2026-01-02T03:04:05Z')

export const DKIM_DOMAIN = 'example.test'
export const DKIM_SELECTOR = 'bench'

const TEXT_LINE = 'The quick brown fox jumps over the lazy dog, then naps in the sun for a while.'
const TEXT = [
  'Hallo Bob,',
  '',
  ...Array.from({ length: 10 }, (_, i) => `${i + 1}. ${TEXT_LINE}`),
  '',
  'Grüße,',
  'Alice',
].join('\n')
const HTML = [
  '<!doctype html><html><body>',
  '<p>Hallo <b>Bob</b>,</p>',
  '<ul>',
  ...Array.from({ length: 10 }, (_, i) => `  <li style="color: #333">${i + 1}. ${TEXT_LINE}</li>`),
  '</ul>',
  '<p>Grüße,<br>Alice</p>',
  '</body></html>',
].join('\n')

/** The fields of the small message (~3 KB composed): display names, a UTF-8 subject, text and HTML. */
export function smallMail(): {
  from: { name: string; address: string }
  to: (string | { name: string; address: string })[]
  cc: string
  subject: string
  text: string
  html: string
  date: Date
} {
  return {
    from: { name: 'Alice Ärger', address: 'alice@example.test' },
    to: ['"Bob Builder" <bob@example.test>', { name: 'Carol Çelik', address: 'carol@example.test' }],
    cc: 'Dave <dave@example.test>',
    subject: 'Grüße aus Zürich: the quarterly report ✓',
    text: TEXT,
    html: HTML,
    date: BENCH_DATE,
  }
}

/**
 * A 2048-bit RSA key for DKIM, generated once and kept in the temporary directory, so that runs
 * (and the before/after fingerprints) sign with the same key.
 */
export function benchDkimKey(): KeyObject {
  const path = join(tmpdir(), 'smtpkit-bench-dkim-rsa2048.pem')
  if (!existsSync(path)) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    writeFileSync(`${path}.part`, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 })
    renameSync(`${path}.part`, path)
  }
  return createPrivateKey(readFileSync(path))
}

/**
 * A file of `bytes` pseudo-random bytes in the temporary directory, written once and reused: the
 * big attachment both libraries read by path.
 */
export function benchAttachmentFile(bytes: number): string {
  const path = join(tmpdir(), `smtpkit-bench-attachment-${bytes}.bin`)
  if (existsSync(path) && statSync(path).size === bytes) return path
  const block = Buffer.alloc(1 << 20)
  // xorshift32: cheap, deterministic, and incompressible enough to look like a binary file.
  let x = 0x9e3779b9
  const fd = openSync(`${path}.part`, 'w')
  try {
    for (let written = 0; written < bytes; written += block.length) {
      for (let i = 0; i < block.length; i += 4) {
        x ^= x << 13
        x ^= x >>> 17
        x ^= x << 5
        block.writeUInt32LE(x >>> 0, i)
      }
      writeSync(fd, block, 0, Math.min(block.length, bytes - written))
    }
  } finally {
    closeSync(fd)
  }
  renameSync(`${path}.part`, path)
  return path
}
