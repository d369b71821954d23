// `smtpkit serve` as a mail catcher: --ui, --ui-auth, --max-messages, --release-to, --chaos and
// --auth-accept-any. Kept apart from serve.ts, which only calls in.
import { Catcher } from '../catcher/catcher.ts'
import { acceptAnyLogin, parseChaosRules, withAuthChaos, withChaos, type ChaosRule } from '../catcher/chaos.ts'
import { MaildirStore } from '../catcher/message-store.ts'
import { parseMail } from '../catcher/parse-mail.ts'
import { createRelease } from '../catcher/release.ts'
import type { Store } from '../catcher/store-session.ts'
import { isLoopback, startUi, type RunningUi } from '../catcher/ui-server.ts'
import type { ServerOptions } from '../server/index.ts'
import { formatHostPort, parseHostPort, parseInteger, UsageError } from './args.ts'

/** The catcher's options, for serve's parseArgs table. */
export const catcherOptions = {
  ui: { type: 'string' },
  'ui-auth': { type: 'string' },
  'auth-accept-any': { type: 'boolean' },
  'max-messages': { type: 'string' },
  'release-to': { type: 'string' },
  chaos: { type: 'string' },
} as const

/** Mailpit's port, so tools and habits carry over. */
export const DEFAULT_UI = '127.0.0.1:8025'

/** The values of {@link catcherOptions}. */
export interface CatcherValues {
  readonly ui?: string | undefined
  readonly 'ui-auth'?: string | undefined
  readonly 'auth-accept-any'?: boolean | undefined
  readonly 'max-messages'?: string | undefined
  readonly 'release-to'?: string | undefined
  readonly chaos?: string | undefined
  readonly auth?: readonly string[] | undefined
  readonly 'insecure-auth-without-tls'?: boolean | undefined
}

/** `--ui` may stand alone (util.parseArgs needs a value): it then means {@link DEFAULT_UI}. */
export function expandUiFlag(args: readonly string[]): string[] {
  return args.map((arg, i) => (arg === '--ui' && (i + 1 >= args.length || args[i + 1]!.startsWith('-')) ? `--ui=${DEFAULT_UI}` : arg))
}

/**
 * The catcher over the Maildir, when an option needs one (`--ui`, `--max-messages`): it indexes
 * what the Maildir holds and becomes the store new messages are delivered through.
 */
export async function openCatcher(values: CatcherValues, store: Store): Promise<{ catcher: Catcher | undefined; store: Store }> {
  const maxMessages = values['max-messages'] === undefined ? undefined : parseInteger(values['max-messages'], '--max-messages', { min: 1 })
  if (values.ui === undefined) {
    for (const flag of ['ui-auth', 'release-to'] as const) if (values[flag] !== undefined) throw new UsageError(`--${flag} needs --ui`)
    if (maxMessages === undefined) return { catcher: undefined, store }
  }
  if (store.kind !== 'maildir') throw new UsageError(`${values.ui !== undefined ? '--ui' : '--max-messages'} needs the Maildir store, not --store ${store.kind}`)
  if (values.ui !== undefined) parseHostPort(values.ui, '--ui')
  if (values['ui-auth'] !== undefined && values['ui-auth'].indexOf(':') <= 0) throw new UsageError(`--ui-auth must be USER:PASS, got ${JSON.stringify(values['ui-auth'])}`)
  if (values['release-to'] !== undefined && !/^smtps?:\/\//i.test(values['release-to'])) throw new UsageError(`--release-to must be an smtp:// or smtps:// URL, got ${JSON.stringify(values['release-to'])}`)
  // Mail another process puts into the Maildir (a second serve, a file dropped in) shows up too;
  // bodies are read for search only when there is a page to search from.
  const catcher = await Catcher.open({ store: new MaildirStore(store.root), parse: parseMail, maxMessages, watch: true, indexInBackground: values.ui !== undefined })
  return { catcher, store: { kind: 'maildir', root: store.root, maildir: catcher } }
}

/** Applies `--chaos` and `--auth-accept-any` to the server's options. */
export function applyCatcherServerOptions(values: CatcherValues, options: ServerOptions): ServerOptions {
  let rules: ChaosRule[] = []
  if (values.chaos !== undefined) {
    try {
      rules = parseChaosRules(values.chaos)
    } catch (error) {
      throw new UsageError((error as Error).message)
    }
  }
  let result = options
  if (values['auth-accept-any']) {
    if (values.auth !== undefined) throw new UsageError('--auth-accept-any and --auth do not go together: one accepts everyone, the other checks')
    if (!options.tls && !values['insecure-auth-without-tls']) {
      throw new UsageError('--auth-accept-any needs TLS (--tls-cert and --tls-key), since passwords would cross the network in clear; add --insecure-auth-without-tls to allow that')
    }
    result = { ...result, auth: acceptAnyLogin, authMechanisms: ['PLAIN', 'LOGIN'] }
  }
  if (rules.length > 0) {
    const newSession = result.newSession
    result = {
      ...result,
      newSession: async (conn) => withChaos(newSession ? await newSession(conn) : {}, rules),
      ...(result.auth ? { auth: withAuthChaos(result.auth, rules) } : {}),
    }
  }
  return result
}

/** Starts the web UI for `--ui`, printing where, and a warning when it is open beyond loopback without `--ui-auth`. */
export async function startCatcherUi(values: CatcherValues, catcher: Catcher, readVersion: () => string, io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Promise<RunningUi | undefined> {
  if (values.ui === undefined) return undefined
  // The version is only shown by /api/v1/info: a copy of the code without its package.json
  // (a bundle, the benchmark's build) still serves the UI.
  let version = 'unknown'
  try {
    version = readVersion()
  } catch {
    // keep 'unknown'
  }
  const { host, port } = parseHostPort(values.ui, '--ui')
  const authText = values['ui-auth']
  const auth = authText === undefined ? undefined : { username: authText.slice(0, authText.indexOf(':')), password: authText.slice(authText.indexOf(':') + 1) }
  const ui = await startUi({
    catcher,
    host,
    port,
    auth,
    version,
    release: values['release-to'] === undefined ? undefined : createRelease(values['release-to']),
    onError: (error) => void io.stderr.write(`smtpkit serve: web UI: ${error instanceof Error ? error.message : String(error)}\n`),
  })
  // The warning goes first: whoever waits for the address line has then seen it too.
  if (!isLoopback(host) && !auth) {
    io.stderr.write(`smtpkit serve: warning: the web UI on ${formatHostPort(ui.host, ui.port)} is open to the network without a password: anyone who can reach it can read and delete the mail; add --ui-auth USER:PASS (and keep it behind TLS)\n`)
  }
  io.stdout.write(`web UI on http://${formatHostPort(ui.host, ui.port)}\n`)
  return ui
}
