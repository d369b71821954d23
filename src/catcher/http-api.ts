import type { IncomingMessage, ServerResponse } from 'node:http'
import { pipeline } from 'node:stream/promises'
import { bareContentId, formatMessage, formatSummary } from './api-json.ts'
import type { Catcher, MessageSummary } from './catcher.ts'
import type { CaughtEnvelope } from './envelope-header.ts'
import { startLiveEvents } from './live-events.ts'
import { renderMessageHtml } from './message-view.ts'

/** Relays a stored message to the real server `--release-to` names. */
export type ReleaseMessage = (raw: Buffer, envelope: { readonly from: string; readonly to: readonly string[] }) => Promise<void>

/** Options of {@link createApiHandler}. */
export interface ApiOptions {
  readonly catcher: Catcher
  /** Present when releasing is configured. */
  readonly release?: ReleaseMessage | undefined
  /** The version reported by `/api/v1/info`. */
  readonly version: string
}

// Bodies of PUT, POST and DELETE are small JSON documents.
const MAX_BODY_BYTES = 1024 * 1024
// The long poll's default and longest wait.
const DEFAULT_WAIT_MS = 30_000
const MAX_WAIT_MS = 300_000
// SSE comment lines keep proxies from closing an idle stream.
const KEEPALIVE_MS = 25_000

/** An error that becomes a JSON `{ "Error": message }` response with its status. */
export class HttpError extends Error {
  readonly status: number
  constructor(status: number, message: string) {
    super(message)
    this.status = status
  }
}

/**
 * The REST API (`/api/v1/...`, in the names and shapes of Mailpit's API), the live event
 * stream and the sandboxed message view. Resolves false when the path is not one of its routes.
 * See docs/reference/catcher-api.md for every route.
 */
export async function handleApi(request: IncomingMessage, response: ServerResponse, url: URL, options: ApiOptions): Promise<boolean> {
  const { catcher } = options
  const path = url.pathname
  const method = request.method ?? 'GET'
  const params = url.searchParams
  if (path === '/api/v1/info' && method === 'GET') {
    sendJson(response, 200, { Version: options.version, Messages: catcher.total, Unread: catcher.unread, Release: options.release !== undefined })
  } else if ((path === '/api/v1/messages' || path === '/api/v1/search') && method === 'GET') {
    const page = await catcher.list({ start: integerParam(params, 'start', 0), limit: integerParam(params, 'limit', 50), query: params.get('query') ?? undefined })
    sendJson(response, 200, { total: page.total, unread: page.unread, count: page.messages.length, messages_count: page.matched, start: page.start, messages: page.messages.map(formatSummary) })
  } else if (path === '/api/v1/messages' && method === 'PUT') {
    const body = await readJson(request)
    const ids = idList(body)
    if (typeof body.Read !== 'boolean') throw new HttpError(400, 'the body needs "Read": true or false')
    const changed = await catcher.setSeen(ids, body.Read)
    sendJson(response, 200, { IDs: changed })
  } else if ((path === '/api/v1/messages' || path === '/api/v1/search') && method === 'DELETE') {
    const query = path === '/api/v1/search' ? params.get('query') : null
    const ids = query ? (await catcher.list({ query, limit: Number.MAX_SAFE_INTEGER })).messages.map((m) => m.id) : idList(await readJson(request))
    sendJson(response, 200, { IDs: await catcher.remove(ids) })
  } else if (path === '/api/v1/messages/wait' && method === 'GET') {
    await waitForMessage(request, response, params, catcher)
  } else if (path === '/api/v1/events' && method === 'GET') {
    streamEvents(request, response, catcher)
  } else if (path.startsWith('/api/v1/message/')) {
    await messageRoute(request, response, url, options)
  } else if (path.startsWith('/view/') && path.endsWith('.html') && method === 'GET') {
    const id = await resolveId(catcher, decodePathPart(path.slice('/view/'.length, -'.html'.length)))
    const mail = await catcher.parse(id)
    const html = renderMessageHtml(id, mail)
    response.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': viewPolicy(request, params.get('remote') === '1'),
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
    })
    response.end(html)
  } else {
    return false
  }
  return true
}

async function messageRoute(request: IncomingMessage, response: ServerResponse, url: URL, options: ApiOptions): Promise<void> {
  const { catcher } = options
  const [rawId = '', action = '', partId] = url.pathname.slice('/api/v1/message/'.length).split('/')
  const id = await resolveId(catcher, decodePathPart(rawId))
  const method = request.method ?? 'GET'
  if (action === '' && method === 'GET') {
    const [summary, mail, fields] = await Promise.all([catcher.summary(id), catcher.parse(id), catcher.headerFields(id)])
    if (!summary) throw new HttpError(404, `no message ${id}`)
    // Opening a message marks it read, as in Mailpit.
    await catcher.setSeen([id], true)
    const returnPath = fields?.find(([name]) => name.toLowerCase() === 'return-path')?.[1] ?? ''
    sendJson(response, 200, formatMessage({ ...summary, isSeen: true }, mail, returnPath.replace(/^\s*<|>\s*$/g, '')))
  } else if (action === '' && method === 'DELETE') {
    sendJson(response, 200, { IDs: await catcher.remove([id]) })
  } else if (action === 'headers' && method === 'GET') {
    const headers: Record<string, string[]> = {}
    for (const [name, value] of (await catcher.headerFields(id)) ?? []) (headers[name] ??= []).push(value)
    sendJson(response, 200, headers)
  } else if (action === 'raw' && method === 'GET') {
    const stream = catcher.stream(id)
    if (!stream) throw new HttpError(404, `no message ${id}`)
    response.writeHead(200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "sandbox; default-src 'none'",
      ...(url.searchParams.get('dl') === '1' ? { 'Content-Disposition': `attachment; filename="${id.replace(/[^\w.-]/g, '_')}.eml"` } : {}),
    })
    await pipeline(stream, response)
  } else if (action === 'part' && partId !== undefined && method === 'GET') {
    const mail = await catcher.parse(id)
    const part = mail.attachments[Number(partId) - 1]
    if (!/^\d+$/.test(partId) || !part) throw new HttpError(404, `message ${id} has no part ${partId}`)
    const type = /^[\w.+-]+\/[\w.+-]+$/.test(part.contentType) ? part.contentType.toLowerCase() : 'application/octet-stream'
    // Only raster images are shown inline; anything else (HTML, SVG) would run on our origin.
    const isInline = url.searchParams.get('inline') === '1' && /^image\/(png|jpe?g|gif|webp|avif|bmp)$/.test(type)
    const name = part.filename || bareContentId(part) || `part-${partId}`
    response.writeHead(200, {
      'Content-Type': type,
      'Content-Length': part.content.length,
      'Content-Disposition': `${isInline ? 'inline' : 'attachment'}; filename="${name.replace(/[^\w.-]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`,
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "sandbox; default-src 'none'",
    })
    response.end(part.content)
  } else if (action === 'release' && method === 'POST') {
    if (!options.release) throw new HttpError(404, 'releasing is off: start smtpkit serve with --release-to smtp://HOST:PORT')
    const body = await readJson(request)
    const [summary, raw] = await Promise.all([catcher.summary(id), catcher.read(id)])
    if (!summary || !raw) throw new HttpError(404, `no message ${id}`)
    const to = body.To === undefined ? (summary.envelope?.to ?? summary.to.map((a) => a.Address)) : stringList(body.To, 'To')
    if (to.length === 0) throw new HttpError(400, 'no recipients: give "To": ["address", ...]')
    await options.release(raw, { from: summary.envelope?.from ?? summary.from?.Address ?? '', to })
    sendJson(response, 200, { To: to })
  } else {
    throw new HttpError(405, `${method} ${url.pathname} is not a route`)
  }
}

function decodePathPart(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    throw new HttpError(400, `${JSON.stringify(text)} is not valid percent-encoding`)
  }
}

// "latest" names the newest message, as in Mailpit.
async function resolveId(catcher: Catcher, id: string): Promise<string> {
  if (id === 'latest') {
    const newest = (await catcher.list({ limit: 1 })).messages[0]
    if (!newest) throw new HttpError(404, 'no messages')
    return newest.id
  }
  if (!catcher.has(id)) throw new HttpError(404, `no message ${id}`)
  return id
}

/** The policy of a message's HTML: no script, no forms, and nothing remote unless asked. */
function viewPolicy(request: IncomingMessage, allowRemote: boolean): string {
  // The document is sandboxed (an opaque origin), so name our own origin for cid: images.
  const host = request.headers.host ?? ''
  const self = /^[\w.:[\]-]+$/.test(host) ? ` http://${host}` : ''
  const remote = allowRemote ? ' http: https:' : ''
  return [
    "default-src 'none'",
    `img-src data:${self}${remote}`,
    `style-src 'unsafe-inline'${remote}`,
    `font-src data:${remote}`,
    "form-action 'none'",
    "base-uri 'none'",
    "frame-ancestors 'self'",
    'sandbox allow-popups allow-popups-to-escape-sandbox',
  ].join('; ')
}

async function waitForMessage(request: IncomingMessage, response: ServerResponse, params: URLSearchParams, catcher: Catcher): Promise<void> {
  const to = params.get('to')?.toLowerCase()
  const from = params.get('from')?.toLowerCase()
  const subject = params.get('subject')?.toLowerCase()
  const sinceText = params.get('since')
  const since = sinceText === null ? undefined : new Date(/^\d+$/.test(sinceText) ? Number(sinceText) : sinceText)
  if (since && Number.isNaN(since.getTime())) throw new HttpError(400, `since must be an ISO date or milliseconds since 1970, got ${JSON.stringify(sinceText)}`)
  const timeoutMs = Math.min(integerParam(params, 'timeout', DEFAULT_WAIT_MS), MAX_WAIT_MS)
  const gone = new AbortController()
  response.once('close', () => gone.abort(new Error('client went away')))
  const signal = AbortSignal.any([gone.signal, AbortSignal.timeout(timeoutMs)])
  try {
    const found = await catcher.waitFor((summary) => matchesWait(summary, { to, from, subject }), { since, signal })
    sendJson(response, 200, formatSummary(found))
  } catch (error) {
    if (!signal.aborted) throw error
    if (!gone.signal.aborted) sendJson(response, 408, { Error: `no matching message arrived within ${timeoutMs} ms` })
  }
}

function matchesWait(summary: MessageSummary, wanted: { to?: string | undefined; from?: string | undefined; subject?: string | undefined }): boolean {
  const recipients = [...summary.to, ...summary.cc].map((a) => a.Address.toLowerCase()).concat((summary.envelope as CaughtEnvelope | null)?.to.map((a) => a.toLowerCase()) ?? [])
  const senders = [summary.from?.Address.toLowerCase() ?? '', summary.envelope?.from.toLowerCase() ?? '']
  return (
    (wanted.to === undefined || recipients.includes(wanted.to)) &&
    (wanted.from === undefined || senders.includes(wanted.from)) &&
    (wanted.subject === undefined || summary.subject.toLowerCase().includes(wanted.subject))
  )
}

/** Server-Sent Events: `new`, `delete`, `read` and `stats` (see the reference). */
function streamEvents(request: IncomingMessage, response: ServerResponse, catcher: Catcher): void {
  response.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' })
  const live = startLiveEvents(catcher, (text) => void response.write(text))
  const keepalive = setInterval(() => response.write(': keepalive\n\n'), KEEPALIVE_MS)
  keepalive.unref()
  response.once('close', () => {
    clearInterval(keepalive)
    live.stop()
  })
  request.resume()
}

/** Sends a JSON response. */
export function sendJson(response: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value)
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' })
  response.end(body)
}

// A cross-site form may POST text/plain without a preflight; JSON requires one, which we never grant.
async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  let length = 0
  for await (const chunk of request) {
    length += (chunk as Buffer).length
    if (length > MAX_BODY_BYTES) throw new HttpError(413, `the body is larger than ${MAX_BODY_BYTES} bytes`)
    chunks.push(chunk as Buffer)
  }
  if (length === 0) return {}
  if (!/^application\/json\b/i.test(request.headers['content-type'] ?? '')) throw new HttpError(415, 'send the body as Content-Type: application/json')
  let body: unknown
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch (error) {
    throw new HttpError(400, `the body is not JSON: ${(error as Error).message}`)
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the body must be a JSON object')
  return body as Record<string, unknown>
}

// No IDs, or an empty list, means all messages (Mailpit's convention).
function idList(body: Record<string, unknown>): string[] | undefined {
  if (body.IDs === undefined) return undefined
  const ids = stringList(body.IDs, 'IDs')
  return ids.length === 0 ? undefined : ids
}

function stringList(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || !value.every((x) => typeof x === 'string')) throw new HttpError(400, `"${name}" must be an array of strings`)
  return value as string[]
}

function integerParam(params: URLSearchParams, name: string, fallback: number): number {
  const text = params.get(name)
  if (text === null || text === '') return fallback
  if (!/^\d{1,9}$/.test(text)) throw new HttpError(400, `${name} must be a whole number, got ${JSON.stringify(text)}`)
  return Number(text)
}
