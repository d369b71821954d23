import { createHash, timingSafeEqual } from 'node:crypto'
import { hostname as osHostname } from 'node:os'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { Server, type AuthRequest, type ServerOptions } from '../server/index.ts'
import { formatHostPort, parseHostPort, readOptionFile, toUsageError, UsageError } from './args.ts'
import { exitStatus } from './exit-status.ts'
import { serveHelp } from './help.ts'
import { Maildir } from '../catcher/maildir.ts'
import { createStoreSession, type Store } from '../catcher/store-session.ts'
import type { Catcher } from '../catcher/catcher.ts'
import { applyCatcherServerOptions, catcherOptions, expandUiFlag, openCatcher, startCatcherUi } from './serve-catcher.ts'
import { readVersion } from './version.ts'
import { limitOptions, limitsFromFlags } from './serve-limits.ts'

const options = {
  listen: { type: 'string', default: '127.0.0.1:2525' },
  maildir: { type: 'string', default: 'mail' },
  store: { type: 'string', default: 'maildir' },
  hostname: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'implicit-tls': { type: 'boolean' },
  'require-tls': { type: 'boolean' },
  auth: { type: 'string', multiple: true },
  'require-auth': { type: 'boolean' },
  'insecure-auth-without-tls': { type: 'boolean' },
  'insecure-accept-bare-line-endings': { type: 'boolean' },
  ...limitOptions,
  lmtp: { type: 'boolean' },
  'proxy-protocol': { type: 'boolean' },
  'proxy-trusted': { type: 'string', multiple: true },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  ...catcherOptions,
} as const

type ServeValues = ReturnType<typeof parse>['values']

// A proxy on the same machine (HAProxy, nginx) is the common case; others must be named.
const DEFAULT_PROXIES = ['127.0.0.1', '::1']

// How long SIGINT/SIGTERM lets transactions in flight finish before connections are cut.
const SHUTDOWN_GRACE_MS = 30_000

function parse(args: string[]) {
  return parseArgs({ args: expandUiFlag(args), options, strict: true, allowPositionals: false })
}

/** Where {@link runServe} prints; the process's own streams by default. */
export interface ServeIo {
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
}

/**
 * `smtpkit serve`: runs a {@link Server} whose sessions store messages in a Maildir (see
 * {@link createStoreSession}) until SIGINT or SIGTERM, then shuts down gracefully. Resolves with
 * the exit status: 0 after a clean shutdown, 2 for bad usage, 1 when the server cannot start.
 */
export async function runServe(args: string[], io: ServeIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let values: ServeValues
  try {
    values = parse(args).values
  } catch (error) {
    return usage(toUsageError(error), io)
  }
  if (values.help) {
    io.stdout.write(serveHelp)
    return exitStatus.ok
  }
  if (values.version) {
    io.stdout.write(`smtpkit ${readVersion()}\n`)
    return exitStatus.ok
  }
  let server: Server
  let listen: { host: string; port: number; implicitTls: boolean }
  let store: Store
  let catcher: Catcher | undefined
  try {
    listen = { ...parseHostPort(values.listen, '--listen'), implicitTls: values['implicit-tls'] ?? false }
    ;({ catcher, store } = await openCatcher(values, await openStore(values)))
    server = new Server(applyCatcherServerOptions(values, await serverOptions(values, store, io)))
  } catch (error) {
    return usage(error, io)
  }
  // Handlers go in before the address is printed: whoever reads it may signal at once.
  const stopRequested = shutdownSignal()
  let address
  try {
    address = await server.listen(listen)
  } catch (error) {
    io.stderr.write(`smtpkit serve: cannot listen on ${formatHostPort(listen.host, listen.port)}: ${(error as Error).message}\n`)
    stopRequested.cancel()
    return 1
  }
  io.stdout.write(`listening on ${formatHostPort(address.address, address.port)}\n`)
  io.stdout.write(store.kind === 'maildir' ? `storing messages in ${store.root}\n` : 'discarding messages (--store none)\n')
  let ui
  try {
    ui = catcher && (await startCatcherUi(values, catcher, readVersion, io))
  } catch (error) {
    io.stderr.write(`smtpkit serve: cannot start the web UI on ${values.ui}: ${(error as Error).message}\n`)
    stopRequested.cancel()
    await server.close({ signal: AbortSignal.timeout(SHUTDOWN_GRACE_MS) })
    return 1
  }
  await stopRequested
  io.stdout.write('shutting down\n')
  await ui?.close()
  await catcher?.close()
  const force = new AbortController()
  const onSecondSignal = (): void => force.abort(new Error('second signal'))
  process.once('SIGINT', onSecondSignal)
  process.once('SIGTERM', onSecondSignal)
  await server.close({ signal: AbortSignal.any([force.signal, AbortSignal.timeout(SHUTDOWN_GRACE_MS)]) })
  process.off('SIGINT', onSecondSignal)
  process.off('SIGTERM', onSecondSignal)
  io.stdout.write('stopped\n')
  return exitStatus.ok
}

function usage(error: unknown, io: ServeIo): number {
  if (!(error instanceof UsageError || error instanceof TypeError || error instanceof RangeError)) throw error
  io.stderr.write(`smtpkit serve: ${error.message}\nRun "smtpkit serve --help" for the options.\n`)
  return exitStatus.usage
}

function shutdownSignal(): Promise<void> & { cancel(): void } {
  let stop = (): void => {}
  const promise = new Promise<void>((done) => {
    stop = (): void => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      done()
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
  return Object.assign(promise, { cancel: stop })
}

async function openStore(values: ServeValues): Promise<Store> {
  if (values.store === 'none') return { kind: 'none' }
  if (values.store !== 'maildir') throw new UsageError(`--store must be maildir or none, got ${JSON.stringify(values.store)}`)
  const root = resolve(values.maildir)
  const maildir = new Maildir(root)
  try {
    await maildir.init()
  } catch (error) {
    throw new UsageError(`--maildir: cannot create a Maildir in ${root}: ${(error as Error).message}`)
  }
  return { kind: 'maildir', root, maildir }
}

async function serverOptions(values: ServeValues, store: Store, io: ServeIo): Promise<ServerOptions> {
  const lmtp = values.lmtp ?? false
  const hasTls = values['tls-cert'] !== undefined || values['tls-key'] !== undefined
  if (hasTls && (values['tls-cert'] === undefined || values['tls-key'] === undefined)) throw new UsageError('--tls-cert and --tls-key go together')
  if (values['implicit-tls'] && !hasTls) throw new UsageError('--implicit-tls needs --tls-cert and --tls-key')
  if (values['require-tls'] && !hasTls) throw new UsageError('--require-tls needs --tls-cert and --tls-key (STARTTLS)')
  if (values['require-auth'] && values.auth === undefined) throw new UsageError('--require-auth needs at least one --auth USER:PASS')
  // The value's form first: a fix to the TLS options would not help a bad --auth.
  const auth = values.auth === undefined ? undefined : passwordCheck(values.auth)
  if (auth !== undefined && !hasTls && !values['insecure-auth-without-tls']) {
    throw new UsageError('--auth needs TLS (--tls-cert and --tls-key), since passwords would cross the network in clear; add --insecure-auth-without-tls to allow that')
  }
  if (values['proxy-trusted'] !== undefined && !values['proxy-protocol']) throw new UsageError('--proxy-trusted needs --proxy-protocol')
  const limits = limitsFromFlags(values)
  const tls = hasTls ? { cert: await readOptionFile(values['tls-cert']!, '--tls-cert'), key: await readOptionFile(values['tls-key']!, '--tls-key') } : undefined
  const verbose = values.verbose ?? false
  const onError = (error: unknown, conn?: { id: string }): void =>
    void io.stderr.write(`smtpkit serve:${conn ? ` [${conn.id}]` : ''} ${error instanceof Error ? error.message : String(error)}\n`)
  return {
    ...(values.hostname === undefined ? {} : { hostname: values.hostname }),
    ...(tls ? { tls } : {}),
    limits,
    lmtp,
    ...(values['require-tls'] ? { requireTls: true } : {}),
    ...(values['require-auth'] ? { requireAuth: true } : {}),
    ...(values['insecure-auth-without-tls'] ? { insecureAuthWithoutTls: true } : {}),
    ...(values['proxy-protocol'] ? { proxyProtocol: { trusted: values['proxy-trusted'] ?? DEFAULT_PROXIES } } : {}),
    ...(values['insecure-accept-bare-line-endings'] ? { insecureAcceptBareLineEndings: true } : {}),
    ...(auth === undefined ? {} : { auth, authMechanisms: ['SCRAM-SHA-256', 'CRAM-MD5', 'PLAIN', 'LOGIN'] }),
    newSession: (conn) => createStoreSession(conn, { store, lmtp, hostname: values.hostname ?? osHostname(), log: (line) => void io.stdout.write(`${line}\n`), onError: (error) => onError(error, conn) }),
    onError,
    ...(verbose ? { debug: (line: string, conn: { id: string }) => void io.stderr.write(`[${conn.id}] ${line}\n`) } : {}),
  }
}

/** The auth hook for `--auth USER:PASS` logins: every mechanism the server offers, compared in constant time. */
function passwordCheck(pairs: readonly string[]): NonNullable<ServerOptions['auth']> {
  const users = new Map<string, string>()
  for (const pair of pairs) {
    const colon = pair.indexOf(':')
    if (colon <= 0) throw new UsageError(`--auth must be USER:PASS, got ${JSON.stringify(pair)}`)
    users.set(pair.slice(0, colon), pair.slice(colon + 1))
  }
  const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest()
  return (request: AuthRequest) => {
    const password = users.get(request.username)
    switch (request.mechanism) {
      case 'PLAIN':
      case 'LOGIN':
        return password !== undefined && timingSafeEqual(digest(password), digest(request.password))
      case 'CRAM-MD5':
        return password !== undefined && request.verify(password)
      case 'SCRAM-SHA-256':
        return password ?? null
      case 'XOAUTH2':
        return false
    }
  }
}
