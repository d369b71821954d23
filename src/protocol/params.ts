import { Buffer } from 'node:buffer'
import { ProtocolError, SmtpError } from './errors.ts'

/** The parameters of MAIL FROM that smtpkit knows, decoded. */
export interface MailParams {
  /** SIZE (RFC 1870): the message size in octets, as the client declares it. */
  readonly size?: number
  /** BODY (RFC 6152, RFC 3030): `7BIT`, `8BITMIME`, or `BINARYMIME` (which needs BDAT). */
  readonly body?: '7BIT' | '8BITMIME' | 'BINARYMIME'
  /** SMTPUTF8 (RFC 6531): the envelope or message carries UTF-8. Parsing gives `true` or leaves it out. */
  readonly smtpUtf8?: boolean
  /** RET (RFC 3461 §4.3): what a DSN returns, the full message or its headers. */
  readonly ret?: 'FULL' | 'HDRS'
  /** ENVID (RFC 3461 §4.4): the envelope identifier, xtext-decoded; printable ASCII. */
  readonly envid?: string
  /** AUTH (RFC 4954 §5): the authenticated sender, xtext-decoded; `<>` when unknown. */
  readonly auth?: string
  /** REQUIRETLS (RFC 8689): the message must travel over TLS all the way. Parsing gives `true` or leaves it out. */
  readonly requireTls?: boolean
}

/** A NOTIFY value of RCPT TO (RFC 3461 §4.1). */
export type NotifyCondition = 'SUCCESS' | 'FAILURE' | 'DELAY'

/** The parameters of RCPT TO that smtpkit knows, decoded. */
export interface RcptParams {
  /** NOTIFY (RFC 3461 §4.1): when to send a DSN, or `NEVER`. */
  readonly notify?: readonly NotifyCondition[] | 'NEVER'
  /** ORCPT (RFC 3461 §4.2): the original recipient, `addressType` such as `rfc822`; address xtext-decoded. */
  readonly orcpt?: { readonly addressType: string; readonly address: string }
}

/**
 * The EHLO extension each MAIL FROM parameter belongs to: a server refuses a parameter whose
 * extension it did not advertise. `BODY=BINARYMIME` needs `BINARYMIME` rather than `8BITMIME`;
 * {@link extensionsForMailParams} accounts for that.
 */
export const mailParamExtensions = Object.freeze({
  SIZE: 'SIZE',
  BODY: '8BITMIME',
  SMTPUTF8: 'SMTPUTF8',
  RET: 'DSN',
  ENVID: 'DSN',
  AUTH: 'AUTH',
  REQUIRETLS: 'REQUIRETLS',
} as const)

/** The EHLO extension each RCPT TO parameter belongs to. */
export const rcptParamExtensions = Object.freeze({ NOTIFY: 'DSN', ORCPT: 'DSN' } as const)

/** The EHLO extensions that must be advertised for a server to accept these MAIL FROM parameters. */
export function extensionsForMailParams(params: MailParams): string[] {
  const out = new Set<string>()
  if (params.size !== undefined) out.add('SIZE')
  if (params.body !== undefined) out.add(params.body === 'BINARYMIME' ? 'BINARYMIME' : '8BITMIME')
  if (params.smtpUtf8 === true) out.add('SMTPUTF8')
  if (params.ret !== undefined || params.envid !== undefined) out.add('DSN')
  if (params.auth !== undefined) out.add('AUTH')
  if (params.requireTls === true) out.add('REQUIRETLS')
  return [...out]
}

// RFC 3461 §4: xchar is %d33-126 except '+' and '='.
const XCHARS = /^[!-*,-<>-~]*$/
const XTEXT = /^(?:[!-*,-<>-~]|\+[0-9A-F]{2})*$/
// ignoreBOM: a leading U+FEFF must stay, to be refused like any other non-ASCII, not vanish.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Encodes a string as xtext (RFC 3461 §4): `+`, `=`, spaces, controls and every octet of a
 * non-ASCII character's UTF-8 become `+XX` with upper-case hex. RFC 3461 defines xtext on ASCII;
 * encoding UTF-8 octets is our extension, and {@link decodeXtext} reverses it. A lone surrogate
 * has no UTF-8 form: TypeError.
 */
export function encodeXtext(text: string): string {
  if (XCHARS.test(text)) return text
  if (/\p{Cs}/u.test(text)) throw new TypeError('cannot xtext-encode a string with a lone surrogate')
  let out = ''
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte > 0x20 && byte < 0x7f && byte !== 0x2b && byte !== 0x3d
      ? String.fromCharCode(byte)
      : `+${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/**
 * Decodes xtext (RFC 3461 §4), strictly: `+` must be followed by two upper-case hex digits, and
 * only characters 33-126 other than `=` may appear. The octets are decoded as UTF-8, which must
 * be valid. Throws a {@link ProtocolError} (`ERR_SMTP_BAD_PARAMETER`).
 */
export function decodeXtext(text: string): string {
  if (XCHARS.test(text)) return text
  if (!XTEXT.test(text)) {
    const bad = /\+(?![0-9A-F]{2})/.test(text)
      ? "'+' must be followed by two upper-case hex digits"
      : "only characters 33-126 other than '=' may appear unencoded"
    throw new ProtocolError('ERR_SMTP_BAD_PARAMETER', `invalid xtext: ${bad} (RFC 3461 §4)`)
  }
  const bytes = Buffer.from(text.replace(/\+([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1')
  try {
    return strictUtf8.decode(bytes)
  } catch (err) {
    throw new ProtocolError('ERR_SMTP_BAD_PARAMETER', 'invalid xtext: the encoded octets are not valid UTF-8', { cause: err })
  }
}

function syntaxError(detail: string): never {
  throw new SmtpError(501, '5.5.4', `Syntax error in parameters: ${detail}`)
}

const KEYWORD = /^[A-Za-z0-9][A-Za-z0-9-]*$/
// RFC 5321 §4.1.2 esmtp-value: %d33-60 / %d62-126, plus UTF8-non-ascii (RFC 6531 §3.3).
const VALUE = /^[!-<>-~\u0080-\u{10ffff}]+$/u

/**
 * Parses the ESMTP parameters after a path (RFC 5321 §4.1.2): `KEY=VALUE KEY2 ...`. Keywords are
 * upper-cased; a keyword without a value maps to `true`. Runs of spaces between parameters are
 * tolerated. A malformed keyword or value, or a repeated keyword, throws
 * `SmtpError(501, '5.5.4', ...)`, which a server sends as its reply.
 */
export function parseParams(text: string): Map<string, string | true> {
  const params = new Map<string, string | true>()
  for (const param of text.split(' ')) {
    if (param === '') continue
    const eq = param.indexOf('=')
    const rawKeyword = eq === -1 ? param : param.slice(0, eq)
    // Checked before upper-casing: 'ſize'.toUpperCase() is 'SIZE'.
    if (!KEYWORD.test(rawKeyword)) syntaxError('a keyword must be letters, digits and hyphens, starting with a letter or digit')
    const keyword = rawKeyword.toUpperCase()
    if (params.has(keyword)) syntaxError(`${keyword} given twice`)
    if (eq === -1) {
      params.set(keyword, true)
      continue
    }
    const value = param.slice(eq + 1)
    if (!VALUE.test(value)) syntaxError(`${keyword} needs a value of printable characters other than '=' after the '='`)
    params.set(keyword, value)
  }
  return params
}

function textValue(key: string, value: string | true): string {
  if (value === true) syntaxError(`${key} needs a value`)
  return value
}

// Enumerated values are case-insensitive ASCII (RFC 5234 §2.3); non-ASCII is left alone so that
// 'ı'.toUpperCase() === 'I' cannot turn a junk value into a valid one.
function upperAscii(value: string): string {
  return /^[!-~]+$/.test(value) ? value.toUpperCase() : value
}

function flag(key: string, value: string | true): true {
  if (value !== true) syntaxError(`${key} takes no value`)
  return true
}

function xtextValue(key: string, value: string): string {
  try {
    return decodeXtext(value)
  } catch (err) {
    return syntaxError(`${key} is not valid xtext: ${(err as Error).message}`)
  }
}

const PRINTABLE_ASCII = /^[ -~]*$/
const NO_CONTROLS = /^[^\x00-\x1f\x7f-\x9f]*$/

/**
 * Parses and checks MAIL FROM parameters: SIZE (1-20 digits), BODY, SMTPUTF8, RET, ENVID (xtext,
 * at most 100 characters, printable ASCII once decoded), AUTH (xtext) and REQUIRETLS. Values are
 * case-insensitive where RFCs enumerate them. A bad value throws `SmtpError(501, '5.5.4')`; an
 * unknown keyword throws `SmtpError(555, '5.5.4')` (RFC 5321 §4.1.1.11). Whether each extension is
 * enabled is the server's call: see {@link extensionsForMailParams}.
 */
export function parseMailParams(text: string): MailParams {
  const out: { -readonly [K in keyof MailParams]: MailParams[K] } = {}
  if (text === '') return out
  for (const [key, raw] of parseParams(text)) {
    switch (key) {
      case 'SIZE': {
        const value = textValue(key, raw)
        const size = Number(value)
        if (!/^\d{1,20}$/.test(value) || !Number.isSafeInteger(size)) syntaxError('SIZE must be a decimal number of octets (RFC 1870)')
        out.size = size
        break
      }
      case 'BODY': {
        const value = upperAscii(textValue(key, raw))
        if (value !== '7BIT' && value !== '8BITMIME' && value !== 'BINARYMIME') syntaxError('BODY must be 7BIT, 8BITMIME or BINARYMIME')
        out.body = value
        break
      }
      case 'SMTPUTF8':
        out.smtpUtf8 = flag(key, raw)
        break
      case 'REQUIRETLS':
        out.requireTls = flag(key, raw)
        break
      case 'RET': {
        const value = upperAscii(textValue(key, raw))
        if (value !== 'FULL' && value !== 'HDRS') syntaxError('RET must be FULL or HDRS (RFC 3461 §4.3)')
        out.ret = value
        break
      }
      case 'ENVID': {
        const value = textValue(key, raw)
        if (value.length > 100) syntaxError('ENVID is longer than 100 characters (RFC 3461 §4.4)')
        const envid = xtextValue(key, value)
        // RFC 3461 §4.4: printable ASCII only, so a decoded ENVID cannot inject lines into a DSN.
        if (!PRINTABLE_ASCII.test(envid)) syntaxError('ENVID must decode to printable ASCII (RFC 3461 §4.4)')
        out.envid = envid
        break
      }
      case 'AUTH': {
        const auth = xtextValue(key, textValue(key, raw))
        if (auth === '' || !NO_CONTROLS.test(auth)) syntaxError('AUTH must decode to a mailbox or <> (RFC 4954 §5)')
        out.auth = auth
        break
      }
      default:
        throw new SmtpError(555, '5.5.4', `Unsupported parameter ${key}`)
    }
  }
  return out
}

const NOTIFY_CONDITIONS: readonly string[] = ['SUCCESS', 'FAILURE', 'DELAY']
const ADDRESS_TYPE = /^[A-Za-z0-9!#$%&'*+\-/?^_`{|}~]+$/

function checkOrcptAddress(addressType: string, address: string): boolean {
  // RFC 3461 §4.2: printable ASCII; RFC 6533 lets the utf-8 type carry Unicode.
  return addressType.toLowerCase() === 'utf-8' ? address !== '' && NO_CONTROLS.test(address) : address !== '' && PRINTABLE_ASCII.test(address)
}

/**
 * Parses and checks RCPT TO parameters: NOTIFY (`NEVER` alone, or a comma list of SUCCESS,
 * FAILURE and DELAY without repeats) and ORCPT (`addr-type;xtext`, at most 500 characters).
 * A bad value throws `SmtpError(501, '5.5.4')`; an unknown keyword `SmtpError(555, '5.5.4')`.
 */
export function parseRcptParams(text: string): RcptParams {
  const out: { -readonly [K in keyof RcptParams]: RcptParams[K] } = {}
  if (text === '') return out
  for (const [key, raw] of parseParams(text)) {
    switch (key) {
      case 'NOTIFY': {
        const list = upperAscii(textValue(key, raw)).split(',')
        if (list.length === 1 && list[0] === 'NEVER') {
          out.notify = 'NEVER'
          break
        }
        for (const [i, item] of list.entries()) {
          if (!NOTIFY_CONDITIONS.includes(item) || list.indexOf(item) !== i) {
            syntaxError('NOTIFY must be NEVER or a list of SUCCESS, FAILURE and DELAY without repeats (RFC 3461 §4.1)')
          }
        }
        out.notify = list as NotifyCondition[]
        break
      }
      case 'ORCPT': {
        const value = textValue(key, raw)
        if (value.length > 500) syntaxError('ORCPT is longer than 500 characters (RFC 3461 §4.2)')
        const semi = value.indexOf(';')
        const addressType = semi === -1 ? '' : value.slice(0, semi)
        if (!ADDRESS_TYPE.test(addressType)) syntaxError('ORCPT must be an address type, a semicolon and an address (RFC 3461 §4.2)')
        const address = xtextValue(key, value.slice(semi + 1))
        if (!checkOrcptAddress(addressType, address)) syntaxError('ORCPT address must decode to printable ASCII (RFC 3461 §4.2)')
        out.orcpt = { addressType, address }
        break
      }
      default:
        throw new SmtpError(555, '5.5.4', `Unsupported parameter ${key}`)
    }
  }
  return out
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) throw new TypeError(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`)
  return value as T
}

function checkString(name: string, value: unknown, pattern: RegExp, rule: string): string {
  if (typeof value !== 'string' || value === '' || !pattern.test(value)) {
    throw new TypeError(`${name} must be ${rule}, got ${JSON.stringify(value)}`)
  }
  return value
}

/**
 * Formats MAIL FROM parameters for the wire (client side), for example
 * `['SIZE=1234', 'BODY=8BITMIME', 'SMTPUTF8', 'RET=HDRS', 'ENVID=abc+2B']`. Text values are
 * xtext-encoded, so they cannot carry spaces, CR or LF. Throws TypeError for a value of the
 * wrong kind and RangeError for one out of range (SIZE, ENVID length).
 */
export function formatMailParams(params: MailParams): string[] {
  const out: string[] = []
  if (params.size !== undefined) {
    if (!Number.isSafeInteger(params.size) || params.size < 0) throw new RangeError(`size must be a non-negative safe integer, got ${params.size}`)
    out.push(`SIZE=${params.size}`)
  }
  if (params.body !== undefined) out.push(`BODY=${oneOf('body', params.body, ['7BIT', '8BITMIME', 'BINARYMIME'])}`)
  if (params.smtpUtf8 === true) out.push('SMTPUTF8')
  if (params.ret !== undefined) out.push(`RET=${oneOf('ret', params.ret, ['FULL', 'HDRS'])}`)
  if (params.envid !== undefined) {
    const envid = encodeXtext(checkString('envid', params.envid, PRINTABLE_ASCII, 'non-empty printable ASCII (RFC 3461 §4.4)'))
    if (envid.length > 100) throw new RangeError(`envid is longer than 100 characters once xtext-encoded (RFC 3461 §4.4)`)
    out.push(`ENVID=${envid}`)
  }
  if (params.auth !== undefined) {
    out.push(`AUTH=${encodeXtext(checkString('auth', params.auth, NO_CONTROLS, 'a mailbox or <> without control characters'))}`)
  }
  if (params.requireTls === true) out.push('REQUIRETLS')
  return out
}

/**
 * Formats RCPT TO parameters for the wire (client side), for example
 * `['NOTIFY=SUCCESS,FAILURE', 'ORCPT=rfc822;bob@example.test']`. Throws TypeError for a bad value
 * (an empty or repeating NOTIFY list, an ORCPT address that is not printable ASCII) and
 * RangeError for an ORCPT over 500 characters once encoded.
 */
export function formatRcptParams(params: RcptParams): string[] {
  const out: string[] = []
  if (params.notify !== undefined) {
    const { notify } = params
    if (notify === 'NEVER') out.push('NOTIFY=NEVER')
    else {
      if (!Array.isArray(notify) || notify.length === 0) throw new TypeError(`notify must be 'NEVER' or a non-empty list, got ${JSON.stringify(notify)}`)
      for (const [i, item] of notify.entries()) {
        oneOf('notify', item, ['SUCCESS', 'FAILURE', 'DELAY'])
        if (notify.indexOf(item) !== i) throw new TypeError(`notify lists ${item} twice`)
      }
      out.push(`NOTIFY=${notify.join(',')}`)
    }
  }
  if (params.orcpt !== undefined) {
    const { addressType, address } = params.orcpt
    checkString('orcpt.addressType', addressType, ADDRESS_TYPE, 'an atom such as rfc822')
    if (typeof address !== 'string' || !checkOrcptAddress(addressType, address)) {
      throw new TypeError(`orcpt.address must be non-empty printable ASCII (RFC 3461 §4.2), got ${JSON.stringify(address)}`)
    }
    const value = `${addressType};${encodeXtext(address)}`
    if (value.length > 500) throw new RangeError('orcpt is longer than 500 characters once xtext-encoded (RFC 3461 §4.2)')
    out.push(`ORCPT=${value}`)
  }
  return out
}
