import { constants as cryptoConstants } from 'node:crypto'
import type { BlockList } from 'node:net'
import { hostname as osHostname } from 'node:os'
import { createSecureContext, type SecureContext, type TlsOptions } from 'node:tls'
import { checkOptions, type OptionHints, type OptionKinds } from '../options/check-options.ts'
import { serverMechanismNames, type AuthRequest, type AuthResult, type ScramLookup, type ServerMechanismName } from '../sasl/index.ts'
import { resolveServerLimits, type ServerLimits } from './limits.ts'
import { confirmedHostname } from './reverse-dns.ts'
import { createTrustedProxyList, resolveProxyProtocolOptions, type ProxyProtocolOptions, type ResolvedProxyProtocolOptions } from './proxy-protocol.ts'
import type { ConnectionInfo, Session } from './session.ts'

/**
 * What the server's authentication hook may return: an {@link AuthResult} or a SCRAM lookup, or
 * `{ identity, user }` to keep `user` (your account record) on `ConnectionInfo.user`.
 */
export type ServerAuthResult = AuthResult | ScramLookup | { readonly identity: string; readonly user: unknown }

/** The server's authentication hook: the SASL request plus the connection it came on. */
export type AuthHook = (request: AuthRequest, conn: ConnectionInfo) => ServerAuthResult | Promise<ServerAuthResult>

/** The addresses of a connection, as {@link Server.handle} takes them. */
export interface ConnectionAddresses {
  readonly remoteAddress?: string
  readonly remotePort?: number
  readonly localAddress?: string
  readonly localPort?: number
}

/** The SASL mechanisms the server can offer. */
export type ServerAuthMechanism = ServerMechanismName

/** Options of `new Server()`. Every one is optional. */
export interface ServerOptions {
  /** The name the server gives in its greeting and replies. Default: the machine's host name. */
  hostname?: string
  /**
   * The text of the greeting after `220 <hostname> ESMTP` (LMTP), which RFC 5321 §4.2 requires
   * first: printable ASCII, one line. Default `'ready'`.
   */
  greeting?: string
  /**
   * TLS key and certificate (any `tls.createSecureContext` options, plus `requestCert` and
   * `rejectUnauthorized` for client certificates). With it, STARTTLS is offered (RFC 3207), and
   * `listen({ implicitTls: true })` serves port-465 style implicit TLS (RFC 8314).
   */
  tls?: TlsOptions
  /** Abuse limits; see {@link ServerLimits} for each default. */
  limits?: Partial<ServerLimits>
  /** Makes the {@link Session} for a connection. Default: a session that accepts every message and discards it. */
  newSession?: (conn: ConnectionInfo) => Session | Promise<Session>
  /** Checks credentials; enables AUTH (RFC 4954) with {@link ServerOptions.authMechanisms}. */
  auth?: AuthHook
  /**
   * The mechanisms offered when `auth` is set, in order. Default `['PLAIN', 'LOGIN']`, which work
   * with any password check. CRAM-MD5 and SCRAM-SHA-256 need the hook to look up a stored secret.
   */
  authMechanisms?: readonly ServerAuthMechanism[]
  /** Message submission (RFC 6409 §4.3): MAIL before AUTH gets `530 5.7.0`. Default false. */
  requireAuth?: boolean
  /** Refuse mail commands until STARTTLS (`530 5.7.0 Must issue a STARTTLS command first`). Default false. */
  requireTls?: boolean
  /** Offer AUTH on a connection without TLS, which exposes passwords. Default false. */
  insecureAuthWithoutTls?: boolean
  /** Speak LMTP (RFC 2033): LHLO instead of EHLO/HELO, and one DATA reply per recipient. Default false. */
  lmtp?: boolean
  /** Put RFC 3463 enhanced status codes on replies and advertise ENHANCEDSTATUSCODES (RFC 2034). Default true. */
  enhancedStatusCodes?: boolean
  /** Advertise PIPELINING (RFC 2920). Commands are processed in order either way. Default true. */
  pipelining?: boolean
  /** Advertise 8BITMIME (RFC 6152) and accept BODY=8BITMIME. Default true. */
  eightBitMime?: boolean
  /** Advertise BINARYMIME (RFC 3030) and accept BODY=BINARYMIME; needs `chunking`. Default true. */
  binaryMime?: boolean
  /** Advertise CHUNKING (RFC 3030) and accept BDAT. Default true. */
  chunking?: boolean
  /** Advertise SMTPUTF8 (RFC 6531) and accept UTF-8 addresses with the SMTPUTF8 parameter. Default true. */
  smtpUtf8?: boolean
  /** Advertise DSN (RFC 3461) and accept RET, ENVID, NOTIFY and ORCPT. Default true. */
  dsn?: boolean
  /**
   * Accept messages with bare LF or bare CR, normalising them to CRLF, instead of rejecting them
   * (RFC 5321 §2.3.8). They still never end the data (SMTP smuggling). A NUL in a DATA body
   * is refused either way (`554 5.6.0`): neither 7bit nor 8bit text may hold one (RFC 2045
   * §2.7, §2.8), and a relay that drops it would see `CRLF.CRLF` in `CRLF NUL . CRLF`. Default false.
   */
  insecureAcceptBareLineEndings?: boolean
  /**
   * Runs after every TLS handshake (STARTTLS or implicit TLS), with `conn.tls` filled in; throw
   * an `SmtpError` to refuse the client (a client certificate you do not accept, say): the
   * reply is sent over TLS and the connection closes. smtp-server's `onSecure`.
   */
  afterTls?: (conn: ConnectionInfo) => void | Promise<void>
  /**
   * Postfix's XCLIENT extension: a client from `trusted` (IPs or CIDR ranges; a front proxy, or a
   * test) may set the client's address, port, name, HELO name and login that the session and the
   * `Received:` header see. Offered and accepted from those addresses only. Default: off.
   */
  xclient?: { readonly trusted: readonly string[] }
  /**
   * Look up the client's host name (PTR, confirmed by a forward lookup that gives the address
   * back) before the session starts, for `ConnectionInfo.clientHostname` and the `Received:`
   * header. `timeoutMs` (default 5000) bounds the wait; a failure or timeout leaves the name
   * unknown. `resolve` replaces the lookup (tests, a cache). Default: off.
   */
  reverseDns?: boolean | { readonly timeoutMs?: number; readonly resolve?: (address: string) => Promise<string | undefined> }
  /** Errors thrown by hooks (other than SmtpError) and other internal failures. Default: console.error. */
  onError?: (error: unknown, conn: ConnectionInfo | undefined) => void
  /** Receives the wire transcript, `C: ...` and `S: ...` lines, with AUTH data redacted. */
  debug?: (line: string, conn: ConnectionInfo) => void
  /**
   * Expect a PROXY protocol header (HAProxy's, version 1 or 2) at the start of every connection,
   * before the TLS handshake of implicit TLS and before the greeting. A connection from an
   * address not in `trusted` is closed without a word; one whose header is malformed or does
   * not arrive within `timeoutMs` (default 5000) is closed without a greeting, and the error
   * goes to `onError`. The addresses of `ConnectionInfo` are then the header's (the socket's own
   * for LOCAL and UNKNOWN), and `limits.maxConnectionsPerIp` counts the client the header names.
   * Default: off, and a header would be read as a bad command.
   */
  proxyProtocol?: ProxyProtocolOptions
}

/** {@link ServerOptions} with every default applied: what connections read. */
export interface ResolvedServerOptions {
  readonly hostname: string
  readonly greeting: string
  readonly limits: ServerLimits
  readonly tls: TlsOptions | undefined
  readonly secureContext: SecureContext | undefined
  readonly newSession: ((conn: ConnectionInfo) => Session | Promise<Session>) | undefined
  readonly auth: AuthHook | undefined
  readonly authMechanisms: readonly ServerAuthMechanism[]
  readonly requireAuth: boolean
  readonly requireTls: boolean
  readonly insecureAuthWithoutTls: boolean
  readonly lmtp: boolean
  readonly enhancedStatusCodes: boolean
  readonly pipelining: boolean
  readonly eightBitMime: boolean
  readonly binaryMime: boolean
  readonly chunking: boolean
  readonly smtpUtf8: boolean
  readonly dsn: boolean
  readonly insecureAcceptBareLineEndings: boolean
  readonly onError: (error: unknown, conn: ConnectionInfo | undefined) => void
  readonly debug: ((line: string, conn: ConnectionInfo) => void) | undefined
  readonly proxyProtocol: ResolvedProxyProtocolOptions | undefined
  readonly afterTls: ((conn: ConnectionInfo) => void | Promise<void>) | undefined
  readonly xclientTrusted: BlockList | undefined
  readonly reverseDns: { readonly timeoutMs: number; readonly resolve: (address: string) => Promise<string | undefined> } | undefined
}

const MECHANISMS: readonly string[] = serverMechanismNames
// RFC 5321 §4.1.2 Domain, or an address literal: what may follow "220 " as our name.
const HOSTNAME = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?|\[[0-9A-Fa-f:.Iv]+\])$/

function defaultOnError(error: unknown, conn: ConnectionInfo | undefined): void {
  console.error(`smtpkit server${conn ? ` [${conn.id}]` : ''}:`, error)
}

// OpenSSL's own errors (ERR_OSSL_PEM_NO_START_LINE, a key that does not match the certificate)
// do not say which option they came from.
function loadSecureContext(tls: TlsOptions): SecureContext {
  try {
    // Client-initiated renegotiation (TLS 1.2) makes the server do a handshake per request, as
    // often as a client likes; tls.Server drops such a client after 3, we refuse the first.
    return createSecureContext({ ...tls, secureOptions: (tls.secureOptions ?? 0) | cryptoConstants.SSL_OP_NO_RENEGOTIATION })
  } catch (error) {
    throw new TypeError(`tls: cannot use the key and certificate: ${(error as Error).message}`, { cause: error })
  }
}

const SERVER_OPTION_KINDS: OptionKinds = {
  hostname: 'string',
  greeting: 'string',
  tls: 'object',
  limits: 'object',
  newSession: 'function',
  auth: 'function',
  authMechanisms: 'array',
  requireAuth: 'boolean',
  requireTls: 'boolean',
  insecureAuthWithoutTls: 'boolean',
  lmtp: 'boolean',
  enhancedStatusCodes: 'boolean',
  pipelining: 'boolean',
  eightBitMime: 'boolean',
  binaryMime: 'boolean',
  chunking: 'boolean',
  smtpUtf8: 'boolean',
  dsn: 'boolean',
  insecureAcceptBareLineEndings: 'boolean',
  onError: 'function',
  debug: 'function',
  proxyProtocol: 'object',
  afterTls: 'function',
  xclient: 'object',
  reverseDns: ['boolean', 'object'],
}

// What smtp-server's options become here (docs/how-to/migrate-from-smtp-server.md).
const SESSION = 'newSession: (conn) => ({ ... })'
const SERVER_OPTION_HINTS: OptionHints = {
  onData: `use ${SESSION} with data(message, envelope): an onData kept here would accept every message and throw it away`,
  onMailFrom: `use ${SESSION} with mail(from, params)`,
  onRcptTo: `use ${SESSION} with rcpt(to, params)`,
  onConnect: 'use newSession(conn), which may throw an SmtpError to refuse the client',
  onClose: `use ${SESSION} with close()`,
  onAuth: 'use auth: (request, conn) => true | false | an identity (see AuthHook)',
  authOptional: 'AUTH is optional unless requireAuth: true',
  authMethods: 'use authMechanisms',
  allowInsecureAuth: 'use insecureAuthWithoutTls',
  size: 'use limits: { maxMessageBytes }',
  maxClients: 'use limits: { maxConnections }',
  socketTimeout: 'use limits: { commandTimeoutMs, dataTimeoutMs }',
  closeTimeout: 'use Server.close({ signal }): what is left when the signal aborts is destroyed',
  maxAllowedUnauthenticatedCommands: 'use limits: { maxUnauthenticatedCommands }',
  name: 'use hostname',
  secure: 'use listen({ implicitTls: true }) for a port-465 style listener; the tls option holds the key and certificate',
  key: 'put it in tls: { key, cert }',
  cert: 'put it in tls: { key, cert }',
  ca: 'put it in tls: { ca }',
  sniOptions: 'use tls: { SNICallback }',
  disabledCommands: 'turn extensions off with auth (omit it), chunking: false, pipelining: false and the like; STARTTLS is offered only with tls',
  hideSTARTTLS: 'STARTTLS is offered only when the tls option is set',
  hidePIPELINING: 'use pipelining: false',
  hide8BITMIME: 'use eightBitMime: false',
  hideSMTPUTF8: 'use smtpUtf8: false',
  hideDSN: 'use dsn: false',
  hideENHANCEDSTATUSCODES: 'use enhancedStatusCodes: false',
  logger: 'use debug (the transcript) and onError',
  onSecure: 'use afterTls(conn), which may throw an SmtpError to refuse the client',
  useXClient: 'use xclient: { trusted: [...] }',
  disableReverseLookup: 'reverse DNS is off unless reverseDns is set',
  resolver: 'use reverseDns: { resolve }',
  banner: 'use greeting (the text after "220 <hostname> ESMTP")',
}

// Keys of tls: what tls.createSecureContext takes, plus the four the server's TLSSocket uses.
const TLS_OPTION_KINDS: OptionKinds = {
  ca: 'any',
  cert: 'any',
  key: 'any',
  pfx: 'any',
  passphrase: 'string',
  crl: 'any',
  ciphers: 'string',
  sigalgs: 'string',
  ecdhCurve: 'string',
  dhparam: 'any',
  honorCipherOrder: 'boolean',
  minVersion: 'string',
  maxVersion: 'string',
  secureOptions: 'number',
  secureProtocol: 'string',
  sessionIdContext: 'string',
  sessionTimeout: 'number',
  ticketKeys: 'object',
  privateKeyEngine: 'string',
  privateKeyIdentifier: 'string',
  clientCertEngine: 'string',
  requestCert: 'boolean',
  rejectUnauthorized: 'boolean',
  SNICallback: 'function',
  ALPNProtocols: 'any',
}

const TLS_OPTION_HINTS: OptionHints = {
  handshakeTimeout: 'the handshake has limits.commandTimeoutMs',
  secure: 'use listen({ implicitTls: true })',
}

/** Applies the defaults and checks the options; a TypeError or RangeError names the bad one. */
export function resolveServerOptions(options: ServerOptions): ResolvedServerOptions {
  checkOptions('new Server()', options, SERVER_OPTION_KINDS, SERVER_OPTION_HINTS)
  checkOptions('tls', options.tls, TLS_OPTION_KINDS, TLS_OPTION_HINTS)
  const hostname = options.hostname ?? osHostname()
  if (!HOSTNAME.test(hostname)) throw new TypeError(`hostname must be a domain name or address literal, got ${JSON.stringify(hostname)}`)
  const greeting = options.greeting ?? 'ready'
  if (!/^[\x20-\x7e]*$/.test(greeting)) throw new TypeError(`greeting must be one line of printable ASCII (RFC 5321 §4.2), got ${JSON.stringify(greeting)}`)
  const authMechanisms = options.authMechanisms ?? ['PLAIN', 'LOGIN']
  for (const name of authMechanisms) {
    if (!MECHANISMS.includes(name)) throw new TypeError(`authMechanisms: unknown mechanism ${JSON.stringify(name)}; known are ${MECHANISMS.join(', ')}`)
  }
  if (options.requireAuth === true && options.auth === undefined) throw new TypeError('requireAuth needs an auth hook')
  const tls = options.tls
  const secureContext = tls ? loadSecureContext(tls) : undefined
  return Object.freeze({
    hostname,
    greeting,
    limits: resolveServerLimits(options.limits),
    tls,
    secureContext,
    newSession: options.newSession,
    auth: options.auth,
    authMechanisms: Object.freeze([...authMechanisms]),
    requireAuth: options.requireAuth ?? false,
    requireTls: options.requireTls ?? false,
    insecureAuthWithoutTls: options.insecureAuthWithoutTls ?? false,
    lmtp: options.lmtp ?? false,
    enhancedStatusCodes: options.enhancedStatusCodes ?? true,
    pipelining: options.pipelining ?? true,
    eightBitMime: options.eightBitMime ?? true,
    binaryMime: (options.binaryMime ?? true) && (options.chunking ?? true),
    chunking: options.chunking ?? true,
    smtpUtf8: options.smtpUtf8 ?? true,
    dsn: options.dsn ?? true,
    insecureAcceptBareLineEndings: options.insecureAcceptBareLineEndings ?? false,
    onError: options.onError ?? defaultOnError,
    debug: options.debug,
    proxyProtocol: options.proxyProtocol === undefined ? undefined : resolveProxyProtocolOptions(options.proxyProtocol),
    afterTls: options.afterTls,
    xclientTrusted: resolveXclient(options.xclient),
    reverseDns: resolveReverseDns(options.reverseDns),
  })
}

function resolveXclient(xclient: ServerOptions['xclient']): BlockList | undefined {
  if (xclient === undefined) return undefined
  checkOptions('xclient', xclient, { trusted: 'array' })
  if (xclient.trusted.length === 0) throw new TypeError('xclient.trusted must list the clients (IPs or CIDR ranges) allowed to use XCLIENT')
  return createTrustedProxyList(xclient.trusted)
}

function resolveReverseDns(reverseDns: ServerOptions['reverseDns']): ResolvedServerOptions['reverseDns'] {
  if (reverseDns === undefined || reverseDns === false) return undefined
  const options = reverseDns === true ? {} : reverseDns
  checkOptions('reverseDns', options, { timeoutMs: 'number', resolve: 'function' })
  const timeoutMs = options.timeoutMs ?? 5000
  if (!(timeoutMs > 0) || timeoutMs === Infinity) throw new RangeError(`reverseDns.timeoutMs must be a positive number, got ${String(timeoutMs)}`)
  return Object.freeze({ timeoutMs, resolve: options.resolve ?? confirmedHostname })
}
