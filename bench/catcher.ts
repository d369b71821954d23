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
//   BENCH_SCENARIOS ingest, index, or both (ingest,index)
//   BENCH_INDEX_MESSAGES  messages in the Maildir of the index scenario (10000)
//
// The index scenario starts `smtpkit serve --ui` on a Maildir already holding that many messages
// (quoted-printable text and HTML, a reset link in each) and times, from the spawn: the first page
// of the list (start to usable), a search for one message's link text in the bodies at once
// (first search) and again (second), and the same kinds of search once the index had a few
// seconds to itself, with the server's CPU for each.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
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
  scenarios: new Set((process.env.BENCH_SCENARIOS ?? 'ingest,index').split(',')),
  indexMessages: positiveInteger(undefined, 'BENCH_INDEX_MESSAGES', 10_000),
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

// A message as an application sends it: text and HTML, quoted-printable, a reset link in each.
function indexMessage(i: number): string {
  const link = `https://app.example.test/reset?token=3D${(i * 7919).toString(36)}x${i}`
  const text = `Hello user ${i},\r\n\r\nsomeone asked to reset your password. Open this link to choose a n=\r\new one:\r\n${link}\r\n\r\n${'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(8)}\r\n`
  const html = `<p>Hello user ${i},</p><p>someone asked to reset your password. <a href=3D"${link}">Choose a new=\r\n one</a>.</p><p>${'Lorem ipsum dolor sit amet. '.repeat(12)}</p>\r\n`
  return (
    `From: App <app@example.test>\r\nTo: user${i}@example.test\r\nSubject: Reset your password (${i})\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\nMessage-ID: <r${i}@example.test>\r\n` +
    `MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b${i}\r\n\r\n--b${i}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${text}` +
    `--b${i}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${html}--b${i}--\r\n`
  )
}

async function fillMaildir(root: string, count: number): Promise<void> {
  for (const sub of ['tmp', 'new', 'cur']) mkdirSync(join(root, sub), { recursive: true })
  for (let start = 0; start < count; start += 256) {
    const batch = Array.from({ length: Math.min(256, count - start) }, (_, k) => start + k)
    await Promise.all(batch.map((i) => writeFile(join(root, 'new', `${1_800_000_000 + i}.M0P1Q${i}R00.bench`), indexMessage(i))))
  }
}

async function indexScenario(main: string): Promise<void> {
  const count = config.indexMessages
  const maildir = mkdtempSync(join(tmpdir(), 'smtpkit-bench-index-'))
  try {
    await fillMaildir(maildir, count)
    const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF, `--cpu-prof-name=index-${Date.now()}.cpuprofile`] : []
    const started = performance.now()
    const child = spawnWithFileLimit(process.execPath, [...profile, main, 'serve', '--listen', '127.0.0.1:0', '--maildir', maildir, '--ui', '127.0.0.1:0'], ['ignore', 'pipe', 'inherit'])
    const nextLine = lineReader(child, 'smtpkit serve')
    try {
      let ui = ''
      while (ui === '') ui = /^web UI on (\S+)$/.exec(await nextLine())?.[1] ?? ''
      const rows = [['step', '', 'ms', 'server CPU ms', 'found']]
      const step = async (name: string, path: string): Promise<void> => {
        const cpu = name === 'start to usable' ? 0 : readCpuSeconds(child.pid!)
        const t0 = performance.now()
        const page = (await (await fetch(`${ui}${path}`)).json()) as { messages_count: number }
        const end = performance.now()
        rows.push([name, '', (name === 'start to usable' ? end - started : end - t0).toFixed(0), ((readCpuSeconds(child.pid!) - cpu) * 1000).toFixed(0), String(page.messages_count)])
      }
      const token = (i: number): string => `token=${(i * 7919).toString(36)}x${i}`
      await step('start to usable', '/api/v1/messages?limit=50')
      // The list stays responsive while the first search reads the bodies.
      const first = step('first search (body)', `/api/v1/search?query=${encodeURIComponent(token(4242))}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
      await step('list, during it', '/api/v1/messages?start=5000&limit=50')
      await first
      await step('second search (body)', `/api/v1/search?query=${encodeURIComponent(token(4243))}`)
      await step('a word in every message', '/api/v1/search?query=ipsum&limit=50')
      await new Promise((resolve) => setTimeout(resolve, 5000))
      await step('search after 5 s', `/api/v1/search?query=${encodeURIComponent(token(17))}`)
      console.log(`\nindex: smtpkit serve --ui over ${count} messages already in the Maildir`)
      printTable(rows)
    } finally {
      await stopChild(child)
    }
  } finally {
    rmSync(maildir, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  const build = await buildSmtpkit()
  try {
    const main = join(build.dir, 'cli', 'main.js')
    if (config.scenarios.has('ingest')) await ingestScenario(main)
    if (config.scenarios.has('index')) await indexScenario(main)
  } finally {
    build.remove()
  }
}

async function ingestScenario(main: string): Promise<void> {
  if (!smtpSourcePath()) throw new Error('smtp-source is not installed (Debian package postfix)')
  {
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
  }
}

await main()
