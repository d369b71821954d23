import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { formatDateTime, formatReceivedHeader, formatReturnPathHeader, receivedProtocol, type ConnectionInfo } from '../../src/server/index.ts'

function info(overrides: Partial<ConnectionInfo> = {}): ConnectionInfo {
  return {
    id: 'abc123',
    remoteAddress: '192.0.2.1',
    remotePort: 40000,
    localAddress: '192.0.2.25',
    localPort: 25,
    isTls: false,
    tls: undefined,
    helo: 'client.example',
    isEsmtp: true,
    authenticatedAs: undefined,
    ...overrides,
  }
}

const date = new Date(Date.UTC(2026, 10, 3, 8, 5, 9))

describe('receivedProtocol', () => {
  const rows: [Partial<ConnectionInfo>, { lmtp?: boolean; smtpUtf8?: boolean }, string][] = [
    [{ isEsmtp: false }, {}, 'SMTP'],
    [{}, {}, 'ESMTP'],
    [{ isTls: true }, {}, 'ESMTPS'],
    [{ authenticatedAs: 'bob' }, {}, 'ESMTPA'],
    [{ isTls: true, authenticatedAs: 'bob' }, {}, 'ESMTPSA'],
    [{ isTls: true }, { lmtp: true }, 'LMTPS'],
    [{}, { lmtp: true }, 'LMTP'],
    [{ isTls: true, authenticatedAs: 'bob' }, { smtpUtf8: true }, 'UTF8SMTPSA'],
    [{ isEsmtp: false }, { smtpUtf8: true }, 'UTF8SMTP'],
    [{ authenticatedAs: 'bob' }, { lmtp: true, smtpUtf8: true }, 'UTF8LMTPA'],
  ]
  for (const [conn, options, expected] of rows) {
    test(`is ${expected} for ${JSON.stringify({ ...conn, ...options })}`, () => {
      assert.equal(receivedProtocol(info(conn), options), expected)
    })
  }
})

describe('formatReceivedHeader', () => {
  test('builds the RFC 5321 §4.4 trace header, folded, with TLS details and one recipient', () => {
    const header = formatReceivedHeader({
      hostname: 'mx.example.test',
      conn: info({ isTls: true, tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', peerCertificate: undefined, authorized: false } }),
      recipient: 'bob@example.test',
      id: 'Q1',
      date,
    })
    assert.equal(
      header,
      'Received: from client.example ([192.0.2.1])\r\n' +
        '\tby mx.example.test with ESMTPS id Q1\r\n' +
        '\t(TLSv1.3 TLS_AES_256_GCM_SHA384)\r\n' +
        '\tfor <bob@example.test>; Tue, 03 Nov 2026 08:05:09 +0000\r\n',
    )
  })

  test('writes IPv6 literals, neutralises a hostile EHLO name, and omits for without a recipient', () => {
    const header = formatReceivedHeader({ hostname: 'mx.example.test', conn: info({ remoteAddress: '::1', helo: 'x)\r\nBcc: (evil' }), date })
    assert.equal(header, 'Received: from x???Bcc:??evil ([IPv6:::1])\r\n\tby mx.example.test with ESMTP id abc123;\r\n\tTue, 03 Nov 2026 08:05:09 +0000\r\n')
  })

  test('writes an IPv4-mapped address as IPv4', () => {
    assert.match(formatReceivedHeader({ hostname: 'mx', conn: info({ remoteAddress: '::ffff:10.0.0.1' }), date }), /\(\[10\.0\.0\.1\]\)/)
  })
})

test('formatReturnPathHeader writes the reverse-path, <> for the null path', () => {
  assert.equal(formatReturnPathHeader('a@example.test'), 'Return-Path: <a@example.test>\r\n')
  assert.equal(formatReturnPathHeader(''), 'Return-Path: <>\r\n')
})

test('formatDateTime writes RFC 5322 dates in UTC', () => {
  assert.equal(formatDateTime(date), 'Tue, 03 Nov 2026 08:05:09 +0000')
})
