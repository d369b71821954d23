// The four SCRAM messages (RFC 5802 §7) as matched format/parse pairs. Values never contain ','
// (saslnames escape it, nonces and base64 exclude it), so a message splits on ',' into attributes.
import { decodeBase64Strict } from './base64.ts'
import { AuthenticationFailed, MalformedSaslMessage } from './errors.ts'

const MECHANISM = 'SCRAM-SHA-256'
const ATTRIBUTE = /^([A-Za-z])=(.+)$/s
// RFC 5802 §7: printable = %x21-2B / %x2D-7E (no ',').
const NONCE = /^[\x21-\x2b\x2d-\x7e]+$/
const ITERATIONS = /^[1-9][0-9]{0,9}$/

function malformed(what: string): MalformedSaslMessage {
  return new MalformedSaslMessage(`${MECHANISM}: ${what}`)
}

/** RFC 5802 §5.1: a saslname writes `=` as `=3D` and `,` as `=2C`. */
export function escapeSaslName(name: string): string {
  return name.replaceAll('=', '=3D').replaceAll(',', '=2C')
}

/** Reverses {@link escapeSaslName}; undefined when `=` is followed by anything but `2C` or `3D`. */
export function unescapeSaslName(text: string): string | undefined {
  if (/=(?!2C|3D)/.test(text)) return undefined
  return text.replaceAll('=2C', ',').replaceAll('=3D', '=')
}

/** True when `nonce` is a valid SCRAM nonce: printable ASCII except `,`. */
export function isNonce(nonce: string): boolean {
  return NONCE.test(nonce)
}

function decodeBase64(text: string, what: string): Buffer {
  const decoded = decodeBase64Strict(text)
  if (!decoded) throw malformed(`${what} is not valid base64`)
  return decoded
}

function attributes(text: string, what: string): { key: string; value: string }[] {
  if (text.includes('\0')) throw malformed(`${what} contains NUL`)
  return text.split(',').map((part) => {
    const match = ATTRIBUTE.exec(part)
    if (match === null) throw malformed(`${what} has an attribute that is not k=value`)
    return { key: match[1]!, value: match[2]! }
  })
}

function expect(attribute: { key: string; value: string } | undefined, key: string, what: string): string {
  if (attribute?.key !== key) throw malformed(`${what} lacks ${key}= where it belongs`)
  return attribute.value
}

function checkNoMandatoryExtension(attribute: { key: string } | undefined, what: string, error: (text: string) => Error): void {
  // RFC 5802 §5.1: m= marks an extension the receiver must understand; we know none.
  if (attribute?.key === 'm') throw error(`${what} requires an extension (m=) that is not supported`)
}

/** The client-first-message (RFC 5802 §7), and the parts of it that later steps need. */
export interface ClientFirst {
  /** `n,,`, `y,,` or with an authzid `n,a=<saslname>,`. */
  readonly gs2Header: string
  /** client-first-message-bare, which goes into AuthMessage. */
  readonly bare: string
  readonly authorizationId: string | undefined
  readonly username: string
  readonly nonce: string
}

/** Formats a client-first-message without channel binding. Names must already be SASLprepped. */
export function formatClientFirst(username: string, authorizationId: string | undefined, nonce: string): ClientFirst & { text: string } {
  const gs2Header = authorizationId === undefined ? 'n,,' : `n,a=${escapeSaslName(authorizationId)},`
  const bare = `n=${escapeSaslName(username)},r=${nonce}`
  return { gs2Header, bare, authorizationId, username, nonce, text: gs2Header + bare }
}

/**
 * Parses a client-first-message. A client that wants channel binding (`p=`) or a mandatory
 * extension is refused with AuthenticationFailed: this server offers neither. `y` (the client
 * could bind but thinks we cannot) is accepted, which is right since we advertise no -PLUS
 * mechanism (RFC 5802 §6).
 */
export function parseClientFirst(text: string): ClientFirst {
  const first = text.indexOf(',')
  const second = first === -1 ? -1 : text.indexOf(',', first + 1)
  if (second === -1) throw malformed('client-first-message lacks its gs2 header')
  const flag = text.slice(0, first)
  if (flag.startsWith('p=')) throw new AuthenticationFailed(`${MECHANISM}: the client requires channel binding, which is not supported`)
  if (flag !== 'n' && flag !== 'y') throw malformed('client-first-message has an unknown channel binding flag')
  const authzid = text.slice(first + 1, second)
  let authorizationId: string | undefined
  if (authzid !== '') {
    authorizationId = authzid.startsWith('a=') ? unescapeSaslName(authzid.slice(2)) : undefined
    if (authorizationId === undefined || authorizationId === '') throw malformed('client-first-message has a malformed authzid')
  }
  const bare = text.slice(second + 1)
  const attrs = attributes(bare, 'client-first-message')
  checkNoMandatoryExtension(attrs[0], 'the client', (message) => new AuthenticationFailed(`${MECHANISM}: ${message}`))
  const username = unescapeSaslName(expect(attrs[0], 'n', 'client-first-message'))
  if (username === undefined) throw malformed('client-first-message has a malformed username')
  const nonce = expect(attrs[1], 'r', 'client-first-message')
  if (!isNonce(nonce)) throw malformed('client nonce has characters outside printable ASCII')
  return { gs2Header: text.slice(0, second + 1), bare, authorizationId, username, nonce }
}

/** The server-first-message: the combined nonce, the salt and the iteration count. */
export interface ServerFirst {
  readonly nonce: string
  readonly salt: Uint8Array
  readonly iterations: number
}

/** Formats a server-first-message. */
export function formatServerFirst(first: ServerFirst): string {
  return `r=${first.nonce},s=${Buffer.from(first.salt).toString('base64')},i=${first.iterations}`
}

/** Parses a server-first-message (client side). Extensions after `i=` are ignored. */
export function parseServerFirst(text: string): ServerFirst {
  const attrs = attributes(text, 'server-first-message')
  checkNoMandatoryExtension(attrs[0], 'the server', malformed)
  const nonce = expect(attrs[0], 'r', 'server-first-message')
  if (!isNonce(nonce)) throw malformed('server nonce has characters outside printable ASCII')
  const salt = decodeBase64(expect(attrs[1], 's', 'server-first-message'), 'salt')
  const iterations = expect(attrs[2], 'i', 'server-first-message')
  if (!ITERATIONS.test(iterations)) throw malformed('iteration count is not a positive integer')
  return { nonce, salt, iterations: Number(iterations) }
}

/** The client-final-message: channel binding data, nonce, proof. */
export interface ClientFinal {
  /** The decoded `c=` value: the gs2 header, since no channel binding data is used. */
  readonly channelBinding: Uint8Array
  readonly nonce: string
  readonly proof: Uint8Array
  /** client-final-message-without-proof, which goes into AuthMessage. */
  readonly withoutProof: string
}

/** Formats client-final-message-without-proof; append `,p=<proof>` for the message. */
export function formatClientFinalWithoutProof(gs2Header: string, nonce: string): string {
  return `c=${Buffer.from(gs2Header, 'utf8').toString('base64')},r=${nonce}`
}

/** Parses a client-final-message (server side). */
export function parseClientFinal(text: string): ClientFinal {
  const attrs = attributes(text, 'client-final-message')
  const channelBinding = decodeBase64(expect(attrs[0], 'c', 'client-final-message'), 'channel binding')
  const nonce = expect(attrs[1], 'r', 'client-final-message')
  const proof = decodeBase64(expect(attrs.at(-1), 'p', 'client-final-message'), 'proof')
  return { channelBinding, nonce, proof, withoutProof: text.slice(0, text.lastIndexOf(',')) }
}

/** Parses a server-final-message (client side): the verifier, or the server's error. */
export function parseServerFinal(text: string): { verifier: Uint8Array } | { error: string } {
  const attrs = attributes(text, 'server-final-message')
  const first = attrs[0]
  if (first?.key === 'e') return { error: first.value }
  return { verifier: decodeBase64(expect(first, 'v', 'server-final-message'), 'server signature') }
}
