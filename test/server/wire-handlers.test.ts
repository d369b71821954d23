// The command handlers take (wire, state, args): here they run against a fake wire that records
// replies, with no Connection, socket or server behind them.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { EnhancedCode } from '../../src/protocol/enhanced-code.ts'
import { SmtpError } from '../../src/protocol/errors.ts'
import { AuthFailures } from '../../src/server/auth-failures.ts'
import { Deadline } from '../../src/server/deadline.ts'
import { resolveServerOptions, type ServerOptions } from '../../src/server/server-options.ts'
import { mail, rcpt } from '../../src/server/transaction.ts'
import type { ConnectionState, Wire } from '../../src/server/wire.ts'
import { xclient } from '../../src/server/xclient.ts'

class FakeWire implements Wire {
  readonly replies: string[] = []
  readonly deadline = new Deadline()
  readonly isShuttingDown = false
  closed = false
  reply(code: number, enhancedCode: EnhancedCode | undefined, text: string | readonly string[]): void {
    this.replies.push([code, enhancedCode, text].filter((part) => part !== undefined).join(' '))
  }
  replyError(error: SmtpError): void {
    this.reply(error.code, error.enhancedCode, error.lines.join(' '))
  }
  replyRaw(code: number, text: string | readonly string[]): void {
    this.reply(code, undefined, text)
  }
  replyPrepared(wire: string): void {
    this.replies.push(...wire.slice(0, -2).split('\r\n'))
  }
  flush(): void {}
  greet(): void {
    this.replyRaw(220, 'greeting')
  }
  nextLine(): Promise<'end'> {
    return Promise.resolve('end')
  }
  startData(): void {}
  readData(): Promise<'end'> {
    return Promise.resolve('end')
  }
  unreadData(): void {}
  upgradeToTls(): Promise<boolean> {
    return Promise.resolve(false)
  }
  closeWith(code: number, enhancedCode: EnhancedCode, text: string): void {
    this.reply(code, enhancedCode, text)
    this.closed = true
  }
  close(): void {
    this.closed = true
  }
  quit(text: string): void {
    this.closeWith(221, '2.0.0', text)
  }
  async runHook<T>(call: () => T | Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: SmtpError }> {
    try {
      return { ok: true, value: await call() }
    } catch (error) {
      return { ok: false, error: error instanceof SmtpError ? error : new SmtpError(451, '4.3.0', 'Local error in processing') }
    }
  }
  toReplyError(error: unknown): SmtpError {
    return error instanceof SmtpError ? error : new SmtpError(451, '4.3.0', 'Local error in processing')
  }
  debugLine(): void {}
  reportError(): void {}
}

function stateFor(options: ServerOptions = {}, advertised: readonly string[] = ['SIZE', '8BITMIME', 'DSN', 'SMTPUTF8', 'AUTH']): ConnectionState {
  const resolved = resolveServerOptions({ hostname: 'mx.example.test', ...options })
  return {
    options: resolved,
    info: {
      id: 'test',
      remoteAddress: '192.0.2.1',
      remotePort: 1,
      localAddress: '',
      localPort: 0,
      isTls: false,
      tls: undefined,
      helo: 'client.example',
      isEsmtp: true,
      authenticatedAs: undefined,
      user: undefined,
      clientHostname: undefined,
    },
    session: {},
    transaction: null,
    advertised: new Set(advertised),
    xclientTrusted: true,
    phase: 'ready',
    badCommands: 0,
    authFailures: 0,
    transactionCount: 0,
    unauthenticatedCommands: 0,
    authFailuresByClient: new AuthFailures(10, 60_000),
  }
}

describe('handlers against a fake wire', () => {
  test('mail starts a transaction and treats AUTH= from an unauthenticated client as <>', async () => {
    const wire = new FakeWire()
    const state = stateFor()
    await mail(wire, state, 'FROM:<a@example.test> AUTH=ceo@corp.example')
    assert.deepEqual(wire.replies, ['250 2.1.0 Sender OK'])
    assert.equal(state.transaction?.from, 'a@example.test')
    assert.equal(state.transaction?.mailParams.auth, '<>')
    assert.equal(state.transactionCount, 1)
  })

  test('mail refuses a parameter whose extension the last EHLO did not advertise', async () => {
    const wire = new FakeWire()
    const state = stateFor({}, ['SIZE'])
    await mail(wire, state, 'FROM:<a@example.test> BODY=8BITMIME')
    assert.deepEqual(wire.replies, ['555 5.5.4 Parameter not supported: it needs 8BITMIME, which is not offered'])
    assert.equal(state.transaction, null)
  })

  test('rcpt adds recipients up to maxRecipients, then 452', async () => {
    const wire = new FakeWire()
    const state = stateFor({ limits: { maxRecipients: 1 } })
    await mail(wire, state, 'FROM:<a@example.test>')
    await rcpt(wire, state, 'TO:<b@example.test>')
    await rcpt(wire, state, 'TO:<c@example.test>')
    assert.deepEqual(wire.replies, ['250 2.1.0 Sender OK', '250 2.1.5 Recipient OK', '452 4.5.3 Too many recipients'])
    assert.deepEqual(state.transaction?.recipients.map((r) => r.address), ['b@example.test'])
  })

  test('xclient rewrites the client and greets again', async () => {
    const wire = new FakeWire()
    const state = stateFor()
    await xclient(wire, state, 'ADDR=IPV6:2001:db8::5 PORT=25 NAME=[UNAVAILABLE] LOGIN=bob')
    assert.deepEqual(wire.replies, ['220 greeting'])
    assert.deepEqual([state.info.remoteAddress, state.info.remotePort, state.info.clientHostname, state.info.authenticatedAs, state.info.helo], ['2001:db8::5', 25, undefined, 'bob', undefined])
    assert.equal(state.advertised.size, 0)
  })
})
