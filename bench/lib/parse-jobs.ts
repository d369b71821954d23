// The parsing scenarios of bench/message.ts: smtpkit's parseMessage and parseParts against
// mailparser (simpleParser) and postal-mime on the same bytes.
//   (e) parse the small text+HTML message (composed from smallMail()) N times, from a Buffer;
//   (f) parse a message with a BIG_MB attachment, read from a file with a read stream (postal-mime
//       gets the same stream as a web ReadableStream);
//   (g) smtpkit only: parseParts over a GIANT_MB attachment generated on the fly (never stored),
//       the body counted and dropped; the row's peak RSS minus start RSS is the growth.
import { createReadStream, existsSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pathToFileURL } from 'node:url'
import type * as MessageModule from '../../src/message/index.ts'
import { smallMail } from './message-inputs.ts'

/** Parses one message from the job's input; resolves with the number of input bytes read. */
export type Parse = () => Promise<number>

export type ParseLibrary = 'smtpkit' | 'mailparser' | 'postal-mime'

async function loadMessageModule(builtDir: string | undefined): Promise<typeof MessageModule> {
  return (builtDir ? await import(pathToFileURL(join(builtDir, 'message/index.js')).href) : await import('../../src/message/index.ts')) as typeof MessageModule
}

async function composedBytes(message: MessageModule.Message): Promise<Buffer> {
  const chunks: Uint8Array[] = []
  for await (const chunk of message.stream()) chunks.push(chunk)
  return Buffer.concat(chunks)
}

/** The small message as bytes, composed by smtpkit (the same bytes for every library). */
export async function smallMessageBytes(): Promise<Buffer> {
  const { compose } = await import('../../src/message/index.ts')
  return composedBytes(compose(smallMail()))
}

/** A message file with the small message's bodies and an attachment file, composed once and reused. */
export async function bigMessageFile(attachmentPath: string, attachmentBytes: number): Promise<string> {
  const path = join(tmpdir(), `smtpkit-bench-message-${attachmentBytes}.eml`)
  if (existsSync(path) && statSync(path).size > attachmentBytes) return path
  const { compose } = await import('../../src/message/index.ts')
  writeFileSync(`${path}.part`, await composedBytes(compose({ ...smallMail(), attachments: [{ filename: 'big.bin', path: attachmentPath }] })))
  renameSync(`${path}.part`, path)
  return path
}

const BLOCK_BYTES = (1 << 20) - ((1 << 20) % 57)

/** A message with a `bytes` attachment, base64, generated as it is read: nothing is stored. */
export async function* generatedMessage(bytes: number): AsyncGenerator<Buffer> {
  yield Buffer.from('From: a@example.test\r\nSubject: giant\r\nContent-Type: multipart/mixed; boundary=g\r\n\r\n--g\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--g\r\nContent-Type: application/octet-stream; name=giant.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n')
  // About 1 MiB of pseudo-random bytes per block, a multiple of 57 so that every block is whole
  // 76-character base64 lines with no padding, as a sender writes them.
  const raw = Buffer.alloc(BLOCK_BYTES)
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 2654435761) >>> 24
  const block = Buffer.from(`${raw.toString('base64').match(/.{1,76}/g)!.join('\r\n')}\r\n`)
  // Handed out 64 KiB at a time, as a socket or a file stream would.
  for (let sent = 0; sent < bytes; sent += BLOCK_BYTES) {
    for (let at = 0; at < block.length; at += 64 * 1024) yield block.subarray(at, at + 64 * 1024)
  }
  yield Buffer.from('--g--\r\n')
}

/** The decoded bytes generatedMessage(bytes) carries. */
export function generatedAttachmentBytes(bytes: number): number {
  return Math.ceil(bytes / BLOCK_BYTES) * BLOCK_BYTES
}

export async function parser(library: ParseLibrary, scenario: 'e' | 'f' | 'g', input: { bytes?: Buffer | undefined; path?: string | undefined; giantBytes?: number | undefined }, builtDir: string | undefined): Promise<Parse> {
  if (scenario === 'g') {
    const { parseParts } = await loadMessageModule(builtDir)
    return async () => {
      let decoded = 0
      for await (const part of parseParts(generatedMessage(input.giantBytes!))) {
        for await (const chunk of part.body) decoded += (chunk as Buffer).length
      }
      if (decoded < input.giantBytes!) throw new Error(`decoded only ${decoded} bytes`)
      return decoded
    }
  }
  const source = (): Buffer | Readable => (scenario === 'e' ? input.bytes! : createReadStream(input.path!, { highWaterMark: 64 * 1024 }))
  const size = scenario === 'e' ? input.bytes!.length : statSync(input.path!).size
  if (library === 'smtpkit') {
    const { parseMessage } = await loadMessageModule(builtDir)
    return async () => {
      const message = await parseMessage(source(), { maxDecodedBytes: 1 << 30 })
      if (message.text === undefined) throw new Error('smtpkit found no text')
      return size
    }
  }
  if (library === 'mailparser') {
    const { simpleParser } = await import('mailparser')
    return async () => {
      const message = await simpleParser(source())
      if (!message.text) throw new Error('mailparser found no text')
      return size
    }
  }
  const { default: PostalMime } = await import('postal-mime')
  return async () => {
    const input = source()
    const message = await PostalMime.parse(input instanceof Readable ? (Readable.toWeb(input) as ReadableStream<Uint8Array>) : input)
    if (!message.text) throw new Error('postal-mime found no text')
    return size
  }
}
