// What the client and message benchmarks share: each job runs in a child process of the same
// script (`--child JOB`), so its CPU time and peak RSS belong to one library alone; the parent
// reads the child's last stdout line as its measurement and prints tables of the results.
import { spawn } from 'node:child_process'
import { bundledChild } from './bundle-child.ts'

/**
 * Runs `script --child <job as JSON>` in a fresh node (--expose-gc; the script bundled by esbuild,
 * so no tsx is loaded in the child) and resolves with the JSON of the last line it prints; kills
 * it after 15 minutes.
 * BENCH_CPU_PROF=<dir> writes a V8 CPU profile of each child there (open it in Chrome DevTools).
 */
export async function runChildJob<M, J extends { library: string; scenario: string } = { library: string; scenario: string }>(script: string, job: J): Promise<M> {
  const bundle = await bundledChild(script)
  const run = bundle ? [bundle] : ['--import', 'tsx', script]
  return new Promise((resolve, reject) => {
    const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []
    const child = spawn(process.execPath, [...profile, '--expose-gc', ...run, '--child', JSON.stringify(job)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    const timer = setTimeout(() => child.kill('SIGKILL'), 15 * 60_000)
    // 'close', not 'exit': stdout may still hold the result line when the process exits.
    child.on('close', (code) => {
      clearTimeout(timer)
      const line = out.trim().split('\n').at(-1)
      if (code !== 0 || !line) reject(new Error(`${job.library} scenario ${job.scenario} failed (exit ${code}): ${out}`))
      else resolve(JSON.parse(line) as M)
    })
  })
}

/** A positive integer from a command-line option, else an environment variable, else `fallback`. */
export function positiveInteger(arg: string | undefined, env: string, fallback: number): number {
  const value = Number(arg ?? process.env[env] ?? fallback)
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${env} must be a positive integer`)
  return value
}

/** Prints rows as a table: the first row is the header; the first two columns left-aligned. */
export function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)))
  for (const [i, row] of rows.entries()) {
    console.log(row.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '))
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  }
}
