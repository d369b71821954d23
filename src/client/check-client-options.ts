// The kinds of every options object the client takes, and what to write instead of the names a
// nodemailer user brings along. A misspelled option would otherwise be dropped in silence:
// `secure: true` would send in plaintext to a port that expects TLS.
import { checkOptions, type OptionHints, type OptionKinds } from '../options/check-options.ts'

const clientKinds: OptionKinds = {
  localName: 'string',
  lmtp: 'boolean',
  timeouts: 'object',
  debug: 'function',
  insecureAuthWithoutTls: 'boolean',
  chunking: 'boolean',
  pipelining: 'boolean',
  chunkBytes: 'number',
  serverName: 'string',
  tlsOptions: 'object',
  insecureSkipTlsVerify: 'boolean',
}

const connectKinds: OptionKinds = {
  ...clientKinds,
  host: 'string',
  port: 'number',
  tls: 'string',
  auth: 'object',
  localAddress: 'string',
  family: 'number',
  signal: 'object',
  socket: 'function',
}

// nodemailer's SMTP transport options, and where each went.
const connectHints: OptionHints = {
  secure: "use tls: 'implicit' for TLS from the first byte (port 465), or tls: 'starttls' to require STARTTLS",
  requireTLS: "use tls: 'starttls', which requires STARTTLS (the default on port 587)",
  ignoreTLS: "use tls: 'none'",
  opportunisticTLS: "use tls: 'opportunistic'",
  name: 'use localName (the EHLO name)',
  connectionTimeout: 'use timeouts: { connect }',
  greetingTimeout: 'use timeouts: { greeting }',
  socketTimeout: 'use timeouts: { command, mail, rcpt, dataStart, dataBlock, dataEnd }',
  logger: 'use debug: (line) => ..., which gets every wire line with AUTH data redacted',
  user: 'use auth: { username, password }',
  pass: 'use auth: { username, password }',
  authMethod: 'use auth: { username, password, mechanism }',
  pool: 'use new Pool(connectOptions, poolOptions) instead of Client or sendMail',
  maxConnections: 'maxConnections is an option of the Pool: new Pool(connectOptions, { maxConnections })',
  maxMessages: 'use the Pool option maxMessagesPerConnection: new Pool(connectOptions, { maxMessagesPerConnection })',
  rateLimit: 'rateLimit is an option of the Pool: new Pool(connectOptions, { rateLimit: { messages, perMs } })',
  lmtpOverTls: "use lmtp: true with tls: 'implicit'",
  proxy: 'use socket: (options, signal) => Promise<Duplex> to connect through a proxy',
  dkim: "sign the message with dkimSign() from 'smtpkit/dkim' and send the result",
  servername: 'use serverName, or tlsOptions: { servername }',
  rejectUnauthorized: 'use insecureSkipTlsVerify: true (for tests only)',
  service: 'give host and port; smtpkit has no list of providers',
  url: "pass the URL itself: sendMail('smtp://host:587', mail)",
}

const passwordAuthKinds: OptionKinds = { username: 'string', password: 'string', mechanism: 'string', authorizationId: 'string' }

const authHints: OptionHints = {
  user: 'use username',
  pass: 'use password',
  type: "for OAuth2 use auth: xoauth2({ username, accessToken }) from 'smtpkit/sasl'",
  accessToken: "use auth: xoauth2({ username, accessToken }) from 'smtpkit/sasl'",
  refreshToken: "use auth: xoauth2({ username, accessToken: async ({ refresh }) => ... }): the function fetches tokens with your refresh token",
  clientId: "use auth: xoauth2({ username, accessToken: async ({ refresh }) => ... }): the function fetches tokens from your provider",
  clientSecret: "use auth: xoauth2({ username, accessToken: async ({ refresh }) => ... }): the function fetches tokens from your provider",
  method: 'use mechanism',
}

const tlsOptionKinds: OptionKinds = {
  servername: 'string',
  ca: 'any',
  cert: 'any',
  key: 'any',
  passphrase: 'string',
  pfx: 'any',
  minVersion: 'string',
  maxVersion: 'string',
  ciphers: 'string',
  checkServerIdentity: 'function',
  secureContext: 'object',
  session: 'object',
}

const tlsOptionHints: OptionHints = {
  rejectUnauthorized: 'use the client option insecureSkipTlsVerify: true (for tests only)',
}

/** Checks the options of `Client.connect` (and what a Pool or sendMail passes to it). */
export function checkConnectOptions(where: string, options: unknown): void {
  if (options === null || typeof options !== 'object') throw new TypeError(`${where}: connect options must be an object with at least host, got ${options === null ? 'null' : typeof options}`)
  const { tls, auth, tlsOptions } = options as { tls?: unknown; auth?: unknown; tlsOptions?: unknown }
  if (typeof tls === 'object' && tls !== null) {
    throw new TypeError(`${where}: option "tls" is a mode ('implicit', 'starttls', 'opportunistic' or 'none'); TLS settings such as ca go in tlsOptions, and rejectUnauthorized: false is insecureSkipTlsVerify: true`)
  }
  if (typeof tls === 'boolean') throw new TypeError(`${where}: option "tls" is a mode, not a boolean: 'implicit' (port 465), 'starttls', 'opportunistic' or 'none'`)
  checkOptions(where, options, connectKinds, connectHints)
  if (typeof (options as { host?: unknown }).host !== 'string') throw new TypeError(`${where}: option "host" is required`)
  checkClientParts(where, auth, tlsOptions)
}

/** Checks the options of `Client.fromSocket`. */
export function checkClientOptions(where: string, options: unknown): void {
  checkOptions(where, options, { ...clientKinds, signal: 'object' }, connectHints)
  checkClientParts(where, undefined, (options as { tlsOptions?: unknown } | undefined)?.tlsOptions)
}

function checkClientParts(where: string, auth: unknown, tlsOptions: unknown): void {
  // A mechanism object (sasl.plain(...), xoauth2(...)) has its own checks.
  if (auth !== undefined && typeof (auth as { start?: unknown }).start !== 'function') checkOptions(`${where} auth`, auth, passwordAuthKinds, authHints)
  checkOptions(`${where} tlsOptions`, tlsOptions, tlsOptionKinds, tlsOptionHints)
}

const poolKinds: OptionKinds = {
  maxConnections: 'number',
  maxMessagesPerConnection: 'number',
  idleTimeoutMs: 'number',
  rateLimit: 'object',
  quitTimeoutMs: 'number',
}

const poolHints: OptionHints = {
  maxMessages: 'use maxMessagesPerConnection',
  pool: 'a Pool is always pooled; drop it',
  rateDelta: 'use rateLimit: { messages, perMs }',
  socketTimeout: 'give timeouts in the connect options (the first argument)',
  idleTimeout: 'use idleTimeoutMs',
}

/** Checks the options of `new Pool(connect, options)`. */
export function checkPoolOptions(where: string, options: unknown): void {
  checkOptions(where, options, poolKinds, poolHints)
  checkOptions(`${where} rateLimit`, (options as { rateLimit?: unknown } | undefined)?.rateLimit, { messages: 'number', perMs: 'number' })
}

/** The `{ signal }` of `Pool.send` and friends. */
export function checkSignalOptions(where: string, options: unknown): void {
  checkOptions(where, options, { signal: 'object' })
}

const sendRequestKinds: OptionKinds = {
  from: 'string',
  to: ['string', 'array'],
  message: 'any',
  mailParams: 'object',
  rcptParams: ['object', 'function'],
  signal: 'object',
  onProgress: 'function',
}

const sendRequestHints: OptionHints = {
  envelope: 'give the envelope as from and to (the message headers are not read for it)',
  raw: 'use message',
  dsn: 'use mailParams: { ret, envid } and rcptParams: { notify, orcpt }',
  subject: 'compose the message with compose() from smtpkit/message, or call sendMail or Pool from smtpkit, which compose fields themselves',
  text: 'compose the message with compose() from smtpkit/message, or call sendMail or Pool from smtpkit, which compose fields themselves',
  html: 'compose the message with compose() from smtpkit/message, or call sendMail or Pool from smtpkit, which compose fields themselves',
}

/** Checks a send request (`Client.send`, `Pool.send`, `sendMail`) that carries `message`. */
export function checkSendRequest(where: string, request: unknown): void {
  checkOptions(where, request, sendRequestKinds, sendRequestHints)
}
