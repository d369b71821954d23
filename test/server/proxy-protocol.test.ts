import assert from 'node:assert/strict'
import { once } from 'node:events'
import { BlockList, createConnection, createServer, type Socket } from 'node:net'
import { duplexPair } from 'node:stream'
import { describe, test, type TestContext } from 'node:test'
import { connect as tlsConnect, createSecureContext, TLSSocket } from 'node:tls'
import fc from 'fast-check'
import { ProtocolError } from '../../src/protocol/errors.ts'
import { Deadline } from '../../src/server/deadline.ts'
import {
  createTrustedProxyList,
  getProxiedAddresses,
  isTrustedProxy,
  MAX_PROXY_HEADER_BYTES,
  parseProxyHeader,
  parseProxySslTlv,
  proxyProtocolDefaults,
  readProxyHeader,
  resolveProxyProtocolOptions,
  type ProxyHeader,
} from '../../src/server/proxy-protocol.ts'
import { ca, serverCert, serverKey } from '../helpers/tls.ts'
import { splitAt } from '../helpers/split-at.ts'

const SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex')

/** A bitwise CRC-32C, independent of the table the module uses. */
function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff
  for (const byte of bytes) {
    crc ^= byte
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1
  }
  return (crc ^ 0xffffffff) >>> 0
}

function tlv(type: number, value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value
  const head = Buffer.alloc(3)
  head[0] = type
  head.writeUInt16BE(bytes.length, 1)
  return Buffer.concat([head, bytes])
}

interface V2Parts {
  versionCommand?: number
  family?: number
  addresses?: Buffer
  tlvs?: readonly Buffer[]
  /** Overrides the length field. */
  length?: number
  /** Appends a CRC32C TLV with the right checksum (or this wrong one). */
  crc?: true | number
}

function v2(parts: V2Parts = {}): Buffer {
  const body = Buffer.concat([parts.addresses ?? Buffer.alloc(0), ...(parts.tlvs ?? [])])
  const crcTlv = parts.crc === undefined ? Buffer.alloc(0) : tlv(0x03, Buffer.alloc(4))
  const fixed = Buffer.alloc(4)
  fixed[0] = parts.versionCommand ?? 0x21
  fixed[1] = parts.family ?? 0x00
  fixed.writeUInt16BE(parts.length ?? body.length + crcTlv.length, 2)
  const header = Buffer.concat([SIGNATURE, fixed, body, crcTlv])
  if (parts.crc !== undefined) header.writeUInt32BE(parts.crc === true ? crc32c(header) : parts.crc, header.length - 4)
  return header
}

function ipv4Block(src: string, dst: string, sport: number, dport: number): Buffer {
  const b = Buffer.alloc(12)
  Buffer.from(src.split('.').map(Number)).copy(b, 0)
  Buffer.from(dst.split('.').map(Number)).copy(b, 4)
  b.writeUInt16BE(sport, 8)
  b.writeUInt16BE(dport, 10)
  return b
}

function ipv6Block(src: string, dst: string, sport: number, dport: number): Buffer {
  const b = Buffer.alloc(36)
  Buffer.from(src, 'hex').copy(b, 0)
  Buffer.from(dst, 'hex').copy(b, 16)
  b.writeUInt16BE(sport, 32)
  b.writeUInt16BE(dport, 34)
  return b
}

function unixBlock(src: string, dst: string): Buffer {
  const b = Buffer.alloc(216)
  b.write(src, 0)
  b.write(dst, 108)
  return b
}

function parse(input: Buffer | string): ReturnType<typeof parseProxyHeader> {
  return parseProxyHeader(typeof input === 'string' ? Buffer.from(input, 'latin1') : input)
}

function assertMalformed(input: Buffer | string, message: RegExp): void {
  assert.throws(
    () => parse(input),
    (error: unknown) => {
      assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${String(error)}`)
      assert.equal(error.code, 'ERR_SMTP_PROXY_HEADER')
      assert.match(error.message, message)
      return true
    },
  )
}

/** Feeds `chunks` one after another, as a socket reader would; the first header or error wins. */
function parseChunked(chunks: readonly Buffer[]): { header: ProxyHeader; consumed: number } | { error: string } | null {
  let buffered = Buffer.alloc(0)
  for (const chunk of chunks) {
    buffered = Buffer.concat([buffered, chunk])
    try {
      const parsed = parseProxyHeader(buffered)
      if (parsed) return parsed
    } catch (error) {
      assert.ok(error instanceof ProtocolError)
      return { error: error.message }
    }
  }
  return null
}


describe('parseProxyHeader, version 1', () => {
  test('reads a TCP4 line and counts only its bytes as consumed', () => {
    const line = 'PROXY TCP4 192.0.2.1 198.51.100.25 56324 25\r\n'
    assert.deepEqual(parse(`${line}EHLO client.test\r\n`), {
      header: {
        version: 1,
        command: 'PROXY',
        family: 'TCP4',
        sourceAddress: '192.0.2.1',
        destinationAddress: '198.51.100.25',
        sourcePort: 56324,
        destinationPort: 25,
        tlvs: [],
      },
      consumed: line.length,
    })
  })

  test('reads a TCP6 line and writes the addresses in canonical form', () => {
    const result = parse('PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::FFFF:198.51.100.25 0 65535\r\n')
    assert.equal(result?.header.sourceAddress, '2001:db8::1')
    assert.equal(result?.header.destinationAddress, '::ffff:198.51.100.25')
    assert.equal(result?.header.sourcePort, 0)
    assert.equal(result?.header.destinationPort, 65535)
    assert.equal(result?.header.family, 'TCP6')
  })

  test('reads UNKNOWN with or without addresses, and ignores what follows it', () => {
    for (const line of ['PROXY UNKNOWN\r\n', 'PROXY UNKNOWN ::1 ::1 1 2\r\n', 'PROXY UNKNOWN anything at all\r\n']) {
      assert.deepEqual(parse(line), { header: { version: 1, command: 'PROXY', family: 'UNKNOWN', tlvs: [] }, consumed: line.length })
    }
  })

  test('accepts the longest line the spec allows (107 bytes) and refuses one more byte', () => {
    const ffff = Array(8).fill('ffff').join(':')
    const longest = `PROXY UNKNOWN ${ffff} ${ffff} 65535 65535\r\n`
    assert.equal(longest.length, 107)
    assert.equal(parse(longest)?.consumed, 107)
    assertMalformed(`PROXY UNKNOWN ${ffff} ${ffff} 65535 655355\r\n`, /no CRLF within 107 bytes/)
    assertMalformed('PROXY ' + 'x'.repeat(200), /no CRLF within 107 bytes/)
  })

  test('waits for more bytes on every prefix of a valid line', () => {
    const line = Buffer.from('PROXY TCP4 192.0.2.1 198.51.100.25 56324 25\r\n')
    for (let n = 0; n < line.length; n++) assert.equal(parseProxyHeader(line.subarray(0, n)), null, `prefix of ${n} bytes`)
  })

  const malformed: [string, string, RegExp][] = [
    ['a lowercase keyword', 'proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n', /starts with byte 0x70/],
    ['a keyword without its space', 'PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n', /does not start with "PROXY "/],
    ['an SMTP command instead of a header', 'EHLO client.test\r\n', /starts with byte 0x45/],
    ['an unknown protocol', 'PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n', /protocol "TCP5" is not TCP4, TCP6 or UNKNOWN/],
    ['UNKNOWN run into other text', 'PROXY UNKNOWNX\r\n', /protocol "UNKNOWNX"/],
    ['two spaces before the protocol', 'PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n', /protocol "" is not/],
    ['a missing field', 'PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n', /needs 4 fields/],
    ['an extra field', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n', /needs 4 fields/],
    ['a trailing space', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n', /needs 4 fields/],
    ['two spaces between fields', 'PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n', /needs 4 fields/],
    ['an IPv6 source for TCP4', 'PROXY TCP4 ::1 5.6.7.8 1 2\r\n', /source address "::1" is not an IPv4 address/],
    ['an IPv6 destination for TCP4', 'PROXY TCP4 1.2.3.4 ::1 1 2\r\n', /destination address "::1" is not an IPv4 address/],
    ['an IPv4 source for TCP6', 'PROXY TCP6 1.2.3.4 ::1 1 2\r\n', /source address "1.2.3.4" is not an IPv6 address/],
    ['an IPv4 destination for TCP6', 'PROXY TCP6 ::1 1.2.3.4 1 2\r\n', /destination address "1.2.3.4" is not an IPv6 address/],
    ['an octet over 255', 'PROXY TCP4 256.2.3.4 5.6.7.8 1 2\r\n', /"256.2.3.4" is not an IPv4/],
    ['an octet with a leading zero', 'PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n', /"01.2.3.4" is not an IPv4/],
    ['three octets', 'PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n', /"1.2.3" is not an IPv4/],
    ['a host name', 'PROXY TCP4 localhost 5.6.7.8 1 2\r\n', /"localhost" is not an IPv4/],
    ['an IPv6 zone', 'PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n', /"fe80::1%eth0" is not an IPv6/],
    ['two :: in IPv6', 'PROXY TCP6 1::2::3 ::1 1 2\r\n', /"1::2::3" is not an IPv6/],
    ['a source port over 65535', 'PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n', /source port "65536" is not a decimal number from 0 to 65535/],
    ['a destination port over 65535', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n', /destination port "99999"/],
    ['a port with six digits', 'PROXY TCP4 1.2.3.4 5.6.7.8 100000 2\r\n', /source port "100000"/],
    ['a negative port', 'PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n', /source port "-1"/],
    ['a port with a leading zero', 'PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n', /source port "080"/],
    ['a port with a plus sign', 'PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n', /source port "\+1"/],
    ['a port in exponent form', 'PROXY TCP4 1.2.3.4 5.6.7.8 1e3 2\r\n', /source port "1e3"/],
    ['a hexadecimal port', 'PROXY TCP4 1.2.3.4 5.6.7.8 0x19 2\r\n', /source port "0x19"/],
    ['an empty line', 'PROXY \r\n', /protocol "" is not/],
    ['a bare LF', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n', /bare LF/],
    ['a CR not followed by LF', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX', /CR not followed by LF/],
    ['a tab', 'PROXY TCP4\t1.2.3.4 5.6.7.8 1 2\r\n', /byte 0x09, which is not printable ASCII/],
    ['a NUL byte', 'PROXY TCP4 1.2.3.4\x005.6.7.8 1 2\r\n', /byte 0x00/],
    ['a byte over 0x7e', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\xe9\r\n', /byte 0xe9/],
  ]
  for (const [what, input, message] of malformed) {
    test(`refuses ${what}`, () => assertMalformed(input, message))
  }
})

describe('parseProxyHeader, version 2', () => {
  test('reads PROXY over TCP4 with its TLVs, in order', () => {
    const tlvs = [tlv(0x02, 'mx.example.test'), tlv(0x05, Buffer.from('abc123')), tlv(0x04, Buffer.alloc(3)), tlv(0xea, 'vpce-0123')]
    const input = Buffer.concat([v2({ family: 0x11, addresses: ipv4Block('192.0.2.1', '198.51.100.25', 56324, 25), tlvs }), Buffer.from('QUIT\r\n')])
    const result = parse(input)
    assert.equal(result?.consumed, input.length - 6)
    assert.deepEqual(result?.header, {
      version: 2,
      command: 'PROXY',
      family: 'TCP4',
      sourceAddress: '192.0.2.1',
      destinationAddress: '198.51.100.25',
      sourcePort: 56324,
      destinationPort: 25,
      tlvs: [
        { type: 0x02, value: Buffer.from('mx.example.test') },
        { type: 0x05, value: Buffer.from('abc123') },
        { type: 0x04, value: Buffer.alloc(3) },
        { type: 0xea, value: Buffer.from('vpce-0123') },
      ],
    })
  })

  test('reads PROXY over TCP6, writing IPv4-mapped addresses as ::ffff:a.b.c.d', () => {
    const addresses = ipv6Block('20010db8000000000000000000000001', '00000000000000000000ffffc6336419', 1, 587)
    const result = parse(v2({ family: 0x21, addresses }))
    assert.deepEqual(result?.header, {
      version: 2,
      command: 'PROXY',
      family: 'TCP6',
      sourceAddress: '2001:db8::1',
      destinationAddress: '::ffff:198.51.100.25',
      sourcePort: 1,
      destinationPort: 587,
      tlvs: [],
    })
  })

  test('reads PROXY over a Unix stream socket as paths without ports', () => {
    const result = parse(v2({ family: 0x31, addresses: unixBlock('/run/client.sock', '/run/smtp.sock'), tlvs: [tlv(0x02, 'a')] }))
    assert.deepEqual(result?.header, {
      version: 2,
      command: 'PROXY',
      family: 'UNIX',
      sourceAddress: '/run/client.sock',
      destinationAddress: '/run/smtp.sock',
      tlvs: [{ type: 0x02, value: Buffer.from('a') }],
    })
  })

  test('reads LOCAL as a header without addresses, whatever family it names, keeping its TLVs', () => {
    const health = v2({ versionCommand: 0x20 })
    assert.deepEqual(parse(health), { header: { version: 2, command: 'LOCAL', family: 'UNKNOWN', tlvs: [] }, consumed: 16 })
    const withAddresses = v2({ versionCommand: 0x20, family: 0x11, addresses: ipv4Block('10.0.0.1', '10.0.0.2', 1, 2), tlvs: [tlv(0x05, 'id')] })
    assert.deepEqual(parse(withAddresses)?.header, { version: 2, command: 'LOCAL', family: 'UNKNOWN', tlvs: [{ type: 0x05, value: Buffer.from('id') }] })
  })

  test('treats PROXY with UNSPEC, or any datagram family, as UNKNOWN (spec §2.2 fallback)', () => {
    assert.equal(parse(v2({ family: 0x00, tlvs: [tlv(0x04, '')] }))?.header.family, 'UNKNOWN')
    for (const [family, addresses] of [[0x12, Buffer.alloc(12)], [0x22, Buffer.alloc(36)], [0x32, Buffer.alloc(216)]] as const) {
      assert.deepEqual(parse(v2({ family, addresses, tlvs: [tlv(0x02, 'x')] }))?.header, {
        version: 2,
        command: 'PROXY',
        family: 'UNKNOWN',
        tlvs: [{ type: 0x02, value: Buffer.from('x') }],
      })
    }
  })

  test('verifies a CRC32C TLV over the whole header', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283)
    const good = v2({ family: 0x11, addresses: ipv4Block('192.0.2.1', '192.0.2.2', 3, 4), tlvs: [tlv(0x02, 'a')], crc: true })
    assert.equal(parse(good)?.header.tlvs.length, 2)
    const sent = good.readUInt32BE(good.length - 4)
    assertMalformed(v2({ family: 0x11, addresses: ipv4Block('192.0.2.1', '192.0.2.2', 3, 4), tlvs: [tlv(0x02, 'a')], crc: (sent ^ 1) >>> 0 }), /CRC32C 0x[0-9a-f]{8} does not match/)
    const tampered = Buffer.from(good)
    tampered[16] = 10
    assertMalformed(tampered, /does not match/)
  })

  test('reads the SSL TLV and its sub-TLVs', () => {
    const ssl = Buffer.concat([Buffer.from([0x07, 0, 0, 0, 0]), tlv(0x21, 'TLSv1.3'), tlv(0x23, 'TLS_AES_256_GCM_SHA384')])
    const result = parse(v2({ family: 0x11, addresses: ipv4Block('192.0.2.1', '192.0.2.2', 3, 4), tlvs: [tlv(0x20, ssl)] }))
    const value = result?.header.tlvs[0]?.value
    assert.ok(value)
    assert.deepEqual(parseProxySslTlv(value), {
      client: 0x07,
      verify: 0,
      tlvs: [
        { type: 0x21, value: Buffer.from('TLSv1.3') },
        { type: 0x23, value: Buffer.from('TLS_AES_256_GCM_SHA384') },
      ],
    })
  })

  test('accepts a header of exactly the size limit and refuses one byte more as soon as the length is read', () => {
    const fill = (n: number): Buffer => tlv(0x04, Buffer.alloc(n))
    const atLimit = v2({ tlvs: [fill(MAX_PROXY_HEADER_BYTES - 16 - 3)] })
    assert.equal(atLimit.length, MAX_PROXY_HEADER_BYTES)
    assert.equal(parse(atLimit)?.consumed, MAX_PROXY_HEADER_BYTES)
    const over = v2({ tlvs: [fill(MAX_PROXY_HEADER_BYTES - 16 - 2)] })
    assertMalformed(over.subarray(0, 16), /header of 2049 bytes exceeds the 2048-byte limit/)
    assertMalformed(v2({ length: 0xffff }).subarray(0, 16), /65551 bytes exceeds/)
  })

  test('waits for more bytes on every prefix of a valid header', () => {
    const header = v2({ family: 0x21, addresses: Buffer.alloc(36), tlvs: [tlv(0x02, 'example.test')], crc: true })
    for (let n = 0; n < header.length; n++) assert.equal(parseProxyHeader(header.subarray(0, n)), null, `prefix of ${n} bytes`)
    assert.equal(parseProxyHeader(header)?.consumed, header.length)
  })

  test('refuses a signature that differs in any byte', () => {
    const header = v2({ versionCommand: 0x20 })
    for (let i = 1; i < 12; i++) {
      const bad = Buffer.from(header)
      bad[i] = bad[i]! ^ 0x20
      assertMalformed(bad.subarray(0, i + 1), /version 2 signature does not match/)
    }
  })

  const v4 = ipv4Block('192.0.2.1', '192.0.2.2', 3, 4)
  const malformed: [string, Buffer, RegExp][] = [
    ['version 1 in the version nibble', v2({ versionCommand: 0x11 }), /version 1 is not 2/],
    ['version 3 in the version nibble', v2({ versionCommand: 0x31 }), /version 3 is not 2/],
    ['version 0 in the version nibble', v2({ versionCommand: 0x01 }), /version 0 is not 2/],
    ['command 0x2', v2({ versionCommand: 0x22 }), /command 0x2 is neither LOCAL/],
    ['command 0xf', v2({ versionCommand: 0x2f }), /command 0xf is neither/],
    ['family byte 0x01 (UNSPEC over STREAM)', v2({ family: 0x01 }), /family and transport byte 0x01/],
    ['family byte 0x10 (INET without transport)', v2({ family: 0x10, addresses: v4 }), /byte 0x10/],
    ['family byte 0x13', v2({ family: 0x13, addresses: v4 }), /byte 0x13/],
    ['family byte 0x41', v2({ family: 0x41, addresses: v4 }), /byte 0x41/],
    ['family byte 0xff', v2({ family: 0xff }), /byte 0xff/],
    ['a TCP4 length shorter than its addresses', v2({ family: 0x11, addresses: v4.subarray(0, 11) }), /length 11 is shorter than the 12-byte address block/],
    ['a TCP6 length shorter than its addresses', v2({ family: 0x21, addresses: Buffer.alloc(35) }), /length 35 is shorter than the 36-byte/],
    ['a UNIX length shorter than its addresses', v2({ family: 0x31, addresses: Buffer.alloc(215) }), /length 215 is shorter than the 216-byte/],
    ['a LOCAL length shorter than the addresses it names', v2({ versionCommand: 0x20, family: 0x11 }), /length 0 is shorter/],
    ['one stray byte after the addresses', v2({ family: 0x11, addresses: v4, tlvs: [Buffer.from([0x02])] }), /1 stray bytes after the last TLV/],
    ['two stray bytes after a TLV', v2({ tlvs: [tlv(0x04, ''), Buffer.from([0x02, 0x00])] }), /2 stray bytes/],
    ['a TLV length past the end', v2({ tlvs: [Buffer.from([0x02, 0x00, 0x05, 0x61])] }), /TLV 0x02 of 5 bytes runs past the end/],
    ['an empty ALPN', v2({ tlvs: [tlv(0x01, '')] }), /ALPN\) must hold 1 to 255 bytes, got 0/],
    ['an ALPN over 255 bytes', v2({ tlvs: [tlv(0x01, 'h'.repeat(256))] }), /ALPN\) must hold 1 to 255 bytes, got 256/],
    ['an empty AUTHORITY', v2({ tlvs: [tlv(0x02, '')] }), /AUTHORITY\) must hold 1 to 255 bytes, got 0/],
    ['an AUTHORITY over 255 bytes', v2({ tlvs: [tlv(0x02, 'a'.repeat(256))] }), /AUTHORITY\) must hold 1 to 255/],
    ['an AUTHORITY that is not UTF-8', v2({ tlvs: [tlv(0x02, Buffer.from([0x61, 0xff]))] }), /AUTHORITY\) is not valid UTF-8/],
    ['a CRC32C of 3 bytes', v2({ tlvs: [tlv(0x03, Buffer.alloc(3))] }), /CRC32C\) must hold 4 bytes, got 3/],
    ['a CRC32C of 5 bytes', v2({ tlvs: [tlv(0x03, Buffer.alloc(5))] }), /CRC32C\) must hold 4 bytes, got 5/],
    ['two CRC32C TLVs', v2({ tlvs: [tlv(0x03, Buffer.alloc(4)), tlv(0x03, Buffer.alloc(4))] }), /more than one CRC32C/],
    ['a UNIQUE_ID over 128 bytes', v2({ tlvs: [tlv(0x05, Buffer.alloc(129))] }), /UNIQUE_ID\) must hold at most 128 bytes, got 129/],
    ['an SSL TLV under 5 bytes', v2({ tlvs: [tlv(0x20, Buffer.alloc(4))] }), /SSL\) must hold at least 5 bytes, got 4/],
    ['an SSL sub-TLV past the end', v2({ tlvs: [tlv(0x20, Buffer.from([1, 0, 0, 0, 0, 0x21, 0, 9, 0x41]))] }), /SSL sub-TLV 0x21 of 9 bytes runs past/],
    ['stray bytes after the SSL sub-TLVs', v2({ tlvs: [tlv(0x20, Buffer.from([1, 0, 0, 0, 0, 0x21]))] }), /1 stray bytes after the last SSL sub-TLV/],
  ]
  for (const [what, input, message] of malformed) {
    test(`refuses ${what}`, () => assertMalformed(input, message))
  }

  test('accepts a UNIQUE_ID of exactly 128 bytes and an empty one', () => {
    assert.equal(parse(v2({ tlvs: [tlv(0x05, Buffer.alloc(128)), tlv(0x05, '')] }))?.header.tlvs.length, 2)
  })
})

// Headers from structured parts, written the way a proxy would, with the header they stand for.
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'))
const ipv6Bytes = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b))
const port = fc.nat(65535)
const tlvArb = fc
  .oneof(
    fc.tuple(fc.constant(0x02), fc.stringMatching(/^[a-z0-9.-]{1,40}$/).map((s) => Buffer.from(s))),
    fc.tuple(fc.constant(0x05), fc.uint8Array({ maxLength: 128 }).map((b) => Buffer.from(b))),
    fc.tuple(fc.constantFrom(0x04, 0x30, 0xe0, 0xea, 0xee), fc.uint8Array({ maxLength: 50 }).map((b) => Buffer.from(b))),
  )
  .map(([type, value]) => ({ type, value }))
const wireHeader: fc.Arbitrary<{ wire: Buffer; header: ProxyHeader }> = fc.oneof(
  fc.tuple(ipv4, ipv4, port, port).map(([src, dst, sp, dp]) => ({
    wire: Buffer.from(`PROXY TCP4 ${src} ${dst} ${sp} ${dp}\r\n`),
    header: { version: 1, command: 'PROXY', family: 'TCP4', sourceAddress: src, destinationAddress: dst, sourcePort: sp, destinationPort: dp, tlvs: [] } as ProxyHeader,
  })),
  fc.constant({ wire: Buffer.from('PROXY UNKNOWN\r\n'), header: { version: 1, command: 'PROXY', family: 'UNKNOWN', tlvs: [] } as ProxyHeader }),
  fc.tuple(ipv4, ipv4, port, port, fc.array(tlvArb, { maxLength: 4 }), fc.boolean()).map(([src, dst, sp, dp, tlvs, crc]) => {
    const wire = v2({ family: 0x11, addresses: ipv4Block(src, dst, sp, dp), tlvs: tlvs.map((t) => tlv(t.type, t.value)), ...(crc ? { crc: true as const } : {}) })
    const all = crc ? [...tlvs, { type: 0x03, value: wire.subarray(wire.length - 4) }] : tlvs
    return { wire, header: { version: 2, command: 'PROXY', family: 'TCP4', sourceAddress: src, destinationAddress: dst, sourcePort: sp, destinationPort: dp, tlvs: all } as ProxyHeader }
  }),
  fc.tuple(ipv6Bytes, ipv6Bytes, port, port).map(([src, dst, sp, dp]) => ({
    wire: v2({ family: 0x21, addresses: ipv6Block(src.toString('hex'), dst.toString('hex'), sp, dp) }),
    header: null as unknown as ProxyHeader,
  })),
  fc.array(tlvArb, { maxLength: 3 }).map((tlvs) => ({
    wire: v2({ versionCommand: 0x20, tlvs: tlvs.map((t) => tlv(t.type, t.value)) }),
    header: { version: 2, command: 'LOCAL', family: 'UNKNOWN', tlvs } as ProxyHeader,
  })),
)

function sameIpv6(text: string, bytes: Buffer): boolean {
  const list = new BlockList()
  list.addAddress(bytes.toString('hex').replace(/(.{4})(?!$)/g, '$1:'), 'ipv6')
  return list.check(text, 'ipv6')
}

describe('parseProxyHeader, properties', () => {
  test('parses what a proxy writes back to the header it stands for', () => {
    fc.assert(
      fc.property(wireHeader, fc.uint8Array({ maxLength: 20 }), ({ wire, header }, after) => {
        const result = parseProxyHeader(Buffer.concat([wire, after]))
        assert.ok(result)
        assert.equal(result.consumed, wire.length)
        if (header) return assert.deepEqual(result.header, header)
        // TCP6: the text form is canonical; check it names the same 16 bytes and keeps the ports.
        const { family, sourceAddress, destinationAddress, sourcePort, destinationPort } = result.header
        assert.equal(family, 'TCP6')
        assert.ok(sourceAddress && destinationAddress)
        assert.ok(sameIpv6(sourceAddress, wire.subarray(16, 32)) && sameIpv6(destinationAddress, wire.subarray(32, 48)))
        assert.deepEqual([sourcePort, destinationPort], [wire.readUInt16BE(48), wire.readUInt16BE(50)])
        assert.doesNotMatch(sourceAddress, /[A-F]|(^|:)0[0-9a-f]/)
      }),
    )
  })

  test('any split of valid input into chunks gives the same header and length', () => {
    fc.assert(
      fc.property(wireHeader, fc.uint8Array({ maxLength: 20 }), fc.array(fc.nat(), { maxLength: 8 }), ({ wire }, after, cuts) => {
        const input = Buffer.concat([wire, after])
        assert.deepEqual(parseChunked(splitAt(input, cuts)), parseProxyHeader(input))
      }),
    )
  })

  // Damaged headers reach the deep checks that random bytes rarely get past the signature to.
  const damaged = fc
    .tuple(wireHeader, fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 3 }), fc.nat())
    .map(([{ wire }, edits, cut]) => {
      const bytes = Buffer.from(wire)
      for (const [at, value] of edits) bytes[at % bytes.length] = value
      return bytes.subarray(0, bytes.length - (cut % 3))
    })
  const anyBytes = fc.oneof(damaged, fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)))

  test('any split of damaged or arbitrary input gives the same outcome, including the same error', () => {
    fc.assert(
      fc.property(anyBytes, fc.array(fc.nat(), { maxLength: 8 }), (input, cuts) => {
        let whole: ReturnType<typeof parseChunked>
        try {
          whole = parseProxyHeader(input)
        } catch (error) {
          whole = { error: (error as Error).message }
        }
        assert.deepEqual(parseChunked(splitAt(input, cuts)), whole)
      }),
      { numRuns: 500 },
    )
  })

  test('arbitrary bytes give a header, null or a ProtocolError, and null only below the size limit', () => {
    fc.assert(
      fc.property(anyBytes, (input) => {
        try {
          const result = parseProxyHeader(input)
          if (result === null) assert.ok(input.length < MAX_PROXY_HEADER_BYTES)
          else assert.ok(result.consumed <= input.length)
        } catch (error) {
          assert.ok(error instanceof ProtocolError, String(error))
          assert.equal(error.code, 'ERR_SMTP_PROXY_HEADER')
        }
      }),
      { numRuns: 1000 },
    )
  })
})

describe('readProxyHeader', () => {
  function pair(t: TestContext): ReturnType<typeof duplexPair> {
    const [server, client] = duplexPair()
    t.after(() => {
      server.destroy()
      client.destroy()
    })
    return [server, client]
  }

  test('resolves with the header and hands back the bytes that followed it', async (t) => {
    const [server, client] = pair(t)
    const header = v2({ family: 0x11, addresses: ipv4Block('192.0.2.1', '192.0.2.2', 3, 25) })
    client.write(Buffer.concat([header, Buffer.from('EHLO early.test\r\n')]))
    const { header: parsed, rest } = await readProxyHeader(server, { timeoutMs: 5000 })
    assert.equal(parsed.sourceAddress, '192.0.2.1')
    assert.equal(rest.toString(), 'EHLO early.test\r\n')
    assert.equal(server.listenerCount('readable'), 0)
    assert.equal(server.listenerCount('end'), 0)
    assert.equal(server.listenerCount('error'), 0)
  })

  test('assembles a header sent one byte at a time and leaves later bytes in the stream', async (t) => {
    const [server, client] = pair(t)
    const line = Buffer.from('PROXY TCP6 2001:db8::1 2001:db8::25 40000 25\r\n')
    const reading = readProxyHeader(server, { timeoutMs: 5000 })
    for (const byte of line) {
      client.write(Buffer.from([byte]))
      await new Promise((resolve) => setImmediate(resolve))
    }
    const { header, rest } = await reading
    assert.equal(header.sourceAddress, '2001:db8::1')
    assert.equal(rest.length, 0)
    client.write('EHLO later.test\r\n')
    const [chunk] = (await once(server, 'data', { signal: AbortSignal.timeout(5000) })) as [Buffer]
    assert.equal(chunk.toString(), 'EHLO later.test\r\n')
  })

  test('reads bytes already buffered in a paused stream', async (t) => {
    const [server, client] = pair(t)
    server.pause()
    client.write('PROXY UNKNOWN\r\nNOOP\r\n')
    await new Promise((resolve) => setImmediate(resolve))
    assert.ok(server.readableLength > 0)
    const { header, rest } = await readProxyHeader(server, { timeoutMs: 5000 })
    assert.equal(header.family, 'UNKNOWN')
    assert.equal(rest.toString(), 'NOOP\r\n')
  })

  test('takes over a flowing stream and leaves it paused with nothing lost', async (t) => {
    const [server, client] = pair(t)
    server.resume()
    const reading = readProxyHeader(server, { timeoutMs: 5000 })
    client.write('PROXY UNKNOWN\r\nNOOP\r\n')
    const { header, rest } = await reading
    assert.equal(header.family, 'UNKNOWN')
    assert.equal(rest.toString(), 'NOOP\r\n')
    client.write('QUIT\r\n')
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(server.read()?.toString(), 'QUIT\r\n')
  })

  test('rejects with a TimeoutError when the header does not arrive in time', async (t) => {
    const [server, client] = pair(t)
    client.write('PROXY TCP4 1.2')
    await assert.rejects(readProxyHeader(server, { timeoutMs: 30 }), (error: unknown) => {
      assert.ok(error instanceof DOMException)
      assert.equal(error.name, 'TimeoutError')
      assert.match(error.message, /within 30 ms \(14 bytes received\)/)
      return true
    })
    assert.equal(server.listenerCount('readable'), 0)
  })

  test('runs its timeout on the Deadline it is given (the connection’s one timer), not a timer of its own', async (t) => {
    const [server, client] = pair(t)
    t.mock.timers.enable({ apis: ['setTimeout'] })
    client.write('PROXY TCP4 1.2')
    let now = 0
    const deadline = new Deadline(() => now)
    let settled = false
    const reading = readProxyHeader(server, { timeoutMs: 1000, deadline })
    reading.catch(() => {}).finally(() => (settled = true))
    // The timer fires, but on the Deadline's clock no time has passed: a setTimeout of the
    // reader's own would have timed out here.
    t.mock.timers.tick(1000)
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(settled, false)
    now = 1000
    t.mock.timers.tick(1000)
    await assert.rejects(reading, { name: 'TimeoutError', message: /within 1000 ms/ })
  })

  test('rejects with ERR_SMTP_CONNECTION_CLOSED when the peer closes first', async (t) => {
    const [server, client] = pair(t)
    client.end('PROXY TCP4')
    await assert.rejects(readProxyHeader(server, { timeoutMs: 5000 }), { code: 'ERR_SMTP_CONNECTION_CLOSED', message: /10 bytes received/ })
  })

  test('rejects when the stream is destroyed or already ended', async (t) => {
    const [server] = pair(t)
    const reading = readProxyHeader(server, { timeoutMs: 5000 })
    server.destroy()
    await assert.rejects(reading, { code: 'ERR_SMTP_CONNECTION_CLOSED' })
    await assert.rejects(readProxyHeader(server, { timeoutMs: 5000 }), { code: 'ERR_SMTP_CONNECTION_CLOSED' })
  })

  test('rejects with the stream error', async (t) => {
    const [server] = pair(t)
    const reading = readProxyHeader(server, { timeoutMs: 5000 })
    server.destroy(new Error('ECONNRESET-like'))
    await assert.rejects(reading, { message: 'ECONNRESET-like' })
  })

  test('rejects with the parse error at the first bad byte, without waiting for more', async (t) => {
    const [server, client] = pair(t)
    client.write('EHLO client.test\r\n')
    await assert.rejects(readProxyHeader(server, { timeoutMs: 60_000 }), { code: 'ERR_SMTP_PROXY_HEADER', message: /starts with byte 0x45/ })
  })

  test('rejects an oversized header once its length is read, holding no more than one chunk', async (t) => {
    const [server, client] = pair(t)
    client.write(v2({ length: 60_000 }))
    await assert.rejects(readProxyHeader(server, { timeoutMs: 60_000 }), { code: 'ERR_SMTP_PROXY_HEADER', message: /exceeds the 2048-byte limit/ })
  })

  test('rejects with the signal reason when aborted, before or during the wait', async (t) => {
    const [server] = pair(t)
    const aborted = AbortSignal.abort(new Error('shutting down'))
    await assert.rejects(readProxyHeader(server, { timeoutMs: 5000, signal: aborted }), { message: 'shutting down' })
    const controller = new AbortController()
    const reading = readProxyHeader(server, { timeoutMs: 5000, signal: controller.signal })
    controller.abort(new Error('later'))
    await assert.rejects(reading, { message: 'later' })
    assert.equal(server.listenerCount('readable'), 0)
  })

  test('rejects a timeout that is not a positive number', async (t) => {
    const [server] = pair(t)
    await assert.rejects(readProxyHeader(server, { timeoutMs: 0 }), RangeError)
    await assert.rejects(readProxyHeader(server, { timeoutMs: NaN }), RangeError)
  })

  test('reads a header from a trusted peer over a loopback TCP socket', async (t) => {
    const accepted = new Promise<Socket>((resolve) => {
      const listener = createServer((socket) => resolve(socket))
      t.after(() => listener.close())
      listener.listen(0, '127.0.0.1', () => {
        const { port: bound } = listener.address() as { port: number }
        const client = createConnection({ host: '127.0.0.1', port: bound }, () => {
          client.write(Buffer.concat([v2({ family: 0x11, addresses: ipv4Block('203.0.113.9', '198.51.100.25', 41000, 25) }), Buffer.from('EHLO x\r\n')]))
        })
        t.after(() => client.destroy())
      })
    })
    const socket = await accepted
    t.after(() => socket.destroy())
    assert.ok(isTrustedProxy(socket.remoteAddress ?? '', ['127.0.0.0/8']))
    const { header, rest } = await readProxyHeader(socket, { timeoutMs: 5000 })
    assert.deepEqual(getProxiedAddresses(header), { remoteAddress: '203.0.113.9', remotePort: 41000, localAddress: '198.51.100.25', localPort: 25 })
    // The rest may arrive with the header or just after it; either way nothing is lost.
    const more = rest.length >= 8 ? rest : Buffer.concat([rest, ((await once(socket, 'data', { signal: AbortSignal.timeout(5000) })) as [Buffer])[0]])
    assert.equal(more.toString(), 'EHLO x\r\n')
  })
})

describe('readProxyHeader before implicit TLS', () => {
  test('hands back a ClientHello sent with the header, so the TLS handshake can use it', async (t) => {
    const listener = createServer()
    t.after(() => listener.close())
    listener.listen(0, '127.0.0.1')
    await once(listener, 'listening')
    const accepted = once(listener, 'connection') as Promise<[Socket]>
    const raw = createConnection({ host: '127.0.0.1', port: (listener.address() as { port: number }).port })
    t.after(() => raw.destroy())
    await once(raw, 'connect')
    // The proxy sends the header and the client's first bytes (its ClientHello) in one write.
    const [tlsSide, wireSide] = duplexPair()
    const client = tlsConnect({ socket: tlsSide, ca, servername: 'localhost' }, () => client.write('EHLO client.test\r\n'))
    client.on('error', () => {})
    t.after(() => client.destroy())
    const [hello] = (await once(wireSide, 'data', { signal: AbortSignal.timeout(5000) })) as [Buffer]
    raw.write(Buffer.concat([Buffer.from('PROXY TCP4 203.0.113.9 198.51.100.25 41000 465\r\n'), hello]))
    wireSide.pipe(raw)
    raw.pipe(wireSide)
    const [socket] = await accepted
    t.after(() => socket.destroy())

    const { header, rest } = await readProxyHeader(socket, { timeoutMs: 5000 })
    assert.equal(header.sourceAddress, '203.0.113.9')
    assert.deepEqual(rest, hello)
    socket.unshift(rest)
    const secure = new TLSSocket(socket, { isServer: true, secureContext: createSecureContext({ key: serverKey, cert: serverCert }) })
    secure.on('error', () => {})
    t.after(() => secure.destroy())
    const [data] = (await once(secure, 'data', { signal: AbortSignal.timeout(5000) })) as [Buffer]
    assert.equal(data.toString(), 'EHLO client.test\r\n')
  })
})

describe('isTrustedProxy', () => {
  const trusted = ['127.0.0.1', '10.0.0.0/8', '192.0.2.128/25', '::1', 'fd00::/8']
  const cases: [string, boolean][] = [
    ['127.0.0.1', true],
    ['127.0.0.2', false],
    ['10.0.0.1', true],
    ['10.255.255.255', true],
    ['11.0.0.1', false],
    ['192.0.2.128', true],
    ['192.0.2.127', false],
    ['::1', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::2', false],
    ['fd12:3456::1', true],
    ['fe80::1', false],
    ['::ffff:127.0.0.1', true],
    ['::ffff:10.1.2.3', true],
    ['::ffff:11.1.2.3', false],
    ['::ffff:7f00:1', true],
    ['', false],
    ['/run/smtp.sock', false],
    ['localhost', false],
  ]
  for (const [address, expected] of cases) {
    test(`${expected ? 'trusts' : 'does not trust'} ${JSON.stringify(address)}`, () => {
      assert.equal(isTrustedProxy(address, trusted), expected)
      assert.equal(isTrustedProxy(address, createTrustedProxyList(trusted)), expected)
    })
  }

  test('matches IPv4 addresses against IPv4-mapped IPv6 ranges', () => {
    assert.equal(isTrustedProxy('10.1.2.3', ['::ffff:10.0.0.0/104']), true)
    assert.equal(isTrustedProxy('11.1.2.3', ['::ffff:10.0.0.0/104']), false)
  })

  test('ignores the zone of a link-local address', () => {
    assert.equal(isTrustedProxy('fe80::1%eth0', ['fe80::/10']), true)
  })

  test('trusts nothing with an empty list', () => {
    assert.equal(isTrustedProxy('127.0.0.1', []), false)
  })

  test('refuses entries that are not IPs or CIDR ranges, naming them', () => {
    for (const entry of ['example.test', '10.0.0.0/33', '::/129', '10.0.0.0/', '/8', '10.0.0.0/8/8', '10.0.0.0/-1', '10.0.0.0/1.5', 'fe80::1%eth0', '', '01.2.3.4']) {
      assert.throws(() => createTrustedProxyList([entry]), { name: 'TypeError', message: new RegExp(`trusted proxy ${JSON.stringify(entry).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not`) })
    }
  })

  test('builds a BlockList once for reuse', () => {
    assert.ok(createTrustedProxyList(['10.0.0.0/8']) instanceof BlockList)
  })
})

describe('resolveProxyProtocolOptions and getProxiedAddresses', () => {
  test('applies the default timeout and compiles the trusted list', () => {
    const resolved = resolveProxyProtocolOptions({ trusted: ['127.0.0.1'] })
    assert.equal(resolved.timeoutMs, proxyProtocolDefaults.timeoutMs)
    assert.ok(isTrustedProxy('127.0.0.1', resolved.trusted))
    assert.ok(Object.isFrozen(resolved))
    assert.equal(resolveProxyProtocolOptions({ trusted: ['::1'], timeoutMs: 250 }).timeoutMs, 250)
  })

  test('refuses an empty trusted list, a bad entry and a bad timeout', () => {
    assert.throws(() => resolveProxyProtocolOptions({ trusted: [] }), { name: 'TypeError', message: /proxyProtocol.trusted must list/ })
    assert.throws(() => resolveProxyProtocolOptions({ trusted: ['nope'] }), TypeError)
    for (const timeoutMs of [0, -1, NaN, Infinity]) {
      assert.throws(() => resolveProxyProtocolOptions({ trusted: ['::1'], timeoutMs }), { name: 'RangeError', message: /proxyProtocol.timeoutMs/ })
    }
  })

  test('maps PROXY headers to connection addresses and leaves LOCAL and UNKNOWN alone', () => {
    const tcp = parse('PROXY TCP4 192.0.2.1 198.51.100.25 56324 25\r\n')!.header
    assert.deepEqual(getProxiedAddresses(tcp), { remoteAddress: '192.0.2.1', remotePort: 56324, localAddress: '198.51.100.25', localPort: 25 })
    const unix = parse(v2({ family: 0x31, addresses: unixBlock('', '/run/smtp.sock') }))!.header
    assert.deepEqual(getProxiedAddresses(unix), { remoteAddress: '', remotePort: 0, localAddress: '/run/smtp.sock', localPort: 0 })
    assert.equal(getProxiedAddresses(parse('PROXY UNKNOWN\r\n')!.header), undefined)
    assert.equal(getProxiedAddresses(parse(v2({ versionCommand: 0x20 }))!.header), undefined)
  })
})
