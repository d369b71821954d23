import { createHash, timingSafeEqual } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http'
import { isIP, type AddressInfo } from 'node:net'
import type { Catcher } from './catcher.ts'
import { handleApi, HttpError, sendJson, type ReleaseMessage } from './http-api.ts'
import { pageAssets } from './ui-page.ts'

/** Options of {@link startUi}. */
export interface UiOptions {
  readonly catcher: Catcher
  /** Default `'127.0.0.1'`. */
  readonly host?: string | undefined
  /** Default 8025 (Mailpit's); 0 picks a free port. */
  readonly port?: number | undefined
  /** `{ username, password }` for HTTP basic auth on every route. Default: none. */
  readonly auth?: { readonly username: string; readonly password: string } | undefined
  readonly release?: ReleaseMessage | undefined
  readonly version?: string | undefined
  /** Receives errors a request hit that were not the client's fault. */
  readonly onError?: ((error: unknown) => void) | undefined
}

/** A running web UI and API. */
export interface RunningUi {
  /** `http://host:port`. */
  readonly url: string
  readonly host: string
  readonly port: number
  /** Stops listening and ends open connections (live event streams and long polls included). */
  close(): Promise<void>
}

/** True for a loopback address, where only this machine's users can connect. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host)
}

/**
 * Serves the catcher's page, REST API and live events over `node:http`. Every response is
 * generated here or read from the catcher's store: no file system path comes from a request.
 */
export async function startUi(options: UiOptions): Promise<RunningUi> {
  const host = options.host ?? '127.0.0.1'
  const api = { catcher: options.catcher, release: options.release, version: options.version ?? '' }
  const expected = options.auth && digest(`${options.auth.username}:${options.auth.password}`)
  const onError = options.onError ?? ((error: unknown) => console.error(error))
  const server: HttpServer = createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      if (!(error instanceof HttpError)) onError(error)
      if (response.headersSent) return void response.destroy()
      const status = error instanceof HttpError ? error.status : 500
      sendJson(response, status, { Error: error instanceof HttpError ? error.message : 'internal error; see the server log' })
    })
  })

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // A page elsewhere could rebind its DNS name to 127.0.0.1 and read the mail: on loopback,
    // only IP literals and localhost are accepted as the Host.
    const hostHeader = request.headers.host ?? ''
    if (isLoopback(host) && !isLocalHostHeader(hostHeader)) throw new HttpError(421, `Host ${JSON.stringify(hostHeader)} is not this server: open it as http://127.0.0.1 or http://localhost`)
    if (expected && !isAuthorized(request, expected)) {
      response.writeHead(401, { 'WWW-Authenticate': 'Basic realm="smtpkit", charset="UTF-8"', 'Content-Type': 'text/plain' })
      return void response.end('log in with the --ui-auth user and password\n')
    }
    const url = new URL(request.url ?? '/', 'http://catcher.invalid')
    const asset = request.method === 'GET' ? pageAssets.get(url.pathname) : undefined
    if (asset) {
      response.writeHead(200, {
        'Content-Type': asset.type,
        'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
        'Cache-Control': 'no-cache',
      })
      return void response.end(asset.body)
    }
    if (!(await handleApi(request, response, url, api))) throw new HttpError(404, `no route ${url.pathname}`)
  }

  server.listen(options.port ?? 8025, host)
  await once(server, 'listening')
  const address = server.address() as AddressInfo
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${shown}:${address.port}`,
    host: address.address,
    port: address.port,
    async close() {
      const closed = once(server, 'close')
      server.close()
      server.closeAllConnections()
      await closed
    },
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}

function isAuthorized(request: IncomingMessage, expected: Buffer): boolean {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(request.headers.authorization ?? '')
  return match !== null && timingSafeEqual(digest(Buffer.from(match[1]!, 'base64').toString('utf8')), expected)
}

function isLocalHostHeader(value: string): boolean {
  const hostname = value.startsWith('[') ? value.slice(1, value.indexOf(']')) : value.replace(/:\d+$/, '')
  return hostname === 'localhost' || isIP(hostname) !== 0
}
