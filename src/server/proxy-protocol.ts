import { BlockList, isIP, isIPv4, isIPv6, SocketAddress } from 'node:net'
import type { Duplex } from 'node:stream'
import { checkOptions } from '../options/check-options.ts'
import { ProtocolError } from '../protocol/errors.ts'
import { Deadline } from './deadline.ts'

// HAProxy, "The PROXY protocol", versions 1 and 2 (haproxy.org/download/3.0/doc/proxy-protocol.txt).
// Section numbers below refer to that document.

/** One type-length-value field of a version 2 header (§2.2), in the order the proxy sent them. */
export interface ProxyTlv {
  readonly type: number
  readonly value: Buffer
}

/**
 * A parsed PROXY protocol header. With `command: 'PROXY'` and family `TCP4`, `TCP6` or `UNIX`,
 * the addresses are those of the original connection (`source` is the client); with `LOCAL`
 * (a proxy's own health check) or family `UNKNOWN` they are absent and the connection's own
 * addresses stand. `tlvs` is empty for version 1.
 */
export interface ProxyHeader {
  readonly version: 1 | 2
  readonly command: 'PROXY' | 'LOCAL'
  readonly family: 'TCP4' | 'TCP6' | 'UNIX' | 'UNKNOWN'
  /**
   * Dotted quad, canonical IPv6 (RFC 5952, `::ffff:a.b.c.d` for IPv4-mapped), or a socket path
   * with every byte outside printable ASCII (and backslash) written as `\xNN`.
   */
  readonly sourceAddress?: string
  readonly sourcePort?: number
  readonly destinationAddress?: string
  readonly destinationPort?: number
  readonly tlvs: readonly ProxyTlv[]
}

/** The TLV types of §2.2 that a version 2 header may carry. Other types are passed through unchecked. */
export const proxyTlvTypes = Object.freeze({
  ALPN: 0x01,
  AUTHORITY: 0x02,
  CRC32C: 0x03,
  NOOP: 0x04,
  UNIQUE_ID: 0x05,
  SSL: 0x20,
  NETNS: 0x30,
} as const)

/** The client-side TLS facts of a `PP2_TYPE_SSL` TLV (§2.2), as sent by a TLS-terminating proxy. */
export interface ProxySslInfo {
  /** Bit field: 0x01 the client used TLS, 0x02 it sent a certificate on this connection, 0x04 in this session. */
  readonly client: number
  /** 0 when the client certificate was verified. */
  readonly verify: number
  /** The sub-TLVs: 0x21 version, 0x22 certificate CN, 0x23 cipher, 0x24 signature and 0x25 key algorithm, ... */
  readonly tlvs: readonly ProxyTlv[]
}

/** Options of the server's `proxyProtocol` setting; `trusted` has no default, on purpose. */
export interface ProxyProtocolOptions {
  /** The proxies allowed to connect: IPs and CIDR ranges (`'127.0.0.1'`, `'10.0.0.0/8'`, `'fd00::/8'`). */
  readonly trusted: readonly string[]
  /** How long a trusted proxy has to send the whole header. Default 5000. */
  readonly timeoutMs?: number
}

/** {@link ProxyProtocolOptions} checked and with defaults applied. */
export interface ResolvedProxyProtocolOptions {
  readonly trusted: BlockList
  readonly timeoutMs: number
}

/** The defaults of {@link ProxyProtocolOptions}. Frozen. */
export const proxyProtocolDefaults = Object.freeze({ timeoutMs: 5000 })

/**
 * The largest version 2 header accepted, signature included. The format allows 16 + 65535 bytes;
 * the addresses take at most 232, and the TLVs that real proxies (HAProxy, AWS, GCP, Azure) send
 * fit easily, so more is treated as an attack on memory. Version 1 is capped at 107 by §2.1.
 */
export const MAX_PROXY_HEADER_BYTES = 2048

const V1_MAX_BYTES = 107
const V1_PREFIX = Buffer.from('PROXY ', 'latin1')
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a])
const V2_FIXED_BYTES = 16
const CR = 0x0d
const LF = 0x0a
const PORT = /^(?:0|[1-9][0-9]{0,4})$/
const utf8 = new TextDecoder('utf-8', { fatal: true })

// §2.2: the valid family/transport bytes, and how long their address block is. DGRAM over our
// TCP connection makes no sense, so those fall back to UNSPEC as §2.2 allows ("UNKNOWN" here).
const V2_FAMILIES = new Map<number, { family: ProxyHeader['family']; addressBytes: number }>([
  [0x00, { family: 'UNKNOWN', addressBytes: 0 }],
  [0x11, { family: 'TCP4', addressBytes: 12 }],
  [0x12, { family: 'UNKNOWN', addressBytes: 12 }],
  [0x21, { family: 'TCP6', addressBytes: 36 }],
  [0x22, { family: 'UNKNOWN', addressBytes: 36 }],
  [0x31, { family: 'UNIX', addressBytes: 216 }],
  [0x32, { family: 'UNKNOWN', addressBytes: 216 }],
])

function malformed(detail: string): ProtocolError {
  return new ProtocolError('ERR_SMTP_PROXY_HEADER', `malformed PROXY protocol header: ${detail}`)
}

/**
 * Parses a PROXY protocol header (version 1 or 2) at the start of `buf`. Returns null while
 * `buf` is a valid but incomplete beginning: call again with the same bytes plus more. Throws a
 * `ProtocolError` with code `ERR_SMTP_PROXY_HEADER` as soon as the bytes cannot be a valid header
 * (wrong signature, version, command or family; a v1 line over 107 bytes or with a bad field; a
 * v2 header over {@link MAX_PROXY_HEADER_BYTES}; a length that does not fit the addresses or the
 * TLVs; a failed CRC32c). Whether it throws, and with what message, depends only on the bytes up
 * to the first bad one, so any split of the input into calls gives the same outcome.
 * `consumed` counts the header's bytes; what follows belongs to the next protocol.
 */
export function parseProxyHeader(buf: Buffer): { header: ProxyHeader; consumed: number } | null {
  if (buf.length === 0) return null
  if (buf[0] === CR) return parseV2(buf)
  if (buf[0] === V1_PREFIX[0]) return parseV1(buf)
  throw malformed(`starts with byte 0x${hex(buf[0]!)}, not "PROXY " or the version 2 signature`)
}

function parseV1(buf: Buffer): { header: ProxyHeader; consumed: number } | null {
  const end = Math.min(buf.length, V1_MAX_BYTES)
  for (let i = 0; i < end; i++) {
    const byte = buf[i]!
    if (i < V1_PREFIX.length) {
      if (byte !== V1_PREFIX[i]) throw malformed('version 1 header does not start with "PROXY "')
    } else if (byte === CR) {
      if (i + 2 > V1_MAX_BYTES) break
      if (i + 1 === buf.length) return null
      if (buf[i + 1] !== LF) throw malformed('version 1 header has a CR not followed by LF')
      return { header: parseV1Fields(buf.toString('latin1', V1_PREFIX.length, i)), consumed: i + 2 }
    } else if (byte === LF) {
      throw malformed('version 1 header ends with a bare LF; CRLF is required')
    } else if (byte < 0x20 || byte > 0x7e) {
      throw malformed(`version 1 header has byte 0x${hex(byte)}, which is not printable ASCII`)
    }
  }
  if (buf.length < V1_MAX_BYTES) return null
  throw malformed(`version 1 header has no CRLF within ${V1_MAX_BYTES} bytes`)
}

function parseV1Fields(line: string): ProxyHeader {
  const fields = line.split(' ')
  const protocol = fields[0]!
  // §2.1: after UNKNOWN the receiver must ignore everything up to the CRLF.
  if (protocol === 'UNKNOWN') return { version: 1, command: 'PROXY', family: 'UNKNOWN', tlvs: [] }
  if (protocol !== 'TCP4' && protocol !== 'TCP6') throw malformed(`version 1 protocol ${JSON.stringify(protocol)} is not TCP4, TCP6 or UNKNOWN`)
  if (fields.length !== 5) throw malformed(`version 1 ${protocol} line needs 4 fields separated by single spaces, got ${JSON.stringify(line)}`)
  return {
    version: 1,
    command: 'PROXY',
    family: protocol,
    sourceAddress: parseV1Address(fields[1]!, protocol, 'source'),
    destinationAddress: parseV1Address(fields[2]!, protocol, 'destination'),
    sourcePort: parseV1Port(fields[3]!, 'source'),
    destinationPort: parseV1Port(fields[4]!, 'destination'),
    tlvs: [],
  }
}

function parseV1Address(text: string, protocol: 'TCP4' | 'TCP6', which: string): string {
  if (protocol === 'TCP4' ? isIPv4(text) : isIPv6(text) && !text.includes('%')) {
    return protocol === 'TCP4' ? text : new SocketAddress({ address: text, family: 'ipv6' }).address
  }
  throw malformed(`version 1 ${which} address ${JSON.stringify(text)} is not an ${protocol === 'TCP4' ? 'IPv4' : 'IPv6'} address`)
}

function parseV1Port(text: string, which: string): number {
  const port = PORT.test(text) ? Number(text) : NaN
  if (port <= 65535) return port
  throw malformed(`version 1 ${which} port ${JSON.stringify(text)} is not a decimal number from 0 to 65535`)
}

function parseV2(buf: Buffer): { header: ProxyHeader; consumed: number } | null {
  const signatureEnd = Math.min(buf.length, V2_SIGNATURE.length)
  for (let i = 0; i < signatureEnd; i++) {
    if (buf[i] !== V2_SIGNATURE[i]) throw malformed('the version 2 signature does not match')
  }
  if (buf.length <= 12) return null
  const versionCommand = buf[12]!
  // §2.2: receivers must drop connections with any other version or command.
  if (versionCommand >> 4 !== 2) throw malformed(`version ${versionCommand >> 4} is not 2`)
  const commandBits = versionCommand & 0x0f
  if (commandBits > 1) throw malformed(`command 0x${commandBits.toString(16)} is neither LOCAL (0x0) nor PROXY (0x1)`)
  if (buf.length <= 13) return null
  const familyByte = buf[13]!
  const shape = V2_FAMILIES.get(familyByte)
  if (!shape) throw malformed(`family and transport byte 0x${hex(familyByte)} is not one of those defined`)
  if (buf.length < V2_FIXED_BYTES) return null
  const length = buf.readUInt16BE(14)
  const total = V2_FIXED_BYTES + length
  if (total > MAX_PROXY_HEADER_BYTES) throw malformed(`version 2 header of ${total} bytes exceeds the ${MAX_PROXY_HEADER_BYTES}-byte limit`)
  if (length < shape.addressBytes) throw malformed(`length ${length} is shorter than the ${shape.addressBytes}-byte address block of family byte 0x${hex(familyByte)}`)
  if (buf.length < total) return null

  const header = buf.subarray(0, total)
  const tlvs = parseTlvs(header, V2_FIXED_BYTES + shape.addressBytes)
  // §2.2: LOCAL means the proxy speaks for itself; its addresses are to be ignored.
  const command = commandBits === 1 ? 'PROXY' : 'LOCAL'
  const family = command === 'LOCAL' ? 'UNKNOWN' : shape.family
  return { header: { version: 2, command, family, ...decodeV2Addresses(header, family), tlvs }, consumed: total }
}

function decodeV2Addresses(header: Buffer, family: ProxyHeader['family']): Partial<ProxyHeader> {
  const a = V2_FIXED_BYTES
  switch (family) {
    case 'TCP4':
      return {
        sourceAddress: header.subarray(a, a + 4).join('.'),
        destinationAddress: header.subarray(a + 4, a + 8).join('.'),
        sourcePort: header.readUInt16BE(a + 8),
        destinationPort: header.readUInt16BE(a + 10),
      }
    case 'TCP6':
      return {
        sourceAddress: formatIpv6(header.subarray(a, a + 16)),
        destinationAddress: formatIpv6(header.subarray(a + 16, a + 32)),
        sourcePort: header.readUInt16BE(a + 32),
        destinationPort: header.readUInt16BE(a + 34),
      }
    case 'UNIX':
      return { sourceAddress: decodePath(header.subarray(a, a + 108)), destinationAddress: decodePath(header.subarray(a + 108, a + 216)) }
    case 'UNKNOWN':
      return {}
  }
}

function formatIpv6(bytes: Buffer): string {
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16))
  return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address
}

// A path is whatever bytes the proxy's client socket had; it ends up in `Received:` headers and
// logs, so anything but printable ASCII (CR and LF above all) is written as `\xNN`, backslash too.
function decodePath(bytes: Buffer): string {
  const nul = bytes.indexOf(0)
  const end = nul === -1 ? bytes.length : nul
  let out = ''
  for (let i = 0; i < end; i++) {
    const byte = bytes[i]!
    out += byte > 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${hex(byte)}`
  }
  return out
}

// §2.2: TLVs fill the rest of the header exactly; a length running past the end is an error.
function parseTlvs(header: Buffer, start: number): ProxyTlv[] {
  const tlvs = splitTlvs(header, start, 'TLV', 'the header')
  let crcOffset = -1
  let at = start
  for (const { type, value } of tlvs) {
    checkTlv(type, value)
    if (type === proxyTlvTypes.CRC32C) {
      if (crcOffset !== -1) throw malformed('more than one CRC32C TLV')
      crcOffset = at + 3
    }
    at += 3 + value.length
  }
  if (crcOffset !== -1) checkCrc32c(header, crcOffset)
  return tlvs
}

function splitTlvs(bytes: Buffer, start: number, what: string, container: string): ProxyTlv[] {
  const tlvs: ProxyTlv[] = []
  for (let at = start; at < bytes.length; ) {
    if (bytes.length - at < 3) throw malformed(`${bytes.length - at} stray bytes after the last ${what}`)
    const type = bytes[at]!
    const length = bytes.readUInt16BE(at + 1)
    if (at + 3 + length > bytes.length) throw malformed(`${what} 0x${hex(type)} of ${length} bytes runs past the end of ${container}`)
    tlvs.push({ type, value: bytes.subarray(at + 3, at + 3 + length) })
    at += 3 + length
  }
  return tlvs
}

function checkTlv(type: number, value: Buffer): void {
  const name = `TLV 0x${hex(type)}`
  switch (type) {
    case proxyTlvTypes.ALPN:
      if (value.length < 1 || value.length > 255) throw malformed(`${name} (ALPN) must hold 1 to 255 bytes, got ${value.length}`)
      return
    case proxyTlvTypes.AUTHORITY:
      if (value.length < 1 || value.length > 255) throw malformed(`${name} (AUTHORITY) must hold 1 to 255 bytes, got ${value.length}`)
      try {
        utf8.decode(value)
      } catch {
        throw malformed(`${name} (AUTHORITY) is not valid UTF-8`)
      }
      return
    case proxyTlvTypes.CRC32C:
      if (value.length !== 4) throw malformed(`${name} (CRC32C) must hold 4 bytes, got ${value.length}`)
      return
    case proxyTlvTypes.UNIQUE_ID:
      // §2.2, PP2_TYPE_UNIQUE_ID: "up to 128 bytes".
      if (value.length > 128) throw malformed(`${name} (UNIQUE_ID) must hold at most 128 bytes, got ${value.length}`)
      return
    case proxyTlvTypes.SSL:
      parseProxySslTlv(value)
      return
  }
}

/**
 * Reads the value of a `PP2_TYPE_SSL` TLV (§2.2): the client flags, the verify result and the
 * sub-TLVs. Throws a `ProtocolError` (`ERR_SMTP_PROXY_HEADER`) when it is shorter than 5 bytes or
 * its sub-TLVs do not fill it exactly; headers from {@link parseProxyHeader} have been checked.
 */
export function parseProxySslTlv(value: Buffer): ProxySslInfo {
  if (value.length < 5) throw malformed(`TLV 0x20 (SSL) must hold at least 5 bytes, got ${value.length}`)
  const tlvs = splitTlvs(value, 5, 'SSL sub-TLV', 'the SSL TLV')
  return { client: value[0]!, verify: value.readUInt32BE(1), tlvs }
}

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as §2.2 asks for PP2_TYPE_CRC32C.
const CRC32C_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
  return c
})

// §2.2, PP2_TYPE_CRC32C: the checksum covers the whole header with its own four bytes taken as zero.
function checkCrc32c(header: Buffer, offset: number): void {
  let crc = 0xffffffff
  for (let i = 0; i < header.length; i++) {
    const byte = i >= offset && i < offset + 4 ? 0 : header[i]!
    crc = CRC32C_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8)
  }
  crc = (crc ^ 0xffffffff) >>> 0
  const sent = header.readUInt32BE(offset)
  if (crc !== sent) throw malformed(`CRC32C 0x${sent.toString(16).padStart(8, '0')} does not match the header (0x${crc.toString(16).padStart(8, '0')})`)
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0')
}

/** Options of {@link readProxyHeader}. */
export interface ReadProxyHeaderOptions {
  /** How long the whole header may take to arrive. */
  readonly timeoutMs: number
  /** Stops waiting; the promise rejects with `signal.reason`. */
  readonly signal?: AbortSignal
  /** The timer to run the timeout on: a connection passes its one timer. Default: one of its own. */
  readonly deadline?: Deadline
}

/**
 * Reads a PROXY protocol header from the start of `stream`, before anything is written to it.
 * Works whether the stream is paused or flowing: it listens to `'readable'` and calls `read()`
 * until the header is complete, then removes every listener it added and reads nothing more, so
 * the stream is left not flowing with its later bytes still queued. Bytes that came in the same
 * chunks after the header are returned as `rest`: give them to whatever reads next, the SMTP
 * reader or (implicit TLS) the handshake, with `stream.unshift(rest)` or the reader's own
 * put-back. A client must wait for the greeting (RFC 5321 §3.1) but a TLS client speaks first,
 * so `rest` is often not empty. Holds at most {@link MAX_PROXY_HEADER_BYTES} plus one chunk.
 *
 * Rejects with the parser's `ProtocolError` (`ERR_SMTP_PROXY_HEADER`) for a malformed header, a
 * `ProtocolError` with `ERR_SMTP_CONNECTION_CLOSED` when the stream ends first, the stream's own
 * error, a `TimeoutError` DOMException after `timeoutMs`, or `signal.reason`. It never destroys
 * the stream: on rejection the caller should, without sending anything.
 */
export function readProxyHeader(stream: Duplex, options: ReadProxyHeaderOptions): Promise<{ header: ProxyHeader; rest: Buffer }> {
  const { timeoutMs, signal } = options
  // A Deadline of its own is disposed of at the end; it would otherwise keep its timer until due.
  const ownDeadline = options.deadline === undefined ? new Deadline() : undefined
  const deadline = options.deadline ?? ownDeadline!
  return new Promise((resolve, reject) => {
    if (!(timeoutMs > 0)) return reject(new RangeError(`timeoutMs must be a positive number, got ${String(timeoutMs)}`))
    if (signal?.aborted) return reject(signal.reason)
    let buffered: Buffer = Buffer.alloc(0)
    let settled = false
    const finish = (error: unknown, result?: { header: ProxyHeader; rest: Buffer }): void => {
      if (settled) return
      settled = true
      deadline.stop(onTimeout)
      ownDeadline?.dispose()
      stream.off('readable', onReadable)
      stream.off('end', onEnd)
      stream.off('close', onEnd)
      stream.off('error', onError)
      signal?.removeEventListener('abort', onAbort)
      if (result) resolve(result)
      else reject(error)
    }
    const onReadable = (): void => {
      while (!settled) {
        const chunk = stream.read() as Buffer | string | null
        if (chunk === null) return
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk
        buffered = buffered.length === 0 ? bytes : Buffer.concat([buffered, bytes])
        let parsed: ReturnType<typeof parseProxyHeader>
        try {
          parsed = parseProxyHeader(buffered)
        } catch (error) {
          return finish(error)
        }
        if (parsed) return finish(undefined, { header: parsed.header, rest: buffered.subarray(parsed.consumed) })
      }
    }
    const onEnd = (): void =>
      finish(new ProtocolError('ERR_SMTP_CONNECTION_CLOSED', `the connection closed before a complete PROXY protocol header arrived (${buffered.length} bytes received)`))
    const onError = (error: Error): void => finish(error)
    const onAbort = (): void => finish(signal?.reason)
    // The Deadline's timer is ref'd: the caller's socket is what should keep the process alive,
    // but an in-memory stream has nothing else, and a pending header must still time out.
    const onTimeout = (): void => finish(new DOMException(`no complete PROXY protocol header within ${timeoutMs} ms (${buffered.length} bytes received)`, 'TimeoutError'))
    deadline.start(timeoutMs, onTimeout)
    stream.on('readable', onReadable)
    stream.on('end', onEnd)
    stream.on('close', onEnd)
    stream.on('error', onError)
    signal?.addEventListener('abort', onAbort, { once: true })
    if (stream.destroyed || stream.readableEnded) onEnd()
    else onReadable()
  })
}

/**
 * Builds the set of trusted proxies from IPs and CIDR ranges, IPv4 or IPv6 (`'10.0.0.0/8'`,
 * `'::1'`, `'fd00::/8'`). Build it once, when the server's options are resolved, and pass it to
 * {@link isTrustedProxy}. Throws a TypeError naming the first entry that is neither.
 */
export function createTrustedProxyList(trusted: readonly string[]): BlockList {
  const list = new BlockList()
  for (const entry of trusted) {
    const slash = typeof entry === 'string' ? entry.indexOf('/') : -1
    const address = slash === -1 ? entry : entry.slice(0, slash)
    const family = typeof address === 'string' && !address.includes('%') ? isIP(address) : 0
    const maxPrefix = family === 4 ? 32 : 128
    const prefixText = slash === -1 ? undefined : entry.slice(slash + 1)
    const prefix = prefixText === undefined ? maxPrefix : /^[0-9]{1,3}$/.test(prefixText) ? Number(prefixText) : NaN
    if (family === 0 || !(prefix <= maxPrefix)) {
      throw new TypeError(`trusted proxy ${JSON.stringify(entry)} is not an IP address or CIDR range such as "10.0.0.0/8" or "fd00::/8"`)
    }
    list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6')
  }
  return list
}

/**
 * True when `address` (a socket's `remoteAddress`) is one of `trusted`: a list from
 * {@link createTrustedProxyList}, or entries for it. IPv4 rules match IPv4-mapped IPv6 addresses
 * (`::ffff:127.0.0.1` is in `127.0.0.0/8`) and the other way round; an IPv6 zone (`%eth0`) is
 * ignored. Anything that is not an IP address, such as the `''` of a Unix socket, is untrusted.
 */
export function isTrustedProxy(address: string, trusted: readonly string[] | BlockList): boolean {
  const list = trusted instanceof BlockList ? trusted : createTrustedProxyList(trusted)
  const bare = address.replace(/%.*$/s, '')
  const family = isIP(bare)
  if (family === 0) return false
  return list.check(bare, family === 4 ? 'ipv4' : 'ipv6')
}

/**
 * Checks the server's `proxyProtocol` option and applies {@link proxyProtocolDefaults}. Throws a
 * TypeError for an empty or invalid `trusted` list and a RangeError for a bad `timeoutMs`.
 */
export function resolveProxyProtocolOptions(options: ProxyProtocolOptions): ResolvedProxyProtocolOptions {
  checkOptions('proxyProtocol', options, { trusted: 'array', timeoutMs: 'number' })
  if (!Array.isArray(options.trusted) || options.trusted.length === 0) {
    throw new TypeError('proxyProtocol.trusted must list the proxies (IPs or CIDR ranges) allowed to connect')
  }
  const timeoutMs = options.timeoutMs ?? proxyProtocolDefaults.timeoutMs
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || timeoutMs === Infinity) {
    throw new RangeError(`proxyProtocol.timeoutMs must be a positive number, got ${String(timeoutMs)}`)
  }
  return Object.freeze({ trusted: createTrustedProxyList(options.trusted), timeoutMs })
}

/**
 * The addresses a header stands for, in the shape of the server's connection addresses: the
 * client as remote, the address it connected to as local. Undefined for `LOCAL` and `UNKNOWN`,
 * where the socket's own addresses stand. Unix socket paths come with ports of 0.
 */
export function getProxiedAddresses(header: ProxyHeader): { remoteAddress: string; remotePort: number; localAddress: string; localPort: number } | undefined {
  if (header.command !== 'PROXY' || header.family === 'UNKNOWN') return undefined
  return {
    remoteAddress: header.sourceAddress ?? '',
    remotePort: header.sourcePort ?? 0,
    localAddress: header.destinationAddress ?? '',
    localPort: header.destinationPort ?? 0,
  }
}
