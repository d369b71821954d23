// Compiles src/ with tsc into a temporary directory, so benchmarks measure the JavaScript that
// users run (tsx's on-the-fly transform adds helpers such as esbuild's __name to hot paths).
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))

/**
 * Builds with tsconfig.build.json into a fresh temporary directory and returns it and a remover.
 * Type errors elsewhere in the tree do not stop tsc from emitting; they are reported on stderr.
 */
export async function buildSmtpkit(): Promise<{ dir: string; remove(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'smtpkit-bench-'))
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  const child = spawn(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', dir, '--declaration', 'false', '--sourceMap', 'false', '--inlineSources', 'false'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const [code] = (await once(child, 'exit')) as [number | null]
  const remove = (): void => rmSync(dir, { recursive: true, force: true })
  if (!existsSync(join(dir, 'server', 'index.js'))) {
    remove()
    throw new Error(`tsc did not emit server/index.js (exit ${String(code)}):\n${output}`)
  }
  // The output is ESM, and outside the package no package.json says so.
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n')
  if (code !== 0) console.error(`warning: tsc reported errors, benchmarking what it emitted anyway:\n${output.split('\n').slice(0, 10).join('\n')}`)
  return { dir, remove }
}
