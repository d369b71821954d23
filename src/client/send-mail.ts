import { performance } from 'node:perf_hooks'
import { checkConnectOptions, checkSendRequest } from './check-client-options.ts'
import { chaining, Client, connectChecked, quitBehindData, sendChecked } from './client.ts'
import { isEnvelopedMessage, withEnvelope, type EnvelopedMessage, type SendMailRequest } from './envelope.ts'
import { resolvePortAndTls, type ConnectOptions } from './options.ts'
import type { SendResult, SendStage } from './transaction.ts'

/** What {@link sendMail} resolves with: the send result and how long each part took. */
export interface SendMailResult extends SendResult {
  readonly timings: { readonly connectMs: number; readonly sendMs: number; readonly totalMs: number }
}

/**
 * Sends one message in one call: connects (see {@link Client.connect}), sends, and quits.
 * `server` is connect options or a URL, with one TLS rule for both ({@link resolvePortAndTls}):
 * - `smtps://host` (or `tls: 'implicit'`) is implicit TLS, port 465 by default; so is port 465;
 * - port 587 requires STARTTLS (submission, RFC 6409);
 * - any other port (default 25) uses STARTTLS when offered (MX delivery), and refuses AUTH
 *   without TLS.
 *
 * `mail` may also be a composed message on its own (`sendMail(url, compose({...}))`): the
 * envelope then comes from its `envelope()`, and SMTPUTF8 and 8BITMIME from its flags.
 *
 * A user and password in the URL (percent-decoded) are used for AUTH. Resolves once the server
 * accepted the message, even if QUIT then fails; rejects as {@link Client.send} does.
 */
export async function sendMail(server: ConnectOptions | string | URL, request: SendMailRequest | EnvelopedMessage): Promise<SendMailResult> {
  const started = performance.now()
  const options = typeof server === 'string' || server instanceof URL ? parseSmtpUrl(server) : server
  if (options === server) checkConnectOptions('sendMail() server', options)
  if (!isEnvelopedMessage(request)) checkSendRequest('sendMail()', request)
  const mail = withEnvelope(request, 'sendMail()')
  const signal = mail.signal ?? options.signal
  const client = await Client[connectChecked](options, signal)
  const connected = performance.now()
  // QUIT goes out behind the end of the data, in the same write (RFC 2920 §3.1 lets message
  // content start a group and QUIT end it): one round trip fewer per message.
  let quitting: Promise<unknown> | undefined
  const onProgress = (stage: SendStage): void => {
    mail.onProgress?.(stage)
    if (stage === 'sent' && client[chaining] === 'on') quitting = client[quitBehindData]().catch(() => client.close())
  }
  let result: SendResult
  try {
    result = await client[sendChecked](mail, signal, onProgress)
  } catch (err) {
    await (quitting ?? client[Symbol.asyncDispose]())
    throw err
  }
  const sent = performance.now()
  await (quitting ?? client[Symbol.asyncDispose]())
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
  const { port, tls } = resolvePortAndTls({ port: url.port ? Number(url.port) : undefined, tls: scheme === 'smtps' ? 'implicit' : undefined })
  const username = decodeURIComponent(url.username)
  const password = decodeURIComponent(url.password)
  return { host, port, tls, ...(username ? { auth: { username, password } } : {}) }
}
