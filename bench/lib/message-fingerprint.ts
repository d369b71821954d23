// Prints a SHA-256 of what smtpkit's compose() and dkimSign() write for a fixed set of inputs, with
// node:crypto's randomBytes made deterministic (boundaries, Message-IDs) and the DKIM timestamp
// fixed, so an optimisation of src/message or src/dkim can be checked to change no output byte:
//
//   node --import tsx bench/lib/message-fingerprint.ts > before.txt   (edit)   ... > after.txt
//   diff before.txt after.txt
import crypto, { createHash } from 'node:crypto'
import { syncBuiltinESMExports } from 'node:module'
// Type-only imports are erased, so smtpkit is not loaded before randomBytes is replaced below.
import type { DkimSignOptions } from '../../src/dkim/index.ts'
import type { MessageInput } from '../../src/message/index.ts'
import { benchAttachmentFile, benchDkimKey, BENCH_DATE, DKIM_DOMAIN, DKIM_SELECTOR, smallMail } from './message-inputs.ts'

// A counter-mode stream from SHA-256: the same "random" bytes on every run. Installed before
// smtpkit is imported, and synced into the ESM view of node:crypto that smtpkit imports from.
let counter = 0
crypto.randomBytes = ((size: number): Buffer => {
  const out = Buffer.alloc(size)
  for (let at = 0; at < size; at += 32) createHash('sha256').update(`seed-${counter++}`).digest().copy(out, at)
  return out
}) as typeof crypto.randomBytes
syncBuiltinESMExports()

const { compose } = await import('../../src/message/index.ts')
const { dkimSign } = await import('../../src/dkim/index.ts')

function pseudoRandom(bytes: number, seed: number): Buffer {
  const out = Buffer.alloc(bytes)
  let x = seed
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

// Text whose relaxed canonical form differs from it: tabs, runs of spaces, trailing blanks, empty
// lines at the end.
const whitespaceText = Array.from({ length: 3000 }, (_, i) =>
  i % 3 === 0 ? `col\t${i}\t\tvalue  with   spaces \t` : i % 3 === 1 ? `plain line ${i} of ordinary prose text` : `  indented ${i}  `,
).join('\n') + '\n\n\n'

const inputs: Record<string, MessageInput> = {
  small: smallMail(),
  attachment: {
    ...smallMail(),
    attachments: [
      { filename: 'data.bin', content: pseudoRandom(300_000, 7) },
      { filename: 'logo.png', content: pseudoRandom(5_000, 11), cid: 'logo@bench' },
      { filename: 'notes.txt', content: whitespaceText },
    ],
  },
  whitespace: { from: 'a@example.test', to: 'b@example.test', subject: 'tabs', text: whitespaceText, date: BENCH_DATE, allow8bit: true },
  // A file of 3 MB and 5 bytes: many whole reads, then a short one.
  file: { ...smallMail(), attachments: [{ path: benchAttachmentFile(3_000_005) }] },
  generated: {
    from: 'a@example.test',
    to: 'b@example.test',
    date: BENCH_DATE,
    text: 'see attached',
    attachments: [{ filename: 'gen.txt', content: () => [Buffer.from(whitespaceText), Buffer.from('tail \t \r\n')] }],
  },
}

const key = benchDkimKey()
const seed = Buffer.alloc(32, 5)
const timestamp = new Date('2026-01-02T03:04:05Z')
const signatures: Record<string, DkimSignOptions | DkimSignOptions[]> = {
  relaxed: { domain: DKIM_DOMAIN, selector: DKIM_SELECTOR, privateKey: key, timestamp },
  simple: { domain: DKIM_DOMAIN, selector: DKIM_SELECTOR, privateKey: key, timestamp, canonicalization: 'simple/simple' },
  mixed: [
    { domain: DKIM_DOMAIN, selector: 'ed', privateKey: seed, timestamp, canonicalization: 'relaxed/simple' },
    { domain: DKIM_DOMAIN, selector: DKIM_SELECTOR, privateKey: key, timestamp, canonicalization: 'simple/relaxed', bodyLength: true },
  ],
}

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')
const collect = async (source: AsyncIterable<Uint8Array>): Promise<Buffer> => {
  const chunks: Uint8Array[] = []
  for await (const chunk of source) chunks.push(chunk)
  return Buffer.concat(chunks)
}

for (const [name, input] of Object.entries(inputs)) {
  counter = 0
  const message = compose({ ...input, messageId: `<${name}@bench.example.test>` })
  const composed = await message.toBuffer()
  console.log(`compose ${name.padEnd(10)} ${composed.length.toString().padStart(8)} ${sha(composed)}`)
  for (const [kind, options] of Object.entries(signatures)) {
    const signed = await collect(dkimSign(message, options).stream())
    console.log(`sign    ${`${name}/${kind}`.padEnd(20)} ${signed.length.toString().padStart(8)} ${sha(signed)}`)
    // The same bytes signed from a one-shot source, split into uneven chunks.
    const oneShot = (async function* () {
      for (let at = 0, step = 1; at < composed.length; at += step, step = (step * 7 + 3) % 70_001 + 1) yield composed.subarray(at, at + step)
    })()
    const spooled = await collect(dkimSign(oneShot, options))
    if (!spooled.equals(signed)) console.log(`sign    ${`${name}/${kind}`.padEnd(20)} one-shot source gave different bytes: ${sha(spooled)}`)
  }
}
