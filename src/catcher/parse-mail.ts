import type { Readable } from 'node:stream'
import { parseMessage, type ParsedMessage } from '../message/index.ts'

/** The catcher's parser: smtpkit/message's `parseMessage` with its default limits. */
export function parseMail(source: Uint8Array | Readable): Promise<ParsedMessage> {
  return parseMessage(source)
}
