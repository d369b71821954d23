// A sender that never starts TLS does not load node:tls: a one-shot sendMail to a plain relay
// (a local catcher, MX delivery without STARTTLS) pays neither its memory nor its start-up.
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { Server } from '../../src/server/index.ts'
import { runModuleScript } from '../helpers/node-script.ts'

const client = fileURLToPath(new URL('../../src/client/index.ts', import.meta.url))

test('sendMail without TLS leaves node:tls unloaded; a TLS connection then loads it', async (t) => {
  const server = new Server({ hostname: 'mx.example.test' })
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 })
  t.after(() => server.close({ signal: AbortSignal.timeout(2000) }))
  const script = `
    const { sendMail, Client } = await import(${JSON.stringify(client)})
    const tlsLoaded = () => process.moduleLoadList.includes('NativeModule tls')
    const before = tlsLoaded()
    const result = await sendMail({ host: '127.0.0.1', port: ${port}, tls: 'none' }, { from: 'a@example.test', to: 'b@example.test', message: 'Subject: x\\r\\n\\r\\nhi\\r\\n' })
    const afterSend = tlsLoaded()
    // Implicit TLS to this plaintext server fails, but only once node:tls was loaded to try.
    const failed = await Client.connect({ host: '127.0.0.1', port: ${port}, tls: 'implicit', timeouts: { connect: 2000 } }).then(() => 'connected', (err) => err.constructor.name)
    console.log(JSON.stringify({ before, accepted: result.accepted, afterSend, failed, afterTls: tlsLoaded() }))
  `
  const stdout = await runModuleScript(t, script)
  const seen = JSON.parse(stdout) as { before: boolean; accepted: string[]; afterSend: boolean; failed: string; afterTls: boolean }
  assert.deepEqual(seen.accepted, ['b@example.test'])
  assert.equal(seen.before, false)
  assert.equal(seen.afterSend, false)
  assert.notEqual(seen.failed, 'connected')
  assert.equal(seen.afterTls, true)
})
