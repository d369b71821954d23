// `smtpkit serve --ui` and the other catcher options, as a child process.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { runServe } from '../../src/cli/serve.ts'
import { expandUiFlag } from '../../src/cli/serve-catcher.ts'
import { sendMail } from '../../src/client/index.ts'
import { captureIo, startServe } from './cli-process.ts'

describe('smtpkit serve as a catcher', { concurrency: 2 }, () => {
  test('--ui serves the page and the API for the Maildir; mail sent is listed with its envelope; --max-messages keeps the newest', async (t) => {
    const serve = await startServe(t, ['--ui', '127.0.0.1:0', '--max-messages', '2'])
    const [, ui] = await serve.waitFor(/^web UI on (\S+)$/m)
    for (const subject of ['one', 'two', 'three']) {
      await sendMail({ host: serve.host, port: serve.port, tls: 'none' }, { from: 'app@example.test', to: 'user@example.test', message: `Subject: ${subject}\r\n\r\nHi\r\n` })
    }
    const page = (await (await fetch(`${ui}/api/v1/messages`)).json()) as { total: number; messages: { Subject: string; Envelope: { From: string } }[] }
    assert.equal(page.total, 2)
    assert.deepEqual(
      page.messages.map((m) => m.Subject),
      ['three', 'two'],
    )
    assert.equal(page.messages[0]!.Envelope.From, 'app@example.test')
    assert.equal((await serve.messages()).length, 2)
    assert.match(await (await fetch(`${ui}/`)).text(), /smtpkit catcher/)
    assert.equal(await serve.stop(), 0)
  })

  test('--ui follows the Maildir: mail a second serve stores there appears, and a file removed by hand goes', async (t) => {
    const first = await startServe(t, ['--ui', '127.0.0.1:0'])
    const [, ui] = await first.waitFor(/^web UI on (\S+)$/m)
    const second = await startServe(t, ['--maildir', first.maildir])
    await sendMail({ host: second.host, port: second.port, tls: 'none' }, { from: 'app@example.test', to: 'user@example.test', message: 'Subject: via the second\r\n\r\nHi\r\n' })
    // The long poll answers when the first serve has noticed the file.
    const found = await fetch(`${ui}/api/v1/messages/wait?subject=via%20the%20second&timeout=20000`)
    assert.equal(found.status, 200)
    const { ID } = (await found.json()) as { ID: string }
    const [file] = await first.messages()
    assert.ok(file!.name.startsWith(ID))
    const { unlink } = await import('node:fs/promises')
    const { join } = await import('node:path')
    await unlink(join(first.maildir, 'new', file!.name))
    let total = 1
    for (let i = 0; i < 400 && total !== 0; i++) {
      total = ((await (await fetch(`${ui}/api/v1/messages`)).json()) as { total: number }).total
      if (total !== 0) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    assert.equal(total, 0)
    assert.equal(await first.stop(), 0)
  })

  test('--ui beyond loopback without --ui-auth warns; --chaos and --auth-accept-any apply to SMTP', async (t) => {
    const serve = await startServe(t, ['--ui', '0.0.0.0:0', '--chaos', 'rcpt=452', '--auth-accept-any', '--insecure-auth-without-tls'])
    await serve.waitFor(/^web UI on /m)
    // stderr is a separate pipe: its line may arrive after stdout's.
    for (let i = 0; i < 200 && !/warning/.test(serve.stderr()); i++) await new Promise((resolve) => setTimeout(resolve, 25))
    assert.match(serve.stderr(), /warning: the web UI .* is open to the network without a password/)
    await assert.rejects(
      sendMail({ host: serve.host, port: serve.port, tls: 'none', insecureAuthWithoutTls: true, auth: { username: 'any', password: 'thing' } }, { from: 'a@example.test', to: 'b@example.test', message: 'Subject: x\r\n\r\n' }),
      /452/,
    )
  })

  test('usage errors name the option', async () => {
    for (const [args, pattern] of [
      [['--ui-auth', 'a:b'], /--ui-auth needs --ui/],
      [['--ui', '--store', 'none'], /--ui needs the Maildir store/],
      [['--ui', '--ui-auth', 'nopass'], /--ui-auth must be USER:PASS/],
      [['--ui', '--release-to', 'http://x'], /--release-to must be an smtp:\/\/ or smtps:\/\/ URL/],
      [['--chaos', 'mail=999'], /--chaos: "mail=999" is not STAGE=CODE/],
      [['--auth-accept-any'], /--auth-accept-any needs TLS/],
      [['--max-messages', '0'], /--max-messages/],
    ] as const) {
      const capture = captureIo()
      assert.equal(await runServe(['--listen', '127.0.0.1:0', ...args], capture.io), 2, args.join(' '))
      assert.match(capture.stderr(), pattern)
    }
  })

  test('--ui alone means 127.0.0.1:8025', () => {
    assert.deepEqual(expandUiFlag(['--ui']), ['--ui=127.0.0.1:8025'])
    assert.deepEqual(expandUiFlag(['--ui', '--verbose']), ['--ui=127.0.0.1:8025', '--verbose'])
    assert.deepEqual(expandUiFlag(['--ui', '[::1]:9000']), ['--ui', '[::1]:9000'])
  })
})
