// Shared test material: fresh keys, a resolver answering from a map, and sample messages.
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { formatDkimKeyRecord, type TxtResolver } from '../../src/dkim/index.ts'

export const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
export const ed25519 = generateKeyPairSync('ed25519')

export const DOMAIN = 'example.test'
export const RSA_SELECTOR = 'rsa2048'
export const ED_SELECTOR = 'ed'

/** TXT records by DNS name, for our two test keys. */
export const records: Record<string, string> = {
  [`${RSA_SELECTOR}._domainkey.${DOMAIN}`]: formatDkimKeyRecord(rsa.publicKey),
  [`${ED_SELECTOR}._domainkey.${DOMAIN}`]: formatDkimKeyRecord(ed25519.publicKey),
}

/** A resolver answering from `map` (name -> record text), ENOTFOUND otherwise. */
export function resolverFor(map: Record<string, string> = records): TxtResolver {
  return async (name) => {
    const record = map[name]
    if (record === undefined) throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' })
    // Split as DNS would, into character-strings of at most 255 octets.
    return [record.match(/.{1,255}/g) ?? ['']]
  }
}

export const resolver = resolverFor()

export interface KeyCase {
  readonly name: 'rsa-sha256' | 'ed25519-sha256'
  readonly selector: string
  readonly privateKey: KeyObject
  readonly publicKey: KeyObject
}

export const keyCases: readonly KeyCase[] = [
  { name: 'rsa-sha256', selector: RSA_SELECTOR, privateKey: rsa.privateKey, publicKey: rsa.publicKey },
  { name: 'ed25519-sha256', selector: ED_SELECTOR, privateKey: ed25519.privateKey, publicKey: ed25519.publicKey },
]

export const canonicalizations = ['relaxed/relaxed', 'relaxed/simple', 'simple/relaxed', 'simple/simple'] as const

/**
 * A message that exercises canonicalization: folded and oddly spaced headers, mixed-case names,
 * tabs, trailing whitespace, 8-bit text and empty lines at the end of the body.
 */
export const sampleMessage = [
  'From: Alice Example <alice@example.test>',
  'To: Bob <bob@example.net>,',
  '\tCarol <carol@example.net>',
  'cc:   dave@example.net  ',
  'Subject:  Hello   there,',
  '  folded\tsubject ',
  'Date: Mon, 02 Jun 2025 10:00:00 +0000',
  'Message-ID: <sample.1@example.test>',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: 8bit',
  'X-Unsigned: not in the default list',
  '',
  'Hello Bob,  ',
  '',
  '\tThis line starts with a tab  and has  double spaces.',
  'Grüße aus der Küche.',
  '  ',
  '',
  '',
].join('\r\n')

/** Concatenates an async iterable of chunks. For small messages only. */
export async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = []
  for await (const chunk of source) chunks.push(chunk)
  return Buffer.concat(chunks)
}

/** An async generator over `bytes` in pieces of `size`: a one-shot source. */
export async function* oneShot(bytes: Uint8Array, size = 7): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size)
}
