// `smtpkit serve` has a flag for every limit and timeout of the library's ServerLimits, named
// after it, and --insecure-accept-bare-line-endings for legacy senders.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { UsageError } from '../../src/cli/args.ts'
import { limitFlags, limitHelp, limitsFromFlags } from '../../src/cli/serve-limits.ts'
import { serveHelp } from '../../src/cli/help.ts'
import { serverLimitDefaults } from '../../src/server/limits.ts'
import { rawSession, startServe } from './cli-process.ts'

describe('serve limit flags', () => {
  test('every ServerLimits field has a flag, and --help lists each', () => {
    const covered = new Set(Object.values(limitFlags).map((f) => f.limit))
    const missing = Object.keys(serverLimitDefaults).filter((limit) => !covered.has(limit as keyof typeof serverLimitDefaults))
    assert.deepEqual(missing, [], 'add a flag named after each new limit to src/cli/serve-limits.ts')
    for (const flag of Object.keys(limitFlags)) assert.match(serveHelp, new RegExp(`^  --${flag}\\b`, 'm'))
    assert.match(limitHelp(), /--command-timeout DURATION +wait for the next command \(default 5m\)/)
  })

  test('the issue-named flags map to their limits, with units', () => {
    assert.deepEqual(
      limitsFromFlags({
        'max-connections': '5', 'max-connections-per-ip': '64', 'command-timeout': '30s', 'data-timeout': '2m',
        'max-transactions': '7', 'max-message-bytes': '10M', 'auth-failure-delay': '0', 'max-pending-reply-bytes': '512K',
      }),
      {
        maxConnections: 5, maxConnectionsPerIp: 64, commandTimeoutMs: 30_000, dataTimeoutMs: 120_000,
        maxTransactionsPerConnection: 7, maxMessageBytes: 10 << 20, authFailureDelayMs: 0, maxPendingReplyBytes: 512 << 10,
      },
    )
    assert.deepEqual(limitsFromFlags({ 'command-timeout': '1500ms', 'data-timeout': '1h' }), { commandTimeoutMs: 1500, dataTimeoutMs: 3_600_000 })
  })

  test('bad values and two flags for one limit are usage errors naming the flag', () => {
    const refuses = (values: Record<string, string>, pattern: RegExp): void =>
      assert.throws(() => limitsFromFlags(values), (e: unknown) => e instanceof UsageError && pattern.test(e.message))
    refuses({ 'max-connections': '0' }, /^--max-connections must be an integer of at least 1/)
    refuses({ 'command-timeout': '5 minutes' }, /^--command-timeout must be a duration such as 30s/)
    refuses({ 'data-timeout': '0' }, /^--data-timeout must be a duration/)
    refuses({ 'max-size': '1M', 'max-message-bytes': '2M' }, /--max-message-bytes and --max-size set the same limit|--max-size and --max-message-bytes set the same limit/)
  })

  test('--max-connections, --command-timeout and --insecure-accept-bare-line-endings reach the server', async (t) => {
    const serve = await startServe(t, ['--max-connections', '1', '--command-timeout', '2s', '--insecure-accept-bare-line-endings'])
    const first = await rawSession(serve.port)
    t.after(() => first.socket.destroy())
    assert.match(first.greeting, /^220 /)
    const second = await rawSession(serve.port)
    t.after(() => second.socket.destroy())
    assert.match(second.greeting, /^421 4\.7\.0 /)

    assert.match(await first.command('HELO client.example.test'), /^250 /)
    assert.match(await first.command('MAIL FROM:<a@example.test>'), /^250 /)
    assert.match(await first.command('RCPT TO:<b@example.test>'), /^250 /)
    assert.match(await first.command('DATA'), /^354 /)
    // Bare LFs: 554 without the flag; with it the message is stored.
    assert.match(await first.command('Subject: legacy\n\nbare LF line\r\n.'), /^250 /)
    const started = Date.now()
    assert.match(await first.reply(), /^421 4\.4\.2 /)
    assert.ok(Date.now() - started < 9000)
    assert.equal((await serve.messages()).length, 1)
  })
})
