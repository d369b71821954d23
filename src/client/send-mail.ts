import { performance } from 'node:perf_hooks'
import { isRereadable, type RereadableSource } from '../protocol/message-source.ts'
import { Client } from './client.ts'
import type { TlsMode } from './connect.ts'
import type { ConnectOptions } from './options.ts'
import type { SendRequest, SendResult } from './transaction.ts'

/**
 * What {@link sendMail} sends. `from` and `to` may be left out when `message` carries an
 * `envelope()` (a composed message); its `smtpUtf8` and `eightBit` flags, when present, set the
 * SMTPUTF8 and BODY=8BITMIME parameters.
 */
export interface SendMailRequest extends Omit<SendRequest, 'from' | 'to'> {
  readonly from?: string | undefined
  readonly to?: string | readonly string[] | undefined
}

/** What {@link sendMail} resolves with: the send result and how long each part took. */
export interface SendMailResult extends SendResult {
  readonly timings: { readonly connectMs: number; readonly sendMs: number; readonly totalMs: number }
}

interface ComposedLike {
  envelope?: () => { from: string; to: readonly string[] }
}

/**
 * A message that knows its own envelope, such as one from `smtpkit/message`'s `compose()`: it can
 * be passed to {@link sendMail} on its own.
 */
export interface EnvelopedMessage extends RereadableSource {
  envelope(): { readonly from: string; readonly to: readonly string[] }
}

function isEnvelopedMessage(value: SendMailRequest | EnvelopedMessage): value is EnvelopedMessage {
  return !('message' in value) && typeof (value as EnvelopedMessage).envelope === 'function' && isRereadable(value)
}

/**
 * Sends one message in one call: connects (see {@link Client.connect}), sends, and quits.
 * `server` is connect options or a URL:
 * - `smtps://host` is implicit TLS, port 465 by default;
 * - `smtp://host:587` requires STARTTLS (submission, RFC 6409);
 * - `smtp://host` on any other port (default 25) uses STARTTLS when offered (MX delivery).
 *
 * `mail` may also be a composed message on its own (`sendMail(url, compose({...}))`): the
 * envelope then comes from its `envelope()`, and SMTPUTF8 and 8BITMIME from its flags.
 *
 * A user and password in the URL (percent-decoded) are used for AUTH. Resolves once the server
 * accepted the message, even if QUIT then fails; rejects as {@link Client.send} does.
 */
export async function sendMail(server: ConnectOptions | string | URL, request: SendMailRequest | EnvelopedMessage): Promise<SendMailResult> {
  const started = performance.now()
  const mail: SendMailRequest = isEnvelopedMessage(request) ? { message: request } : request
  const options = typeof server === 'string' || server instanceof URL ? parseSmtpUrl(server) : server
  const composed = (typeof mail.message === 'object' && mail.message !== null ? mail.message : {}) as ComposedLike
  const envelope = typeof composed.envelope === 'function' && (mail.from === undefined || mail.to === undefined) ? composed.envelope() : undefined
  const from = mail.from ?? envelope?.from
  const to = mail.to ?? envelope?.to
  if (from === undefined || to === undefined) throw new TypeError('sendMail needs from and to, or a message with an envelope()')
  const signal = mail.signal ?? options.signal
  const client = await Client.connect({ ...options, ...(signal ? { signal } : {}) })
  const connected = performance.now()
  let result: SendResult
  try {
    result = await client.send({ ...mail, from, to, signal })
  } catch (err) {
    await client[Symbol.asyncDispose]()
    throw err
  }
  const sent = performance.now()
  await client[Symbol.asyncDispose]()
  return { ...result, timings: { connectMs: connected - started, sendMs: sent - connected, totalMs: performance.now() - started } }
}

/**
 * Reads an `smtp://` or `smtps://` URL into connect options (see {@link sendMail} for the TLS
 * rules). IPv6 hosts are written in brackets: `smtp://[::1]:2525`.
 */
export function parseSmtpUrl(input: string | URL): ConnectOptions {
  const url = input instanceof URL ? input : new URL(input)
  const scheme = url.protocol.slice(0, -1)
  if (scheme !== 'smtp' && scheme !== 'smtps') throw new TypeError(`unsupported URL scheme ${JSON.stringify(scheme)}; use smtp:// or smtps://`)
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  if (!host) throw new TypeError('the URL has no host')
  const port = url.port ? Number(url.port) : scheme === 'smtps' ? 465 : 25
  const tls: TlsMode = scheme === 'smtps' ? 'implicit' : port === 587 ? 'starttls' : 'opportunistic'
  const username = decodeURIComponent(url.username)
  const password = decodeURIComponent(url.password)
  return { host, port, tls, ...(username ? { auth: { username, password } } : {}) }
}
