// Runs an ES module script in a child Node (TypeScript through tsx), for what only a fresh
// process shows: which modules it loaded, whether it exits on its own.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import type { TestContext } from 'node:test'

/** Runs `script`, asserts that it exits 0 within a minute (its stderr as the message), and resolves with its stdout, trimmed. */
export async function runModuleScript(t: TestContext, script: string): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(() => child.kill('SIGKILL'))
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d))
  child.stderr.on('data', (d: Buffer) => (stderr += d))
  const [code] = (await once(child, 'exit', { signal: AbortSignal.timeout(60_000) })) as [number | null]
  assert.equal(code, 0, stderr)
  return stdout.trim()
}
