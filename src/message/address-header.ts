import { isIPv6 } from 'node:net'
import { domainToASCII, domainToUnicode } from 'node:url'
import { encodeWords } from './encoding/encoded-word.ts'
import { assertHeaderText, describe, firstWordLength, foldHeader, type TextOptions } from './headers.ts'

/** One mailbox: an optional display name and an address `local@domain` (domain in A-labels). */
export interface Mailbox {
  readonly name: string
  readonly address: string
}

/** A named group of mailboxes (RFC 5322 §3.4), such as `Undisclosed recipients:;`. */
export interface Group {
  readonly group: string
  readonly members: readonly Mailbox[]
}

/** A mailbox or a group, as an address list holds them. */
export type AddressItem = Mailbox | Group

/**
 * An address as callers give it: a string in header form (`a@b`, `"Name" <a@b>`, `Name <a@b>`,
 * `a@b (Name)`, comma-separated lists, groups `Team: a@b, c@d;`), or a `{ name, address }` object.
 */
export type AddressInput = string | { readonly name?: string; readonly address: string }

/** One address or several: an {@link AddressInput} or an array of them. */
export type AddressListInput = AddressInput | readonly AddressInput[]

/** Options of {@link parseAddressList}. */
export interface ParseAddressOptions {
  /** Whether non-ASCII local parts are allowed (RFC 6531). Default false. */
  readonly smtpUtf8?: boolean | undefined
  /** Whether groups are allowed (To, Cc, Bcc) or only mailboxes (From, Reply-To, Sender). Default true. */
  readonly allowGroups?: boolean | undefined
}

interface ParseOptions {
  readonly smtpUtf8: boolean
  readonly allowGroups: boolean
  /** Decodes display names and group names as they arrived (RFC 2047 words); parseReceivedAddressList sets it. */
  readonly decodeName?: (phrase: string) => string
}

type TokenKind = 'atom' | 'quoted' | 'literal' | 'comment' | 'special'
interface Token {
  readonly kind: TokenKind
  readonly text: string
  /** Whether whitespace or a comment came before it, which separates words of a phrase. */
  readonly spaced: boolean
}

const SPECIALS = new Set(['<', '>', ',', ';', ':', '@'])
// Only SP and HTAB separate atoms (RFC 5322 §3.2.2): any other space, U+00A0 or U+3000, is a
// character of the atom (non-ASCII, so an encoded word in a phrase). CR, LF and other controls
// are refused as the atom is read.
const ATOM_END = /[ \t"(),:;<>@[\]\\]/

class AddressSyntaxError extends Error {}

function tokenize(text: string): Token[] {
  const tokens: Token[] = []
  let spaced = false
  let i = 0
  const push = (kind: TokenKind, value: string): void => {
    tokens.push({ kind, text: value, spaced })
    spaced = kind === 'comment'
  }
  while (i < text.length) {
    const char = text[i]!
    if (char === ' ' || char === '\t') {
      spaced = true
      i++
    } else if (char === '"') {
      const [value, end] = readDelimited(text, i, '"', '"')
      push('quoted', value)
      i = end
    } else if (char === '(') {
      const [value, end] = readDelimited(text, i, '(', ')')
      push('comment', value)
      i = end
    } else if (char === '[') {
      const end = text.indexOf(']', i)
      if (end === -1) throw new AddressSyntaxError('unterminated domain literal')
      push('literal', text.slice(i, end + 1))
      i = end + 1
    } else if (SPECIALS.has(char)) {
      push('special', char)
      i++
    } else if (char === ')' || char === ']' || char === '\\') {
      throw new AddressSyntaxError(`unexpected '${char}'`)
    } else {
      let end = i
      while (end < text.length && !ATOM_END.test(text[end]!)) end++
      const atom = text.slice(i, end)
      if (/[\x00-\x1f\x7f]/.test(atom)) throw new AddressSyntaxError('control character')
      push('atom', atom)
      i = end
    }
  }
  return tokens
}

// Reads a quoted-string or a (nested) comment starting at `start`, undoing quoted-pairs
// (RFC 5322 §3.2.1); returns the content and the index after the closing character.
function readDelimited(text: string, start: number, open: string, close: string): [string, number] {
  let depth = 1
  let value = ''
  for (let i = start + 1; i < text.length; i++) {
    const char = text[i]!
    if (char === '\\') {
      if (i + 1 >= text.length) break
      value += text[++i]
    } else if (char === close && --depth === 0) {
      return [value, i + 1]
    } else {
      if (char === open && open !== close) depth++
      value += char
    }
  }
  throw new AddressSyntaxError(open === '"' ? 'unterminated quoted string' : 'unterminated comment')
}

class Parser {
  readonly #tokens: Token[]
  readonly #options: ParseOptions
  #pos = 0
  #comments: string[] = []

  constructor(tokens: Token[], options: ParseOptions) {
    this.#tokens = tokens
    this.#options = options
  }

  parseList(): AddressItem[] {
    const items: AddressItem[] = []
    while (this.#peek() !== undefined) {
      if (this.#isSpecial(',')) {
        this.#next()
        continue
      }
      items.push(this.#parseItem(true))
      if (this.#peek() !== undefined && !this.#isSpecial(',')) throw new AddressSyntaxError(`unexpected ${this.#show()} after an address`)
    }
    return items
  }

  #parseItem(allowGroup: boolean): AddressItem {
    this.#comments = []
    const phrase: Token[] = []
    for (;;) {
      const token = this.#peek()
      if (token?.kind === 'atom' || token?.kind === 'quoted') {
        phrase.push(token)
        this.#next()
      } else if (token?.kind === 'special' && token.text === '<') {
        this.#next()
        const address = this.#parseAddrSpec()
        if (!this.#isSpecial('>')) throw new AddressSyntaxError(`expected '>' but found ${this.#show()}`)
        this.#next()
        this.#skipComments()
        return { name: normaliseName(this.#decode(phraseText(phrase))), address }
      } else if (token?.kind === 'special' && token.text === ':') {
        if (!allowGroup || !this.#options.allowGroups) throw new AddressSyntaxError('a group is not allowed here')
        this.#next()
        return this.#parseGroupBody(this.#decode(phraseText(phrase)))
      } else if (token?.kind === 'special' && token.text === '@') {
        if (phrase.length === 0) throw new AddressSyntaxError('missing local part before @')
        if (phrase.length !== 1) throw new AddressSyntaxError('a display name must be followed by <address>')
        const address = this.#parseAddrSpec(phrase[0])
        this.#skipComments()
        return { name: normaliseName(this.#decode(this.#comments.join(' '))), address }
      } else {
        throw new AddressSyntaxError(phrase.length === 0 ? `expected an address but found ${this.#show()}` : `${JSON.stringify(phraseText(phrase))} has no @domain`)
      }
    }
  }

  #parseGroupBody(group: string): Group {
    if (group === '') throw new AddressSyntaxError('a group needs a name')
    const members: Mailbox[] = []
    for (;;) {
      if (this.#isSpecial(';')) {
        this.#next()
        this.#skipComments()
        return { group, members }
      }
      if (this.#isSpecial(',')) {
        this.#next()
        continue
      }
      if (this.#peek() === undefined) throw new AddressSyntaxError(`group ${JSON.stringify(group)} is not closed with ';'`)
      members.push(this.#parseItem(false) as Mailbox)
    }
  }

  #parseAddrSpec(localToken?: Token): string {
    const local = localToken ?? this.#next()
    if (local?.kind !== 'atom' && local?.kind !== 'quoted') throw new AddressSyntaxError('missing local part before @')
    if (!this.#isSpecial('@')) throw new AddressSyntaxError(`${JSON.stringify(local.text)} has no @domain`)
    this.#next()
    const domain = this.#next()
    if (domain?.kind !== 'atom' && domain?.kind !== 'literal') throw new AddressSyntaxError('missing domain after @')
    return formatAddrSpec(local.kind === 'quoted', local.text, domain.text, this.#options)
  }

  #decode(phrase: string): string {
    return this.#options.decodeName === undefined ? phrase : this.#options.decodeName(phrase)
  }

  #peek(): Token | undefined {
    this.#skipComments()
    return this.#tokens[this.#pos]
  }

  #next(): Token | undefined {
    const token = this.#peek()
    this.#pos++
    return token
  }

  #skipComments(): void {
    while (this.#tokens[this.#pos]?.kind === 'comment') this.#comments.push(this.#tokens[this.#pos++]!.text)
  }

  #isSpecial(char: string): boolean {
    const token = this.#peek()
    return token?.kind === 'special' && token.text === char
  }

  #show(): string {
    const token = this.#tokens[this.#pos]
    return token === undefined ? 'the end' : `'${token.text}'`
  }
}

// Whitespace in a phrase only separates words (RFC 5322 §3.2.5), and readers trim names and
// collapse runs of whitespace (Unicode spaces included) in them, so we do that first.
function normaliseName(name: string): string {
  return name.replace(/\s+/gu, ' ').trim()
}

function phraseText(tokens: readonly Token[]): string {
  return tokens.map((token, index) => (index > 0 && token.spaced ? ` ${token.text}` : token.text)).join('')
}

const ATEXT = "A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~"
const DOT_ATOM = new RegExp(`^[${ATEXT}]+(?:\\.[${ATEXT}]+)*$`)
const DOT_ATOM_UTF8 = new RegExp(`^[${ATEXT}\\u0080-\\u{10ffff}]+(?:\\.[${ATEXT}\\u0080-\\u{10ffff}]+)*$`, 'u')
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/
// RFC 5321 §4.5.3.1.1-2.
const MAX_LOCAL_OCTETS = 64
const MAX_DOMAIN_OCTETS = 255

function formatAddrSpec(quoted: boolean, local: string, domain: string, options: TextOptions): string {
  if (local === '') throw new AddressSyntaxError('empty local part')
  if (!options.smtpUtf8 && /[^\x00-\x7f]/.test(local)) throw new AddressSyntaxError(`non-ASCII local part ${JSON.stringify(local)} needs smtpUtf8: true (RFC 6531)`)
  let writtenLocal: string
  if ((options.smtpUtf8 ? DOT_ATOM_UTF8 : DOT_ATOM).test(local)) {
    writtenLocal = local
  } else if (quoted && /^[\x20-\x7e\u0080-\u{10ffff}]+$/u.test(local)) {
    writtenLocal = `"${local.replace(/["\\]/g, '\\$&')}"`
  } else {
    throw new AddressSyntaxError(`invalid local part ${JSON.stringify(local)}`)
  }
  if (Buffer.byteLength(writtenLocal) > MAX_LOCAL_OCTETS) throw new AddressSyntaxError(`local part longer than ${MAX_LOCAL_OCTETS} octets`)
  return `${writtenLocal}@${formatDomain(domain)}`
}

function formatDomain(domain: string): string {
  if (domain.startsWith('[')) {
    const inner = domain.slice(1, -1)
    const valid = inner.startsWith('IPv6:') ? isIPv6(inner.slice(5)) : IPV4.test(inner)
    if (!valid) throw new AddressSyntaxError(`invalid address literal ${domain}`)
    return domain
  }
  const plain = plainDomain(domain)
  if (plain !== undefined) return plain
  // RFC 5890: internationalised domains travel as A-labels, which every receiver understands.
  const ascii = domainToASCII(domain)
  if (ascii === '' || !ascii.split('.').every((label) => LDH_LABEL.test(label))) throw new AddressSyntaxError(`invalid domain ${JSON.stringify(domain)}`)
  // The URL parser behind domainToASCII also reads "123" as the IPv4 address 0.0.0.123 and drops
  // or maps characters (a soft hyphen, full-width letters): only a domain that converts back to
  // itself is the one the caller wrote. A dotted quad is an address, which needs brackets.
  // A domain given in A-labels (as every received message has them) is itself once lower-cased.
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ascii) || (domainToUnicode(ascii) !== domain.toLowerCase() && ascii !== domain.toLowerCase())) {
    throw new AddressSyntaxError(`invalid domain ${JSON.stringify(domain)}`)
  }
  if (ascii.length > MAX_DOMAIN_OCTETS) throw new AddressSyntaxError(`domain longer than ${MAX_DOMAIN_OCTETS} octets`)
  return ascii
}

const LDH_DOMAIN = /^[A-Za-z0-9.-]+$/
// The URL host parser reads a name whose last label is a number (decimal or 0x hex) as IPv4.
const NUMERIC_LABEL = /^(?:\d+|0x[0-9a-f]*)$/
const A_LABEL = /(?:^|\.)xn--/

/**
 * The common domain, ASCII letters, digits, hyphens and dots with no A-label in it, lower-cased
 * without the URL parser's round trip (which gives such a name back lower-cased); undefined for
 * anything else, which the full check reads (and explains when it refuses it).
 */
function plainDomain(domain: string): string | undefined {
  if (domain.length > MAX_DOMAIN_OCTETS || !LDH_DOMAIN.test(domain)) return undefined
  const lower = domain.toLowerCase()
  if (A_LABEL.test(lower)) return undefined
  const labels = lower.split('.')
  if (NUMERIC_LABEL.test(labels[labels.length - 1]!) || !labels.every((label) => LDH_LABEL.test(label))) return undefined
  return lower
}

/**
 * Parses what callers give as an address list into mailboxes and groups, validating every
 * address: the domain is converted to A-labels (RFC 5890) and must be a valid host name or
 * address literal; a non-ASCII local part needs `smtpUtf8`; a local part that needs no quotes
 * loses them. Display names are trimmed and each run of whitespace becomes one space, as
 * readers would do. Throws a TypeError naming `field` and the offending text when anything is
 * invalid. `field` defaults to `'address'`; groups are allowed unless `allowGroups` is false.
 */
export function parseAddressList(input: unknown, field = 'address', options: ParseAddressOptions = {}): AddressItem[] {
  const inputs: unknown[] = Array.isArray(input) ? input : [input]
  const resolved = { smtpUtf8: options.smtpUtf8 === true, allowGroups: options.allowGroups !== false }
  return inputs.flatMap((item) => parseInput(item, field, resolved))
}

function parseInput(item: unknown, field: string, options: ParseOptions): AddressItem[] {
  if (typeof item === 'string') {
    assertHeaderText(item, field)
    return parseText(item, item, field, options)
  }
  if (typeof item !== 'object' || item === null || typeof (item as { address?: unknown }).address !== 'string') {
    throw new TypeError(`${field} must be an address string or a { name, address } object, got ${describe(item)}`)
  }
  const { name, address } = item as { name?: unknown; address: string }
  assertHeaderText(address, `${field} address`)
  if (name !== undefined) assertHeaderText(name, `${field} name`)
  const parsed = parseText(address, address, field, { ...options, allowGroups: false })
  if (parsed.length !== 1) throw new TypeError(`invalid address in ${field}: ${JSON.stringify(address)} must be exactly one address`)
  const mailbox = parsed[0] as Mailbox
  return [{ name: name === undefined ? mailbox.name : normaliseName(name as string), address: mailbox.address }]
}

function parseText(text: string, shown: string, field: string, options: ParseOptions): AddressItem[] {
  try {
    return new Parser(tokenize(text), options).parseList()
  } catch (error) {
    if (error instanceof AddressSyntaxError) throw new TypeError(`invalid address in ${field}: ${JSON.stringify(shown)}: ${error.message}`, { cause: error })
    throw error
  }
}

/**
 * Parses an address field of a received message (raw header text, unfolded): as
 * parseAddressList, with non-ASCII local parts allowed (RFC 6532) and display names passed
 * through `decodeName` (for RFC 2047 encoded-words). Throws a TypeError when the text is not a
 * valid address list.
 */
export function parseReceivedAddressList(text: string, decodeName: (phrase: string) => string): AddressItem[] {
  return readSimpleMailboxList(text, decodeName) ?? parseReceivedAddressListFully(text, decodeName)
}

/** parseReceivedAddressList without its shortcut for simple lists: the tokenizer and parser for every list. */
export function parseReceivedAddressListFully(text: string, decodeName: (phrase: string) => string): AddressItem[] {
  return parseText(text, text, 'address', { smtpUtf8: true, allowGroups: true, decodeName })
}

// The shape nearly every received address list has: mailboxes `local@domain` or
// `phrase <local@domain>` (the phrase atoms and quoted-strings without backslashes, apart by
// spaces), an ASCII dot-atom local part and a plain domain, between commas. Read with one
// regular expression per mailbox; anything else (comments, groups, quoted local parts, literals,
// non-ASCII, IDN) is left to the parser, which reads these the same way.
const SIMPLE_ATOM = '[^ \\t"(),:;<>@[\\]\\\\\\x00-\\x1f\\x7f]+'
const SIMPLE_WORD = `(?:${SIMPLE_ATOM}|"[^"\\\\]*")`
const SIMPLE_ADDR_SPEC = `([${ATEXT}]+(?:\\.[${ATEXT}]+)*)@([A-Za-z0-9.-]+)`
const SIMPLE_MAILBOX = new RegExp(`(?:(${SIMPLE_WORD}(?:[ \\t]+${SIMPLE_WORD})*)?[ \\t]*<[ \\t]*${SIMPLE_ADDR_SPEC}[ \\t]*>|${SIMPLE_ADDR_SPEC})[ \\t]*(?:,|$)`, 'y')
const SIMPLE_SEPARATORS = /[ \t,]*/y
const PHRASE_WORD = /"([^"]*)"|[^ \t]+/g

/**
 * The mailboxes of a simple received address list (see above), as parseReceivedAddressList
 * gives them; undefined when the list is not that simple.
 */
export function readSimpleMailboxList(text: string, decodeName: (phrase: string) => string): Mailbox[] | undefined {
  const items: Mailbox[] = []
  let at = 0
  for (;;) {
    SIMPLE_SEPARATORS.lastIndex = at
    SIMPLE_SEPARATORS.test(text)
    at = SIMPLE_SEPARATORS.lastIndex
    if (at === text.length) return items
    SIMPLE_MAILBOX.lastIndex = at
    const match = SIMPLE_MAILBOX.exec(text)
    if (match === null) return undefined
    const local = match[2] ?? match[4]!
    const domain = plainDomain(match[3] ?? match[5]!)
    if (domain === undefined || local.length > MAX_LOCAL_OCTETS) return undefined
    const phrase = match[1] === undefined ? '' : simplePhraseText(match[1])
    items.push({ name: phrase === '' ? '' : normaliseName(decodeName(phrase)), address: `${local}@${domain}` })
    at = SIMPLE_MAILBOX.lastIndex
  }
}

// The phrase's words one space apart, quoted-strings without their quotes, as phraseText gives them.
function simplePhraseText(phrase: string): string {
  if (phrase.includes('"')) return Array.from(phrase.matchAll(PHRASE_WORD), (word) => word[1] ?? word[0]).join(' ')
  return phrase.includes('\t') || phrase.includes('  ') ? phrase.replace(/[ \t]+/g, ' ') : phrase
}

/** The mailboxes of an address list, with groups replaced by their members. */
export function flattenMailboxes(items: readonly AddressItem[]): Mailbox[] {
  return items.flatMap((item) => ('group' in item ? item.members : [item]))
}

const ATOM = new RegExp(`^[${ATEXT}]+$`)
const ATOM_UTF8 = new RegExp(`^[${ATEXT}\\u00a0-\\u{10ffff}]+$`, 'u')
const QUOTABLE = /^[\x20-\x7e]+$/
const QUOTABLE_UTF8 = /^[\x20-\x7e\u00a0-\u{10ffff}]+$/u
const MAX_QUOTED_OCTETS = 900

/**
 * The pieces of a display name (RFC 5322 §3.2.5 phrase): atoms when every word is one, a
 * quoted-string when the name is printable, RFC 2047 encoded-words otherwise (non-ASCII without
 * SMTPUTF8, control characters, tabs, or text that would read as an encoded-word).
 */
export function phrasePieces(name: string, options: TextOptions & { firstWordLength?: number }): string[] {
  if (name === '') return []
  const words = name.split(' ')
  const isAtom = (word: string): boolean => (options.smtpUtf8 ? ATOM_UTF8 : ATOM).test(word) && Buffer.byteLength(word) <= MAX_QUOTED_OCTETS
  if (words.every(isAtom) && !name.includes('=?')) return words
  if ((options.smtpUtf8 ? QUOTABLE_UTF8 : QUOTABLE).test(name) && !name.includes('=?') && Buffer.byteLength(name) <= MAX_QUOTED_OCTETS) {
    return [`"${name.replace(/["\\]/g, '\\$&')}"`]
  }
  return encodeWords(name, options.firstWordLength === undefined ? {} : { maxLength: options.firstWordLength })
}

function itemPieces(item: AddressItem, options: TextOptions & { firstWordLength?: number }): string[] {
  if ('group' in item) {
    const name = phrasePieces(item.group, options)
    const last = name.pop()!
    // An encoded-word must stand apart from the ':' that follows it (RFC 2047 §5).
    const head = last.startsWith('=?') ? [...name, last, ':'] : [...name, `${last}:`]
    if (item.members.length === 0) return [...head.slice(0, -1), `${head.at(-1)!};`]
    const members = item.members.map((member, index) => {
      const pieces = itemPieces(member, { smtpUtf8: options.smtpUtf8 })
      pieces.push(`${pieces.pop()!}${index === item.members.length - 1 ? ';' : ','}`)
      return pieces
    })
    return [...head, ...members.flat()]
  }
  const name = phrasePieces(item.name, options)
  return name.length === 0 ? [item.address] : [...name, `<${item.address}>`]
}

/**
 * Writes an address header field (From, To, Cc, Reply-To, Sender) from parsed items, folding
 * between words and addresses.
 */
export function formatAddressField(fieldName: string, items: readonly AddressItem[], options: TextOptions): string {
  const pieces = items.map((item, index) => {
    const itemOptions = index === 0 ? { ...options, firstWordLength: firstWordLength(fieldName) } : options
    const list = itemPieces(item, itemOptions)
    if (index < items.length - 1) list.push(`${list.pop()!},`)
    return list
  })
  return foldHeader(fieldName, pieces.flat())
}
