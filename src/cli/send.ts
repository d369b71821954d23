import { stat } from 'node:fs/promises'
import { isAscii } from 'node:buffer'
import { createReadStream } from 'node:fs'
import { parseArgs } from 'node:util'
import { sendMail, parseSmtpUrl, type ConnectOptions, type SendMailResult, type TlsMode } from '../client/index.ts'
import { dkimSign } from '../dkim/index.ts'
import { compose } from '../message/index.ts'
import { crlfNormalize } from '../protocol/dot-stuffing.ts'
import type { MessageSource, RereadableSource } from '../protocol/message-source.ts'
import type { MailParams, NotifyCondition, RcptParams } from '../protocol/params.ts'
import { xoauth2 } from '../sasl/index.ts'
import { parseDuration, parseHostPort, readOptionFile, toUsageError, UsageError } from './args.ts'
import { sendErrorHints } from './send-hints.ts'
import { describeError, exitStatus, exitStatusFor } from './exit-status.ts'
import { sendHelp } from './help.ts'
import { withProgress } from './progress.ts'
import { readVersion } from './version.ts'

const options = {
  server: { type: 'string' },
  starttls: { type: 'boolean' },
  tls: { type: 'boolean' },
  ca: { type: 'string' },
  'insecure-tls': { type: 'boolean' },
  lmtp: { type: 'boolean' },
  'local-name': { type: 'string' },
  user: { type: 'string' },
  pass: { type: 'string' },
  'auth-mech': { type: 'string' },
  'insecure-auth-without-tls': { type: 'boolean' },
  from: { type: 'string' },
  to: { type: 'string', multiple: true },
  smtputf8: { type: 'boolean' },
  '8bitmime': { type: 'boolean' },
  'dsn-notify': { type: 'string' },
  'dsn-ret': { type: 'string' },
  chunking: { type: 'boolean' },
  'no-chunking': { type: 'boolean' },
  file: { type: 'string' },
  subject: { type: 'string' },
  text: { type: 'string' },
  html: { type: 'string' },
  attach: { type: 'string', multiple: true },
  'dkim-domain': { type: 'string' },
  'dkim-selector': { type: 'string' },
  'dkim-key': { type: 'string' },
  timeout: { type: 'string' },
  'greeting-timeout': { type: 'string' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const

type SendValues = ReturnType<typeof parse>['values']

const AUTH_MECHANISMS = ['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-256', 'XOAUTH2']
const NOTIFY = new Set(['SUCCESS', 'FAILURE', 'DELAY'])
// Above this, a terminal shows a progress line while the message is sent.
const PROGRESS_MIN_BYTES = 4 * 1024 * 1024
// An SMTP server greets at once (RFC 5321 §3.1); the RFC's 5 minutes (§4.5.3.2.1) are for
// queue runners, not a person at a terminal waiting on a port where nothing speaks SMTP.
const GREETING_TIMEOUT_MS = 30_000

// Options of other mail tools people type by habit, and what to write here instead.
const optionHints: Readonly<Record<string, string>> = {
  body: 'use --text (or --html) for the body',
  attachment: 'use --attach FILE',
  host: 'use --server HOST:PORT',
  port: 'use --server HOST:PORT',
  username: 'use --user',
  password: 'use --pass, or set SMTPKIT_PASS',
  cc: 'use --to for every recipient (and --file for a message with a Cc: header)',
  bcc: 'use --to for every recipient',
  ssl: 'use --tls for implicit TLS (port 465) or --starttls',
}

function parse(args: string[]) {
  return parseArgs({ args, options, strict: true, allowPositionals: true })
}

/** What {@link runSend} needs from its surroundings; the process's own by default. */
export interface SendIo {
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean }
  readonly stdin: AsyncIterable<Uint8Array>
  readonly env: NodeJS.ProcessEnv
}

/**
 * `smtpkit send`: sends one message with {@link sendMail} and resolves with the exit status
 * (0 sent to every recipient, 1 refused, 2 bad usage, 3 connection/DNS/TLS failure). Prints the
 * server's reply to stdout, and errors and refused recipients to stderr.
 */
export async function runSend(args: string[], io: SendIo = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env }): Promise<number> {
  const print = (stream: NodeJS.WritableStream, line: string): void => void stream.write(`${line}\n`)
  let parsed: ReturnType<typeof parse> | undefined
  let deadline: AbortSignal | undefined
  let server: ConnectOptions | undefined
  try {
    try {
      parsed = parse(args)
    } catch (error) {
      throw toUsageError(error, optionHints)
    }
    const { values, positionals } = parsed
    if (values.help) {
      io.stdout.write(sendHelp)
      return exitStatus.ok
    }
    if (values.version) {
      io.stdout.write(`smtpkit ${readVersion()}\n`)
      return exitStatus.ok
    }
    const timeoutMs = values.timeout === undefined ? undefined : parseDuration(values.timeout, '--timeout')
    deadline = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs)
    server = await connectOptions(values, io, deadline)
    const request = await messageRequest(values, positionals, io)
    const result = await sendMail(server, request)
    return report(result, request.to, io, print)
  } catch (error) {
    const status = exitStatusFor(error)
    const lines = deadline?.aborted && error === deadline.reason
      ? [`gave up after --timeout ${parsed?.values.timeout ?? ''}: the send did not finish in time`]
      : [...describeError(error), ...sendErrorHints(error, server)]
    for (const line of lines) print(io.stderr, `smtpkit send: ${line}`)
    if (status === exitStatus.usage && error instanceof UsageError) print(io.stderr, 'Run "smtpkit send --help" for the options.')
    return status
  }
}

async function connectOptions(values: SendValues, io: SendIo, signal: AbortSignal | undefined): Promise<ConnectOptions> {
  if (values.server === undefined) throw new UsageError('--server is required (HOST:PORT, smtp://HOST:PORT or smtps://HOST:PORT)')
  if (values.starttls && values.tls) throw new UsageError('--starttls and --tls exclude each other: choose STARTTLS or implicit TLS')
  if (values.ca !== undefined && values['insecure-tls']) throw new UsageError('--ca and --insecure-tls exclude each other')
  if (values.chunking && values['no-chunking']) throw new UsageError('--chunking and --no-chunking exclude each other')
  let base: ConnectOptions
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(values.server)) {
    try {
      base = parseSmtpUrl(values.server)
    } catch (error) {
      throw new UsageError(`--server: ${(error as Error).message}`)
    }
    if (base.tls === 'implicit' && values.starttls) throw new UsageError('--starttls cannot be used with smtps://, which is implicit TLS')
  } else {
    const { host, port } = parseHostPort(values.server, '--server', values.tls ? 465 : 25)
    base = { host, port, tls: 'opportunistic' }
  }
  const tls: TlsMode | undefined = values.tls ? 'implicit' : values.starttls ? 'starttls' : base.tls
  const port = base.port ?? 25
  return {
    ...base,
    port,
    ...(tls === undefined ? {} : { tls }),
    ...(values.ca === undefined ? {} : { tlsOptions: { ca: await readOptionFile(values.ca, '--ca') } }),
    ...(values['insecure-tls'] ? { insecureSkipTlsVerify: true } : {}),
    ...(values['insecure-auth-without-tls'] ? { insecureAuthWithoutTls: true } : {}),
    ...(values.lmtp ? { lmtp: true } : {}),
    ...(values['local-name'] === undefined ? {} : { localName: values['local-name'] }),
    ...(values['no-chunking'] ? { chunking: false } : {}),
    ...(values.verbose ? { debug: (line: string) => void io.stderr.write(`${line}\n`) } : {}),
    timeouts: { greeting: values['greeting-timeout'] === undefined ? GREETING_TIMEOUT_MS : parseDuration(values['greeting-timeout'], '--greeting-timeout') },
    ...(signal === undefined ? {} : { signal }),
    ...authOption(values, io, base),
  }
}

function authOption(values: SendValues, io: SendIo, base: ConnectOptions): Pick<ConnectOptions, 'auth'> {
  const mechanism = values['auth-mech']?.toUpperCase()
  if (mechanism !== undefined && !AUTH_MECHANISMS.includes(mechanism)) {
    throw new UsageError(`--auth-mech must be one of ${AUTH_MECHANISMS.join(', ')}, got ${JSON.stringify(values['auth-mech'])}`)
  }
  if (values.user === undefined) {
    if (values.pass !== undefined || mechanism !== undefined) throw new UsageError('--pass and --auth-mech need --user')
    return base.auth === undefined ? {} : { auth: base.auth }
  }
  // An empty SMTPKIT_PASS counts as unset: no server takes an empty password.
  const password = values.pass ?? (io.env.SMTPKIT_PASS || undefined)
  if (password === undefined) throw new UsageError('--user needs a password: give --pass or set SMTPKIT_PASS')
  if (mechanism === 'XOAUTH2') return { auth: xoauth2({ username: values.user, accessToken: password }) }
  return { auth: { username: values.user, password, ...(mechanism === undefined ? {} : { mechanism }) } }
}

interface MessageRequest {
  readonly from: string
  readonly to: readonly string[]
  readonly message: MessageSource | RereadableSource
  readonly mailParams: MailParams
  readonly rcptParams?: RcptParams
}

async function messageRequest(values: SendValues, positionals: string[], io: SendIo): Promise<MessageRequest> {
  if (values.from === undefined) throw new UsageError('--from is required (use --from "" for the null sender <>)')
  const to = values.to ?? []
  if (to.length === 0) throw new UsageError('--to is required; repeat it for more recipients')
  const extra = positionals.filter((p) => p !== '-')
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}; options start with --`)
  const file = positionals.includes('-') ? (values.file === undefined || values.file === '-' ? '-' : 'both') : values.file
  if (file === 'both') throw new UsageError('give either --file or - (stdin), not both')
  const composing = values.subject !== undefined || values.text !== undefined || values.html !== undefined || (values.attach?.length ?? 0) > 0
  if (file !== undefined && composing) throw new UsageError('--file (or -) sends a ready message; it cannot be combined with --subject, --text, --html or --attach')
  if (file === undefined && !composing) throw new UsageError('no message: give --file FILE, - for stdin, or --subject/--text/--html/--attach to compose one')

  const dkim = await dkimOptions(values)
  const mailParams: { -readonly [K in keyof MailParams]: MailParams[K] } = {}
  if (values.smtputf8) mailParams.smtpUtf8 = true
  // RFC 6152: a message with octets above 127 goes out as BODY=8BITMIME (and not at all to a
  // server without 8BITMIME). A file is read once beforehand to find out; stdin cannot be, so
  // there --8bitmime says it.
  if (values['8bitmime']) mailParams.body = '8BITMIME'
  if (values['dsn-ret'] !== undefined) {
    const ret = values['dsn-ret'].toUpperCase()
    if (ret !== 'FULL' && ret !== 'HDRS') throw new UsageError(`--dsn-ret must be FULL or HDRS, got ${JSON.stringify(values['dsn-ret'])}`)
    mailParams.ret = ret
  }
  const rcptParams = values['dsn-notify'] === undefined ? undefined : { notify: parseNotify(values['dsn-notify']) }

  let message: MessageSource | RereadableSource
  let size: number | undefined
  if (file === '-') {
    message = crlfNormalize(io.stdin)
  } else if (file !== undefined) {
    size = await fileSize(file, '--file')
    if (mailParams.body === undefined && (await hasEightBitOctets(file))) mailParams.body = '8BITMIME'
    message = { stream: () => crlfNormalize(createReadStream(file)) }
  } else {
    for (const path of values.attach ?? []) await fileSize(path, '--attach')
    const composed = compose({
      from: values.from,
      to,
      ...(values.subject === undefined ? {} : { subject: values.subject }),
      ...(values.text === undefined ? {} : { text: values.text }),
      ...(values.html === undefined ? {} : { html: values.html }),
      ...(values.attach === undefined ? {} : { attachments: values.attach.map((path) => ({ path })) }),
      ...(values.smtputf8 ? { smtpUtf8: true } : {}),
    })
    if (composed.smtpUtf8) mailParams.smtpUtf8 = true
    if (composed.eightBit) mailParams.body = '8BITMIME'
    message = composed
  }
  if (dkim) message = dkimSign(message, dkim)
  if (io.stderr.isTTY === true) message = withProgress(message, { totalBytes: size, minBytes: PROGRESS_MIN_BYTES, out: io.stderr })
  return { from: values.from, to, message, mailParams, ...(rcptParams ? { rcptParams } : {}) }
}

async function dkimOptions(values: SendValues): Promise<{ domain: string; selector: string; privateKey: Buffer } | undefined> {
  const given = [values['dkim-domain'], values['dkim-selector'], values['dkim-key']]
  if (given.every((v) => v === undefined)) return undefined
  if (given.some((v) => v === undefined)) throw new UsageError('DKIM signing needs all of --dkim-domain, --dkim-selector and --dkim-key')
  const privateKey = await readOptionFile(values['dkim-key']!, '--dkim-key')
  const options = { domain: values['dkim-domain']!, selector: values['dkim-selector']!, privateKey }
  // Load the key now, so a bad key is a usage error rather than a failure halfway through sending.
  try {
    dkimSign('', options)
  } catch (error) {
    throw new UsageError(`DKIM: ${(error as Error).message}`)
  }
  return options
}

function parseNotify(text: string): 'NEVER' | NotifyCondition[] {
  const items = text.toUpperCase().split(',').map((s) => s.trim())
  if (items.length === 1 && items[0] === 'NEVER') return 'NEVER'
  if (items.length === 0 || items.some((item) => !NOTIFY.has(item))) {
    throw new UsageError(`--dsn-notify must be NEVER or a list of SUCCESS, FAILURE, DELAY, got ${JSON.stringify(text)}`)
  }
  return [...new Set(items)] as NotifyCondition[]
}

async function hasEightBitOctets(path: string): Promise<boolean> {
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) if (!isAscii(chunk)) return true
  return false
}

async function fileSize(path: string, option: string): Promise<number> {
  try {
    const info = await stat(path)
    if (!info.isFile()) throw new Error('not a regular file')
    return info.size
  } catch (error) {
    throw new UsageError(`${option}: cannot read ${path}: ${(error as Error).message}`)
  }
}

function report(result: SendMailResult, to: readonly string[], io: SendIo, print: (stream: NodeJS.WritableStream, line: string) => void): number {
  const format = (reply: { code: number; enhancedCode: string | undefined; lines: readonly string[] }): string =>
    `${reply.code}${reply.enhancedCode ? ` ${reply.enhancedCode}` : ''} ${reply.lines.join(' ')}`.trimEnd()
  // LMTP (RFC 2033 §4.2): each recipient has its own reply to the data.
  for (const r of result.lmtp ?? []) {
    if (r.error) print(io.stderr, `refused <${r.recipient}>: ${r.error.message}`)
    else print(io.stdout, `delivered <${r.recipient}>: ${format(r.reply)}`)
  }
  for (const rejection of result.rejected) {
    if (!result.lmtp?.some((r) => r.recipient === rejection.recipient)) print(io.stderr, `refused <${rejection.recipient}>: ${rejection.error.message}`)
  }
  print(io.stdout, `sent to ${result.accepted.length} of ${to.length} recipient${to.length === 1 ? '' : 's'}: ${format(result.reply)}`)
  return result.rejected.length === 0 ? exitStatus.ok : exitStatus.refused
}
