// Catcher benchmark: `smtpkit serve` ingesting into a Maildir without the web UI, with `--ui`,
// and with `--ui` and a page open (the live event stream connected, and the first page of the
// list refreshed as the page script does when mail arrives). Loaded by Postfix's smtp-source over loopback; the modes alternate
// round by round so the machine's load falls on each alike.
//
//   node --import tsx bench/catcher.ts
//
// For each mode it prints messages/s and the server's CPU ms per message (from /proc), and the
// ratio of each to the run without the UI. The target: ingest with the UI on stays at
// least 0.8x of ingest without it.
//
// Environment (all optional):
//   BENCH_ROUNDS    rounds of the three modes (3)
//   BENCH_MESSAGES  messages per run (3000)
//   BENCH_SESSIONS  parallel smtp-source sessions (20)
//   BENCH_BYTES     payload of a message (2000)
//   BENCH_CPU_PROF  a directory: each server child writes a V8 CPU profile there
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { smtpSourcePath } from '../test/helpers/peers.ts'
import { buildSmtpkit } from './lib/build-smtpkit.ts'
import { positiveInteger, printTable } from './lib/child-job.ts'
import { lineReader, spawnWithFileLimit, stopChild } from './lib/child-process.ts'
import { readCpuSeconds } from './lib/proc-stats.ts'

type Mode = 'no UI' | '--ui' | '--ui, page open'
const MODES: readonly Mode[] = ['no UI', '--ui', '--ui, page open']

const config = {
  rounds: positiveInteger(undefined, 'BENCH_ROUNDS', 3),
  messages: positiveInteger(undefined, 'BENCH_MESSAGES', 3000),
  sessions: positiveInteger(undefined, 'BENCH_SESSIONS', 20),
  bytes: positiveInteger(undefined, 'BENCH_BYTES', 2000),
}

async function run(main: string, mode: Mode): Promise<{ seconds: number; cpuSeconds: number; stored: number; refreshes: number }> {
  const maildir = mkdtempSync(join(tmpdir(), 'smtpkit-bench-catcher-'))
  const args = ['serve', '--listen', '127.0.0.1:0', '--maildir', maildir, ...(mode === 'no UI' ? [] : ['--ui', '127.0.0.1:0'])]
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF, `--cpu-prof-name=${mode.replace(/\W+/g, '-')}-${Date.now()}.cpuprofile`] : []
  const child = spawnWithFileLimit(process.execPath, [...profile, main, ...args], ['ignore', 'pipe', 'inherit'])
  const nextLine = lineReader(child, 'smtpkit serve')
  const events = new AbortController()
  try {
    let port = 0
    let ui = ''
    while (port === 0 || (mode !== 'no UI' && ui === '')) {
      const line = await nextLine()
      port ||= Number(/^listening on .*:(\d+)$/.exec(line)?.[1] ?? 0)
      ui ||= /^web UI on (\S+)$/.exec(line)?.[1] ?? ''
    }
    let stored = 0
    let refreshes = 0
    if (mode === '--ui, page open') {
      // What the page does: it listens to the live events and, for new mail, refreshes the first
      // page of the list at most every 100 ms with one request in flight (src/catcher/ui-script.ts).
      let refreshing = false
      let again = false
      let last = 0
      const refresh = (): void => {
        if (refreshing) return void (again = true)
        refreshing = true
        setTimeout(
          () =>
            void fetch(`${ui}/api/v1/messages?start=0&limit=50`, { signal: events.signal })
              .then((r) => r.json())
              .then(() => refreshes++)
              .catch(() => {})
              .finally(() => {
                last = performance.now()
                refreshing = false
                if (again) {
                  again = false
                  refresh()
                }
              }),
          Math.max(0, last + 100 - performance.now()),
        )
      }
      const response = await fetch(`${ui}/api/v1/events`, { signal: events.signal })
      refresh()
      void (async () => {
        let text = ''
        for await (const chunk of response.body!) {
          text += Buffer.from(chunk).toString()
          const cut = text.lastIndexOf('\n\n')
          if (cut === -1) continue
          for (const match of text.slice(0, cut).matchAll(/^event: new\ndata: (.*)$/gm)) {
            stored += (JSON.parse(match[1]!) as { IDs: string[] }).IDs.length
            refresh()
          }
          text = text.slice(cut + 2)
        }
      })().catch(() => {})
    }
    const cpuBefore = readCpuSeconds(child.pid!)
    const started = performance.now()
    const source = spawn(smtpSourcePath()!, ['-s', String(config.sessions), '-m', String(config.messages), '-l', String(config.bytes), '-M', 'client.example.test', '-f', 'app@example.test', '-t', 'user@example.test', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'inherit'] })
    const [code] = (await once(source, 'exit')) as [number | null]
    if (code !== 0) throw new Error(`smtp-source exited with ${String(code)}`)
    const seconds = (performance.now() - started) / 1000
    const cpuSeconds = readCpuSeconds(child.pid!) - cpuBefore
    if (mode === '--ui, page open') {
      // Every message was announced to the page before the run counts as done.
      for (let i = 0; i < 200 && stored < config.messages; i++) await new Promise((resolve) => setTimeout(resolve, 25))
      if (stored < config.messages) throw new Error(`the page heard of ${stored} of ${config.messages} messages`)
    }
    return { seconds, cpuSeconds, stored, refreshes }
  } finally {
    events.abort()
    await stopChild(child)
    rmSync(maildir, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  if (!smtpSourcePath()) throw new Error('smtp-source is not installed (Debian package postfix)')
  const build = await buildSmtpkit()
  try {
    const main = join(build.dir, 'cli', 'main.js')
    const totals = new Map<Mode, { seconds: number; cpuSeconds: number }>(MODES.map((m) => [m, { seconds: 0, cpuSeconds: 0 }]))
    console.log(`smtp-source -s ${config.sessions} -m ${config.messages} -l ${config.bytes}, ${config.rounds} rounds`)
    for (let round = 0; round < config.rounds; round++) {
      for (const mode of MODES) {
        const result = await run(main, mode)
        const total = totals.get(mode)!
        total.seconds += result.seconds
        total.cpuSeconds += result.cpuSeconds
        const page = mode === '--ui, page open' ? `, ${result.refreshes} list refreshes` : ''
        console.log(`round ${round + 1} ${mode}: ${(config.messages / result.seconds).toFixed(0)} msg/s, ${((result.cpuSeconds * 1000) / config.messages).toFixed(3)} CPU ms/msg${page}`)
      }
    }
    const base = totals.get('no UI')!
    const count = config.messages * config.rounds
    const rows = [['mode', '', 'msg/s', 'CPU ms/msg', 'msg/s vs no UI', 'CPU vs no UI']]
    for (const mode of MODES) {
      const t = totals.get(mode)!
      rows.push([mode, '', (count / t.seconds).toFixed(0), ((t.cpuSeconds * 1000) / count).toFixed(3), (base.seconds / t.seconds).toFixed(2) + 'x', (t.cpuSeconds / base.cpuSeconds).toFixed(2) + 'x'])
    }
    console.log()
    printTable(rows)
  } finally {
    build.remove()
  }
}

await main()
