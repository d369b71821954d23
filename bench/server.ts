// Server benchmark: smtpkit's Server against nodemailer's smtp-server, go-smtp, aiosmtpd and
// Postfix's smtp-sink, each alone in a child process, loaded by Postfix's smtp-source over loopback.
//
//   bench/setup-peers.sh          (once, as root: Go with go-smtp, aiosmtpd, Postfix)
//   node --import tsx bench/server.ts
//
// Scenarios: small messages with a new connection each, small messages many per connection,
// 1 MB messages, and idle connections held open (memory per connection). For each server it
// prints messages/s, MB/s, the server's own CPU seconds per 1000 messages and per MB (from
// /proc/<pid>/stat) and its peak RSS (VmHWM), then smtpkit's ratios to the other two.
//
// Environment (all optional):
//   BENCH_SERVERS            smtpkit,smtp-server,go-smtp,aiosmtpd,smtp-sink,node-floor (node-floor:
//                            canned replies on a bare net.Server, the least a Node server can cost;
//                            go-smtp is built from bench/peers/go-smtp-server.go into a temporary
//                            directory; aiosmtpd runs bench/peers/aiosmtpd-server.py)
//   BENCH_SCENARIOS          new-connection,per-connection,1mb,idle
//   BENCH_SESSIONS           parallel smtp-source sessions for the small scenarios (20)
//   BENCH_SOURCES            smtp-source processes sharing those sessions and messages (2): one
//                            smtp-source tops out near 10k msgs/s on a core of its own, below what
//                            the fastest servers take; the generators' CPU is printed to show it
//   BENCH_SMALL_BYTES        payload of a small message (1000)
//   BENCH_NEW_CONN_MESSAGES  messages, one connection each (10000)
//   BENCH_PER_CONN_MESSAGES  messages over BENCH_SESSIONS kept connections (30000)
//   BENCH_BIG_BYTES          payload of a big message (1048576)
//   BENCH_BIG_MESSAGES       big messages (300), over BENCH_BIG_SESSIONS connections (4)
//   BENCH_IDLE_CONNECTIONS   idle connections (10000), each greeted and past EHLO, then silent
//   BENCH_IDLE_STAGE         ehlo (the default) or greeting: how far each idle connection goes
//   BENCH_SMTPKIT_SOURCE     'compiled' (tsc into a temporary directory, the default) or 'tsx'
//   BENCH_PROFILE            a directory: profile the node servers' CPU during each measured
//                            run, write <dir>/<server>-<scenario>.cpuprofile, print a summary
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { smtpSinkPath, smtpSourcePath, startSmtpSink } from '../test/helpers/peers.ts'
import { buildGoPeer } from './lib/build-go-peer.ts'
import { buildSmtpkit } from './lib/build-smtpkit.ts'
import { lineReader, spawnWithFileLimit, startServerChild, stopChild } from './lib/child-process.ts'
import { formatCpuProfileSummary } from './lib/cpu-profile-summary.ts'
import { readCpuTimes, readMemory, readMinorFaults, readReapedChildrenCpuSeconds } from './lib/proc-stats.ts'

type ServerKind = 'smtpkit' | 'smtp-server' | 'go-smtp' | 'aiosmtpd' | 'smtp-sink' | 'node-floor'
type ScenarioName = 'new-connection' | 'per-connection' | '1mb' | 'idle'

const root = fileURLToPath(new URL('../', import.meta.url))
const env = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got ${process.env[name]}`)
  return value
}
const list = <T extends string>(name: string, fallback: readonly T[]): T[] => (process.env[name]?.split(',').map((s) => s.trim()) as T[] | undefined) ?? [...fallback]

const config = {
  servers: list<ServerKind>('BENCH_SERVERS', ['smtpkit', 'smtp-server', 'go-smtp', 'aiosmtpd', 'smtp-sink', 'node-floor']),
  scenarios: list<ScenarioName>('BENCH_SCENARIOS', ['new-connection', 'per-connection', '1mb', 'idle']),
  sessions: env('BENCH_SESSIONS', 20),
  sources: env('BENCH_SOURCES', 2),
  smallBytes: env('BENCH_SMALL_BYTES', 1000),
  newConnectionMessages: env('BENCH_NEW_CONN_MESSAGES', 10_000),
  perConnectionMessages: env('BENCH_PER_CONN_MESSAGES', 30_000),
  bigBytes: env('BENCH_BIG_BYTES', 1 << 20),
  bigMessages: env('BENCH_BIG_MESSAGES', 300),
  bigSessions: env('BENCH_BIG_SESSIONS', 4),
  idleConnections: env('BENCH_IDLE_CONNECTIONS', 10_000),
  idleStage: process.env.BENCH_IDLE_STAGE ?? 'ehlo',
  smtpkitSource: process.env.BENCH_SMTPKIT_SOURCE ?? 'compiled',
  profileDir: process.env.BENCH_PROFILE ? resolve(process.env.BENCH_PROFILE) : undefined,
}

interface RunningServer {
  readonly kind: ServerKind
  readonly pid: number
  readonly port: number
  /** Node servers only: profiles the CPU between start() and stop(file). */
  readonly profiler?: { start(): Promise<void>; stop(file: string): Promise<void> }
  stop(): Promise<void>
}

// The go-smtp server binary, built once per run (see main).
let goSmtpBinary: string | undefined

async function startServer(kind: ServerKind): Promise<RunningServer> {
  if (kind === 'smtp-sink') {
    const sink = await startSmtpSink([], 4096)
    return { kind, pid: sink.child.pid!, port: sink.port, stop: () => sink.stop() }
  }
  if (kind === 'go-smtp' || kind === 'aiosmtpd') {
    const child =
      kind === 'go-smtp'
        ? spawnWithFileLimit(goSmtpBinary!, [], ['ignore', 'pipe', 'inherit'])
        : spawnWithFileLimit(PYTHON, [join(root, 'bench/peers/aiosmtpd-server.py')], ['ignore', 'pipe', 'inherit'])
    const { port } = JSON.parse(await lineReader(child, `${kind} server`)()) as { port: number }
    return { kind, pid: child.pid!, port, stop: () => stopChild(child) }
  }
  const { child, port, nextLine, stop } = await startServerChild(kind)
  const command = async (line: string, answer: string): Promise<void> => {
    child.stdin!.write(`${line}\n`)
    const got = await nextLine()
    if (got !== answer) throw new Error(`${kind} server answered ${JSON.stringify(got)} to ${line}`)
  }
  return {
    kind,
    pid: child.pid!,
    port,
    profiler: { start: () => command('profile-start', 'profiling'), stop: (file) => command(`profile-stop ${file}`, 'profiled') },
    stop,
  }
}

/** Runs smtp-source to completion; rejects with its stderr when it fails. */
async function smtpSource(port: number, options: { sessions: number; messages: number; bytes: number; keepConnection: boolean }): Promise<void> {
  const args = ['-s', String(options.sessions), '-m', String(options.messages), '-l', String(options.bytes), '-M', 'client.example.test', '-f', 'bench@client.example.test', '-t', 'sink@bench.example.test']
  if (options.keepConnection) args.push('-d')
  const child = spawn(smtpSourcePath()!, [...args, `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'], signal: AbortSignal.timeout(600_000) })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const [code] = (await once(child, 'exit')) as [number | null]
  if (code !== 0) throw new Error(`smtp-source ${args.join(' ')} exited with ${String(code)}: ${stderr.trim()}`)
}

/**
 * The load of a scenario from `sources` smtp-source processes at once, sessions and messages
 * shared out between them, so the generator is not what limits the fastest servers. Resolves
 * with the CPU seconds the generators used.
 */
async function smtpSources(port: number, options: { sources: number; sessions: number; messages: number; bytes: number; keepConnection: boolean }): Promise<number> {
  const sources = Math.max(1, Math.min(options.sources, options.sessions, options.messages))
  const before = readReapedChildrenCpuSeconds(process.pid)
  await Promise.all(
    Array.from({ length: sources }, (_, i) => {
      const share = (total: number): number => Math.floor(total / sources) + (i < total % sources ? 1 : 0)
      return smtpSource(port, { ...options, sessions: share(options.sessions), messages: share(options.messages) })
    }),
  )
  return readReapedChildrenCpuSeconds(process.pid) - before
}

interface LoadResult {
  kind: ServerKind
  seconds: number
  messages: number
  megabytes: number
  cpuSeconds: number
  /** The part of cpuSeconds spent in the kernel (socket calls), the same for any server. */
  systemSeconds: number
  /** Minor page faults of the server over the run (fresh memory touched: kernel time). */
  minorFaults: number
  /** CPU seconds of the smtp-source processes. */
  generatorCpuSeconds: number
  startRssBytes: number
  peakRssBytes: number
}

interface LoadScenario {
  name: ScenarioName
  title: string
  sessions: number
  messages: number
  bytes: number
  keepConnection: boolean
  sources: number
}

async function runLoad(kind: ServerKind, scenario: LoadScenario): Promise<LoadResult> {
  const server = await startServer(kind)
  try {
    const startRssBytes = readMemory(server.pid).rssBytes
    // Warm up (JIT, buffers) before measuring: with 2000 messages (or the whole load, when
    // smaller), as a tenth of a short run left the node servers' code not yet fully optimised.
    const warmup = Math.max(scenario.sessions, Math.min(2000, scenario.messages))
    await smtpSources(server.port, { ...scenario, messages: warmup })
    const profile = server.profiler && config.profileDir ? join(config.profileDir, `${kind}-${scenario.name}.cpuprofile`) : undefined
    if (profile) await server.profiler?.start()
    const cpuBefore = readCpuTimes(server.pid)
    const faultsBefore = readMinorFaults(server.pid)
    const started = performance.now()
    const generatorCpuSeconds = await smtpSources(server.port, scenario)
    const seconds = (performance.now() - started) / 1000
    const cpuAfter = readCpuTimes(server.pid)
    const minorFaults = readMinorFaults(server.pid) - faultsBefore
    const systemSeconds = cpuAfter.systemSeconds - cpuBefore.systemSeconds
    const cpuSeconds = cpuAfter.userSeconds - cpuBefore.userSeconds + systemSeconds
    if (profile) {
      await server.profiler?.stop(profile)
      console.log(`\n${kind} profile, ${scenario.title} (the measured run only; the profiler adds some overhead):\n${formatCpuProfileSummary(profile, 25)}`)
    }
    const { peakRssBytes } = readMemory(server.pid)
    return { kind, seconds, messages: scenario.messages, megabytes: (scenario.messages * scenario.bytes) / 1e6, cpuSeconds, systemSeconds, minorFaults, generatorCpuSeconds, startRssBytes, peakRssBytes }
  } finally {
    await server.stop()
  }
}

interface IdleResult {
  kind: ServerKind
  connected: number
  failed: number
  baseRssBytes: number
  rssBytes: number
}

async function runIdle(kind: ServerKind, count: number): Promise<IdleResult> {
  const server = await startServer(kind)
  const clients = spawnWithFileLimit(process.execPath, ['--import', 'tsx', join(root, 'bench/lib/idle-clients.ts'), '127.0.0.1', String(server.port), String(count), config.idleStage], ['pipe', 'pipe', 'inherit'])
  try {
    // One connection first, so lazily built state (TLS context, code paths) is in the baseline.
    await smtpSource(server.port, { sessions: 1, messages: 10, bytes: 100, keepConnection: true })
    const baseRssBytes = readMemory(server.pid).rssBytes
    const { connected, failed } = JSON.parse(await lineReader(clients, 'idle clients')()) as { connected: number; failed: number }
    const { rssBytes } = readMemory(server.pid)
    return { kind, connected, failed, baseRssBytes, rssBytes }
  } finally {
    clients.stdin!.end()
    await stopChild(clients)
    await server.stop()
  }
}

const mb = (bytes: number): string => (bytes / 1048576).toFixed(1)
const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined || b === 0 ? 'n/a' : `${(a / b).toFixed(2)}x`)

function printLoad(scenario: LoadScenario, results: LoadResult[]): void {
  console.log(`\n## ${scenario.title}`)
  const sources = Math.max(1, Math.min(scenario.sources, scenario.sessions, scenario.messages))
  console.log(`smtp-source -s ${scenario.sessions} -m ${scenario.messages} -l ${scenario.bytes}${scenario.keepConnection ? ' -d' : ''}, shared by ${sources} smtp-source processes`)
  // Start RSS: the idle process (the node ones carry tsx's loader), so peak minus start is growth.
  // Kernel: the part of the CPU spent in socket calls, about the same for every server.
  // Server CPU %: of one core over the run; near 100 the server is the limit (node is one thread),
  // well below it the generators (their CPU % of one core each, beside it) or the machine are.
  // Faults/msg: minor page faults per message, a page of fresh memory each (kernel time; with 1 MB
  // messages mostly socket reads landing in memory the allocator had just given back).
  console.log('server       msgs/s     MB/s  CPU s/1000 msgs  kernel  CPU s/MB  faults/msg  start RSS MB  peak RSS MB  wall s  CPU s  server CPU %  generator CPU %')
  for (const r of results) {
    console.log(
      `${r.kind.padEnd(11)} ${(r.messages / r.seconds).toFixed(0).padStart(7)} ${(r.megabytes / r.seconds).toFixed(1).padStart(8)} ` +
        `${((1000 * r.cpuSeconds) / r.messages).toFixed(3).padStart(16)} ${((1000 * r.systemSeconds) / r.messages).toFixed(3).padStart(7)} ` +
        `${(r.cpuSeconds / r.megabytes).toFixed(4).padStart(9)} ${(r.minorFaults / r.messages).toFixed(2).padStart(11)} ` +
        `${mb(r.startRssBytes).padStart(13)} ${mb(r.peakRssBytes).padStart(12)} ${r.seconds.toFixed(2).padStart(7)} ${r.cpuSeconds.toFixed(2).padStart(6)} ` +
        `${((100 * r.cpuSeconds) / r.seconds).toFixed(0).padStart(13)} ${((100 * r.generatorCpuSeconds) / r.seconds / sources).toFixed(0).padStart(16)}`,
    )
  }
  const ours = results.find((r) => r.kind === 'smtpkit')
  if (!ours) return
  for (const other of results.filter((r) => r.kind !== 'smtpkit')) {
    console.log(
      `smtpkit/${other.kind}: msgs/s (and MB/s) ${ratio(ours.messages / ours.seconds, other.messages / other.seconds)}, ` +
        `CPU per message (and per MB) ${ratio(ours.cpuSeconds / ours.messages, other.cpuSeconds / other.messages)}, ` +
        `peak RSS ${ratio(ours.peakRssBytes, other.peakRssBytes)}`,
    )
  }
  for (const target of TARGETS[scenario.name] ?? []) {
    const other = results.find((r) => r.kind === target.versus)
    if (!other) continue
    const got = target.measure === 'rate' ? ours.messages / ours.seconds / (other.messages / other.seconds) : ours.cpuSeconds / ours.messages / (other.cpuSeconds / other.messages)
    const met = target.measure === 'rate' ? got >= target.ratio : got <= target.ratio
    console.log(`target: ${target.text}: ${got.toFixed(2)}x, ${met ? 'met' : 'not met'}`)
  }
}

// The targets of the server engine's design (a benchmark's, never a timed test's): smtpkit's
// throughput at least, or CPU per message at most, `ratio` times another server's in the same run.
const TARGETS: Partial<Record<ScenarioName, { versus: ServerKind; measure: 'rate' | 'cpu'; ratio: number; text: string }[]>> = {
  'new-connection': [{ versus: 'node-floor', measure: 'rate', ratio: 0.8, text: 'msgs/s at least 0.8x node-floor' }],
  'per-connection': [
    { versus: 'node-floor', measure: 'cpu', ratio: 1.25, text: 'CPU per message at most 1.25x node-floor' },
    { versus: 'smtp-server', measure: 'rate', ratio: 1.5, text: 'msgs/s at least 1.5x smtp-server' },
  ],
  '1mb': [
    { versus: 'smtp-server', measure: 'rate', ratio: 1.5, text: 'MB/s at least 1.5x smtp-server' },
    { versus: 'smtp-server', measure: 'cpu', ratio: 1, text: 'CPU per MB at most smtp-server' },
  ],
}

// The idle target: at most this much RSS per idle connection.
const IDLE_TARGET_KB = 16

// Debian's python3 with python3-aiosmtpd, not whatever python3 comes first on PATH.
const PYTHON = '/usr/bin/python3'

async function main(): Promise<void> {
  if (!smtpSourcePath()) throw new Error('smtp-source is not installed (Debian package postfix)')
  if (config.servers.includes('smtp-sink') && !smtpSinkPath()) throw new Error('smtp-sink is not installed (Debian package postfix)')
  if (config.servers.includes('aiosmtpd') && spawnSync(PYTHON, ['-c', 'import aiosmtpd']).status !== 0) {
    throw new Error('aiosmtpd is not installed for /usr/bin/python3; run bench/setup-peers.sh (python3-aiosmtpd)')
  }
  const go = config.servers.includes('go-smtp') ? await buildGoPeer('go-smtp-server') : undefined
  goSmtpBinary = go?.binary
  if (config.profileDir) mkdirSync(config.profileDir, { recursive: true })
  if (config.smtpkitSource !== 'compiled' && config.smtpkitSource !== 'tsx') throw new RangeError(`BENCH_SMTPKIT_SOURCE must be compiled or tsx, got ${config.smtpkitSource}`)
  const build = config.smtpkitSource === 'compiled' && config.servers.includes('smtpkit') ? await buildSmtpkit() : undefined
  // The server children inherit it and load the compiled server instead of the TS source.
  if (build) process.env.BENCH_SMTPKIT_MODULE = join(build.dir, 'server', 'index.js')
  try {
    await runScenarios()
  } finally {
    build?.remove()
    go?.remove()
  }
}

async function runScenarios(): Promise<void> {
  console.log(`# SMTP server benchmark (node ${process.version}, smtpkit ${config.smtpkitSource}, servers: ${config.servers.join(', ')})`)
  const loads: LoadScenario[] = [
    { name: 'new-connection', title: `Small messages (${config.smallBytes} B), a new connection each`, sessions: config.sessions, messages: config.newConnectionMessages, bytes: config.smallBytes, keepConnection: false, sources: config.sources },
    { name: 'per-connection', title: `Small messages (${config.smallBytes} B), many per connection`, sessions: config.sessions, messages: config.perConnectionMessages, bytes: config.smallBytes, keepConnection: true, sources: config.sources },
    { name: '1mb', title: `Big messages (${config.bigBytes} B)`, sessions: config.bigSessions, messages: config.bigMessages, bytes: config.bigBytes, keepConnection: true, sources: config.sources },
  ]
  for (const scenario of loads.filter((s) => config.scenarios.includes(s.name))) {
    const results: LoadResult[] = []
    for (const kind of config.servers) {
      results.push(await runLoad(kind, scenario))
    }
    printLoad(scenario, results)
  }
  if (config.scenarios.includes('idle')) {
    console.log(`\n## ${config.idleConnections} idle connections (${config.idleStage === 'ehlo' ? 'greeted, EHLO answered' : 'greeted'}, then silent)`)
    console.log('server       connected  failed  base RSS MB  RSS MB  RSS per connection KB')
    // smtp-sink serves at most 256 sessions at once (the rest wait unanswered), so it is left out.
    for (const kind of config.servers.filter((k) => k !== 'smtp-sink')) {
      const r = await runIdle(kind, config.idleConnections)
      const perConnection = r.connected > 0 ? (r.rssBytes - r.baseRssBytes) / r.connected / 1024 : NaN
      console.log(`${kind.padEnd(11)} ${String(r.connected).padStart(10)} ${String(r.failed).padStart(7)} ${mb(r.baseRssBytes).padStart(12)} ${mb(r.rssBytes).padStart(7)} ${perConnection.toFixed(1).padStart(22)}`)
      if (kind === 'smtpkit') console.log(`target: at most ${IDLE_TARGET_KB} KB RSS per idle connection: ${perConnection <= IDLE_TARGET_KB ? 'met' : 'not met'}`)
    }
  }
}

await main()
