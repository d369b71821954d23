import { parseSmtpUrl, sendMail } from '../client/index.ts'
import { ENVELOPE_FIELD } from './envelope-header.ts'
import type { ReleaseMessage } from './http-api.ts'

// Fields the catcher added that must not travel on: the Return-Path is the final delivery's
// to write (RFC 5321 §4.4), and the envelope field would reveal Bcc recipients.
const LOCAL_FIELDS = new Set(['return-path', ENVELOPE_FIELD.toLowerCase()])

/**
 * A {@link ReleaseMessage} that relays to the server at `url` (`smtp://HOST:PORT` or
 * `smtps://...`, TLS as {@link sendMail} reads it; a user and password in the URL log in).
 */
export function createRelease(url: string): ReleaseMessage {
  const server = parseSmtpUrl(url)
  return async (raw, envelope) => {
    await sendMail(server, { from: envelope.from, to: envelope.to, message: removeLocalFields(raw) })
  }
}

/** The message without the header fields only this catcher should see. */
export function removeLocalFields(raw: Buffer): Buffer {
  const kept: Buffer[] = []
  let offset = 0
  let isDropping = false
  while (offset < raw.length) {
    const newline = raw.indexOf(0x0a, offset)
    const end = newline === -1 ? raw.length : newline + 1
    const line = raw.subarray(offset, end)
    if (line.length <= 2 && (line[0] === 0x0d || line[0] === 0x0a)) break
    if (line[0] !== 0x20 && line[0] !== 0x09) {
      const colon = line.indexOf(0x3a)
      isDropping = colon > 0 && LOCAL_FIELDS.has(line.subarray(0, colon).toString('latin1').trim().toLowerCase())
    }
    if (!isDropping) kept.push(line)
    offset = end
  }
  kept.push(raw.subarray(offset))
  return Buffer.concat(kept)
}
