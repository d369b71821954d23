// Child processes the benchmarks start and stop: server children that print their port, load
// generators with a raised descriptor limit.
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { stopChild as stopTestChild } from '../../test/helpers/peers.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** The lines a child prints, one at a time; rejects when it exits first. */
export function lineReader(child: ChildProcess, what: string): () => Promise<string> {
  const lines: string[] = []
  let waiting: { resolve(line: string): void; reject(error: Error): void } | undefined
  let exited: Error | undefined
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (waiting) waiting.resolve(line)
    else lines.push(line)
    waiting = undefined
  })
  child.once('exit', (code) => {
    exited = new Error(`${what} exited with ${String(code)}`)
    waiting?.reject(exited)
  })
  return () => {
    const line = lines.shift()
    if (line !== undefined) return Promise.resolve(line)
    if (exited) return Promise.reject(exited)
    return new Promise((resolve, reject) => (waiting = { resolve, reject }))
  }
}

/** Spawns through sh to raise the descriptor limit first (exec keeps the pid the same). */
export function spawnWithFileLimit(command: string, args: readonly string[], stdio: ('ignore' | 'pipe' | 'inherit')[]): ChildProcess {
  const script = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"'
  return spawn('/bin/sh', ['-c', script, 'sh', command, ...args], { cwd: root, stdio })
}

// A server child gets 5 s to close its connections before SIGKILL.
export const stopChild = (child: ChildProcess): Promise<void> => stopTestChild(child, 5000)

/** Starts `bench/lib/server-child.ts <kind>` and resolves once it printed its port. */
export async function startServerChild(kind: string): Promise<{ child: ChildProcess; pid: number; port: number; nextLine: () => Promise<string>; stop(): Promise<void> }> {
  const child = spawnWithFileLimit(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./server-child.ts', import.meta.url)), kind], ['pipe', 'pipe', 'inherit'])
  const nextLine = lineReader(child, `${kind} server`)
  const { port } = JSON.parse(await nextLine()) as { port: number }
  return { child, pid: child.pid!, port, nextLine, stop: () => stopChild(child) }
}
