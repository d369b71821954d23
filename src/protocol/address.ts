import { Buffer } from 'node:buffer'
import { isIPv4, isIPv6 } from 'node:net'
import { domainToASCII, domainToUnicode } from 'node:url'
import { ProtocolError } from './errors.ts'
import { MAX_DOMAIN_OCTETS, MAX_LOCAL_PART_OCTETS, MAX_PATH_OCTETS } from './limits.ts'

/**
 * A mailbox as RFC 5321 §4.1.2 writes it: `local-part@domain`. Every field is exactly as
 * received, so {@link formatPath} of `address` sends the same bytes again.
 */
export interface ParsedMailbox {
  /** `localPart@domain`; `''` for the null reverse-path `<>`; `Postmaster` for `<Postmaster>`. */
  readonly address: string
  /** The local part as received; a quoted local part keeps its quotes and backslashes. */
  readonly localPart: string
  /** The domain or address literal (`[192.0.2.1]`), as received; a U-label stays a U-label. */
  readonly domain: string
  /** True when the address has non-ASCII characters, so it needs SMTPUTF8 (RFC 6531). */
  readonly isUtf8: boolean
}

/**
 * A parsed reverse-path or forward-path (RFC 5321 §4.1.2): the mailbox it names. A source route
 * (`<@a,@b:user@c>`) is dropped, as RFC 5321 §4.1.1.3 says a server should.
 */
export type Path = ParsedMailbox

/** What {@link parsePath} and {@link parseMailbox} accept beyond plain ASCII mailboxes. */
export interface AddressOptions {
  /** Accept non-ASCII local parts and U-label domains (RFC 6531, when SMTPUTF8 is in use). Default false. */
  readonly allowUtf8?: boolean | undefined
  /** Accept the null path `<>` (the reverse-path of MAIL FROM). Default false. */
  readonly allowNull?: boolean | undefined
  /** Accept `<Postmaster>` without a domain (RCPT TO only, RFC 5321 §4.1.1.3). Default false. */
  readonly allowPostmaster?: boolean | undefined
}

const NULL_PATH: Path = Object.freeze({ address: '', localPart: '', domain: '', isUtf8: false })

// RFC 5321 §4.1.2 atext (RFC 5322 §3.2.3) plus RFC 6531's UTF8-non-ascii.
const ATEXT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]$/
const DOT_ATOM_ASCII = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*$/
const NON_ASCII = /[^\x00-\x7f]/
// The common path, `<dot-atom@ldh.labels>` in ASCII, with each label at most 63 octets: every
// rule checkDotString and checkDomain apply holds for it, bar the lengths and the IPv4 form.
const PLAIN_PATH =
  /^<[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?>$/
const LDH_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/
// Lone surrogates (only possible in caller strings), C1 controls and U+FFFD, which a UTF-8
// decoder puts in place of bad bytes: none belongs in an address (RFC 5198 §2).
const BAD_UNICODE = /[\p{Cs}\u0080-\u009f\ufffd]/u

function fail(message: string): never {
  throw new ProtocolError('ERR_SMTP_BAD_ADDRESS', message)
}

function showChar(c: string): string {
  const code = c.codePointAt(0)!
  return code > 0x20 && code < 0x7f ? `'${c}'` : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`
}

function checkUnicode(text: string, allowUtf8: boolean, what: string): boolean {
  if (!NON_ASCII.test(text)) return false
  if (!allowUtf8) fail(`${what} has non-ASCII characters, which need SMTPUTF8 (RFC 6531)`)
  const bad = BAD_UNICODE.exec(text)
  if (bad) fail(`${what} contains ${showChar(bad[0])}, which is not allowed in an address`)
  return true
}

function checkDotString(local: string): void {
  if (DOT_ATOM_ASCII.test(local)) return
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..')) {
    fail('local part must not start or end with a dot or have two dots in a row; quote it ("...") if it must')
  }
  for (const c of local) {
    if (c !== '.' && !ATEXT.test(c) && c.charCodeAt(0) < 0x80) {
      fail(`local part contains ${showChar(c)}, which is only allowed inside a quoted local part`)
    }
  }
}

// Returns the index just after the closing quote of a quoted-string starting at text[0].
function scanQuoted(text: string): number {
  for (let i = 1; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code === 0x22) return i + 1
    if (code === 0x5c) {
      // RFC 5321 §4.1.2: quoted-pairSMTP = %d92 %d32-126.
      const next = text.charCodeAt(i + 1)
      if (!(next >= 0x20 && next <= 0x7e)) fail('quoted local part has a backslash not followed by a printable ASCII character')
      i++
    } else if (code < 0x20 || code === 0x7f) {
      fail(`quoted local part contains ${showChar(text[i]!)}`)
    }
  }
  return fail('quoted local part has no closing quote')
}

function checkDomain(domain: string, allowUtf8: boolean, what = 'domain'): boolean {
  if (domain === '') fail(`${what} is empty`)
  if (Buffer.byteLength(domain) > MAX_DOMAIN_OCTETS) fail(`${what} is longer than ${MAX_DOMAIN_OCTETS} octets (RFC 5321 §4.5.3.1.2)`)
  const isUtf8 = checkUnicode(domain, allowUtf8, what)
  if (domain.includes('@')) fail(`${what} contains '@': an address has one '@', unless it is inside a quoted local part`)
  // RFC 1123 §2.1: a host name never has the dotted-decimal form, which must be a literal.
  if (/^\d+\.\d+\.\d+\.\d+$/.test(domain)) fail(`${what} is an IPv4 address, which must be written as an address literal like [192.0.2.1]`)
  // Split on ASCII dots only: RFC 5321 §4.1.2 separates labels with '.', and mapping U+3002 and
  // friends to dots is a browser convenience that SMTP does not have.
  for (const label of domain.split('.')) {
    if (label === '') fail(`${what} has an empty label (a leading, trailing or doubled dot)`)
    let ascii = label
    if (NON_ASCII.test(label)) {
      // RFC 6531 §3.3: a sub-domain may be a U-label. It must map to an A-label and back to
      // itself: the WHATWG mapping behind domainToASCII silently drops CR, LF, TAB and soft
      // hyphens and folds full-width letters, none of which may pass through unseen.
      ascii = domainToASCII(label)
      if (
        !ascii.startsWith('xn--') ||
        ascii.includes('.') ||
        domainToUnicode(ascii) !== label.toLowerCase() ||
        label.startsWith('-') ||
        label.endsWith('-')
      ) {
        fail(`${what} has a label that is not a valid internationalized domain label (RFC 5890)`)
      }
    }
    if (ascii.length > 63) fail(`${what} has a label longer than 63 octets (RFC 1035 §2.3.4)`)
    if (!LDH_LABEL.test(ascii)) {
      fail(`${what} labels must be letters, digits and hyphens, and not start or end with a hyphen (RFC 5321 §4.1.2)`)
    }
  }
  return isUtf8
}

function checkAddressLiteral(domain: string): void {
  if (!domain.endsWith(']')) fail('address literal has no closing bracket')
  const inner = domain.slice(1, -1)
  // The "IPv6:" tag is case-insensitive like every ABNF literal (RFC 5234 §2.3).
  if (/^ipv6:/i.test(inner)) {
    const ip = inner.slice(5)
    // net.isIPv6 accepts a zone ("%eth0"), which RFC 5321 §4.1.3 has no room for.
    if (!isIPv6(ip) || ip.includes('%')) fail('address literal is not a valid IPv6 address')
  } else if (!isIPv4(inner)) {
    fail(inner.includes(':') ? 'address literal has an unknown tag: only IPv6 is defined (RFC 5321 §4.1.3)' : 'address literal is not a valid IPv4 address')
  }
}

/**
 * Parses a bare mailbox, `local-part@domain` without angle brackets (RFC 5321 §4.1.2).
 *
 * Accepts dot-string and quoted-string local parts, LDH domains and U-labels (with `allowUtf8`),
 * and `[IPv4]` / `[IPv6:...]` address literals. Throws a {@link ProtocolError}
 * (`ERR_SMTP_BAD_ADDRESS`) that says which rule the text breaks.
 */
export function parseMailbox(text: string, options: AddressOptions = {}): ParsedMailbox {
  const allowUtf8 = options.allowUtf8 === true
  if (text === '') fail('address is empty')
  let at: number
  if (text.startsWith('"')) {
    at = scanQuoted(text)
    if (at >= text.length || text.charCodeAt(at) !== 0x40) fail("quoted local part must be followed by '@' and a domain")
  } else {
    at = text.indexOf('@')
    if (at === -1) fail("address has no '@' and domain")
    if (at === 0) fail("address has an empty local part before '@'")
    checkDotString(text.slice(0, at))
  }
  const localPart = text.slice(0, at)
  const domain = text.slice(at + 1)
  let isUtf8 = checkUnicode(localPart, allowUtf8, 'local part')
  if (Buffer.byteLength(localPart) > MAX_LOCAL_PART_OCTETS) {
    fail(`local part is longer than ${MAX_LOCAL_PART_OCTETS} octets (RFC 5321 §4.5.3.1.1)`)
  }
  if (domain.startsWith('[')) checkAddressLiteral(domain)
  else if (checkDomain(domain, allowUtf8)) isUtf8 = true
  return { address: text, localPart, domain, isUtf8 }
}

/**
 * Parses a reverse-path or forward-path as sent after `MAIL FROM:` or `RCPT TO:` (the `path` of
 * {@link splitPathAndParams}), angle brackets included: `<a@b.example>`.
 *
 * A source route is checked and dropped (RFC 5321 §4.1.1.3). The whole path may be at most 256
 * octets, the local part 64 and the domain 255 (RFC 5321 §4.5.3.1). The null path `<>` needs
 * `allowNull`, `<Postmaster>` needs `allowPostmaster`, and non-ASCII needs `allowUtf8`. Throws a
 * {@link ProtocolError} (`ERR_SMTP_BAD_ADDRESS`) that says what is wrong.
 */
export function parsePath(text: string, options: AddressOptions = {}): Path {
  if (text.length <= MAX_PATH_OCTETS && PLAIN_PATH.test(text)) {
    const at = text.indexOf('@')
    const domain = text.slice(at + 1, -1)
    if (at - 1 <= MAX_LOCAL_PART_OCTETS && domain.length <= MAX_DOMAIN_OCTETS && !/^\d+\.\d+\.\d+\.\d+$/.test(domain)) {
      return { address: text.slice(1, -1), localPart: text.slice(1, at), domain, isUtf8: false }
    }
  }
  if (!text.startsWith('<')) fail("path must start with '<' (RFC 5321 §4.1.2)")
  if (!text.endsWith('>') || text.length < 2) fail("path must end with '>' (RFC 5321 §4.1.2)")
  if (Buffer.byteLength(text) > MAX_PATH_OCTETS) fail(`path is longer than ${MAX_PATH_OCTETS} octets (RFC 5321 §4.5.3.1.3)`)
  let inner = text.slice(1, -1)
  if (inner === '') {
    if (options.allowNull === true) return NULL_PATH
    fail('the null path <> is not allowed here')
  }
  if (inner.startsWith('@')) {
    // RFC 5321 §4.1.2: A-d-l = At-domain *( "," At-domain ) ":" — domains cannot hold ':'.
    const colon = inner.indexOf(':')
    if (colon === -1) fail("source route must end with ':' before the mailbox")
    for (const hop of inner.slice(0, colon).split(',')) {
      if (!hop.startsWith('@')) fail("source route hops must each start with '@'")
      checkDomain(hop.slice(1), options.allowUtf8 === true, 'source route domain')
    }
    inner = inner.slice(colon + 1)
  }
  if (options.allowPostmaster === true && /^postmaster$/i.test(inner)) {
    return { address: inner, localPart: inner, domain: '', isUtf8: false }
  }
  return parseMailbox(inner, options)
}

/**
 * Splits the text after `MAIL FROM:` or `RCPT TO:` into the `<...>` path and the parameters after
 * it. The closing `>` is found outside any quoted string, so `<"a> b"@c> SIZE=1` splits
 * correctly. The path must start at the first character and be followed by nothing or a space;
 * `params` is the text after that space. Throws a {@link ProtocolError} (`ERR_SMTP_BAD_ADDRESS`).
 */
export function splitPathAndParams(rest: string): { path: string; params: string } {
  if (!rest.startsWith('<')) fail("expected '<' to open the path right after the colon (RFC 5321 §4.1.1.2)")
  let inQuote = false
  let end = -1
  for (let i = 1; i < rest.length; i++) {
    const code = rest.charCodeAt(i)
    if (code === 0x22) inQuote = !inQuote
    else if (code === 0x5c && inQuote) i++
    else if (code === 0x3e && !inQuote) {
      end = i
      break
    }
  }
  if (end === -1) fail("path has no closing '>'")
  const path = rest.slice(0, end + 1)
  if (end + 1 === rest.length) return { path, params: '' }
  if (rest.charCodeAt(end + 1) !== 0x20) fail("expected a space or the end of the line after the path's '>'")
  return { path, params: rest.slice(end + 2) }
}

/**
 * Formats an address as a path for MAIL FROM or RCPT TO (client side): `<address>`, and `''` as
 * the null path `<>`. The address is checked with {@link parseMailbox}'s rules (UTF-8 allowed;
 * see {@link needsSmtpUtf8}), so CR, LF, NUL, spaces outside quotes and other junk cannot reach
 * the wire: a bad address is a TypeError naming the rule it breaks.
 */
export function formatPath(address: string): string {
  if (typeof address !== 'string') throw new TypeError(`address must be a string, got ${typeof address}`)
  if (address === '') return '<>'
  try {
    parseMailbox(address, { allowUtf8: true })
  } catch (err) {
    throw new TypeError(`invalid address ${JSON.stringify(address)}: ${(err as Error).message}`, { cause: err })
  }
  const path = `<${address}>`
  if (Buffer.byteLength(path) > MAX_PATH_OCTETS) {
    throw new TypeError(`invalid address ${JSON.stringify(address)}: path is longer than ${MAX_PATH_OCTETS} octets (RFC 5321 §4.5.3.1.3)`)
  }
  return path
}

/** True when `address` is a mailbox {@link parseMailbox} accepts with these options. */
export function isValidAddress(address: string, options: AddressOptions = { allowUtf8: true }): boolean {
  try {
    parseMailbox(address, options)
    return true
  } catch {
    return false
  }
}

/** True when `address` has any non-ASCII character, so sending it needs SMTPUTF8 (RFC 6531). */
export function needsSmtpUtf8(address: string): boolean {
  return NON_ASCII.test(address)
}

/**
 * Converts a domain to its ASCII form: each U-label becomes an A-label (`bücher.example` →
 * `xn--bcher-kva.example`), for servers without SMTPUTF8. ASCII domains and address literals come
 * back unchanged. Throws a TypeError when a label is not a valid internationalized label.
 */
export function toAsciiDomain(domain: string): string {
  if (!NON_ASCII.test(domain)) return domain
  try {
    checkDomain(domain, true)
  } catch (err) {
    throw new TypeError(`invalid domain ${JSON.stringify(domain)}: ${(err as Error).message}`, { cause: err })
  }
  return domain.split('.').map((label) => (NON_ASCII.test(label) ? domainToASCII(label) : label)).join('.')
}

/**
 * Rewrites an address so that it is all ASCII, converting a U-label domain to A-labels, for a
 * server without SMTPUTF8. A non-ASCII local part has no ASCII form (RFC 6530 §7.1): that throws a
 * {@link ProtocolError} (`ERR_SMTP_UNSUPPORTED`). An invalid address is a TypeError.
 */
export function toAsciiAddress(address: string): string {
  if (!NON_ASCII.test(address)) return address
  formatPath(address)
  const { localPart, domain } = parseMailbox(address, { allowUtf8: true })
  if (NON_ASCII.test(localPart)) {
    throw new ProtocolError('ERR_SMTP_UNSUPPORTED', `address ${JSON.stringify(address)} has a non-ASCII local part, which needs a server with SMTPUTF8 (RFC 6531)`)
  }
  return `${localPart}@${toAsciiDomain(domain)}`
}

/**
 * The value of a local part: a quoted local part loses its quotes and backslash escapes
 * (`"a\ b"` → `a b`); a dot-string comes back unchanged. For mailbox lookups on the server.
 */
export function unquoteLocalPart(localPart: string): string {
  if (!localPart.startsWith('"') || !localPart.endsWith('"') || localPart.length < 2) return localPart
  return localPart.slice(1, -1).replace(/\\(.)/gsu, '$1')
}
