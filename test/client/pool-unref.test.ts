// An idle pool must not keep a process alive: a script that sends and forgets close() exits.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { Server } from '../../src/server/index.ts'

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
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(() => child.kill('SIGKILL'))
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d))
  child.stderr.on('data', (d: Buffer) => (stderr += d))
  const [code] = (await once(child, 'exit', { signal: AbortSignal.timeout(60_000) })) as [number | null]
  assert.equal(code, 0, stderr)
  assert.equal(stdout.trim(), 'b@example.test 1')
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
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(() => child.kill('SIGKILL'))
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d))
  child.stderr.on('data', (d: Buffer) => (stderr += d))
  const [code] = (await once(child, 'exit', { signal: AbortSignal.timeout(60_000) })) as [number | null]
  assert.equal(code, 0, stderr)
  assert.equal(stdout.trim(), 'quit answered\nclosed 0')
})
