// An idle pool must not keep a process alive: a script that sends and forgets close() exits.
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { Server } from '../../src/server/index.ts'
import { runModuleScript } from '../helpers/node-script.ts'

const pool = fileURLToPath(new URL('../../src/client/pool.ts', import.meta.url))

test('a process whose pool sits idle exits without close(), long before the idle timeout', async (t) => {
  const server = new Server({ hostname: 'mx.example.test' })
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 })
  t.after(() => server.close({ signal: AbortSignal.timeout(2000) }))
  // idleTimeoutMs is ten minutes: only an unref'd socket lets this child exit within the test.
  const script = `
    const { Pool } = await import(${JSON.stringify(pool)})
    const pool = new Pool({ host: '127.0.0.1', port: ${port}, tls: 'none' }, { idleTimeoutMs: 600000 })
    const result = await pool.send({ from: 'a@example.test', to: ['b@example.test'], message: 'Subject: x\\r\\n\\r\\nhi\\r\\n' })
    console.log(result.accepted.join(','), pool.idleCount)
  `
  const stdout = await runModuleScript(t, script)
  assert.equal(stdout, 'b@example.test 1')
})

test("close() still completes the QUIT of an idle, unref'd connection", async (t) => {
  const server = new Server({ hostname: 'mx.example.test' })
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 })
  t.after(() => server.close({ signal: AbortSignal.timeout(2000) }))
  const script = `
    const { Pool } = await import(${JSON.stringify(pool)})
    const pool = new Pool({ host: '127.0.0.1', port: ${port}, tls: 'none', debug: (line) => { if (line.startsWith('S: 221')) console.log('quit answered') } })
    await pool.send({ from: 'a@example.test', to: ['b@example.test'], message: 'Subject: x\\r\\n\\r\\nhi\\r\\n' })
    await pool.close()
    console.log('closed', pool.size)
  `
  const stdout = await runModuleScript(t, script)
  assert.equal(stdout, 'quit answered\nclosed 0')
})
