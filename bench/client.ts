// Client throughput, CPU and memory: smtpkit against nodemailer, Python's smtplib, go-smtp's
// client and a bare-Node floor client, all sending to Postfix's smtp-sink on loopback. Each
// library runs each scenario in its own child process, so CPU time and peak RSS belong to one
// library alone.
//
//   bench/setup-peers.sh (once, as root: Go with go-smtp, Postfix)
//   node --import tsx bench/client.ts [--n 5000] [--k 8] [--big-mb 50] [--big-count 3] [--stream-mb 1024]
//                                     [--only a,b,c,d,e,f,g] [--nodemailer-stream] [--built] [--repeat 1]
//                                     [--mb-count 50]
//
// Environment variables BENCH_N, BENCH_K, BENCH_BIG_MB, BENCH_BIG_COUNT, BENCH_STREAM_MB and
// BENCH_REPEAT (runs per library and scenario; the median of each figure is shown) set the same. Scenarios: (a) N small (~1 KB) messages one after another over one connection, (b) N over
// K connections (smtpkit Pool, nodemailer pool), (c) BIG_COUNT messages of BIG_MB each, streamed,
// (d) one STREAM_MB message from a generator (smtpkit; nodemailer too with --nodemailer-stream),
// (e) N 2 KB messages over one connection: smtpkit's Pool (chaining), Client.send one at a time,
// the step API (mail, rcpt, data) and sendMail (a connection per message), against nodemailer's
// reused SMTPConnection and pool, smtplib (bench/peers/smtplib-client.py), go-smtp
// (bench/peers/go-smtp-client.go) and the floor client (bench/lib/node-floor-client.ts, plain and
// chained), (f) N 2 KB messages over K connections against smtplib and go-smtp, (g) MB_COUNT
// 1 MB messages over one connection against go-smtp, smtplib and nodemailer's SMTPConnection.
// A peer that is missing is skipped, saying why.
// --built compiles src/ with tsc into a temporary directory first and runs smtpkit from there, as
// users run it, instead of through tsx.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { performance } from 'node:perf_hooks'
import { Readable } from 'node:stream'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type * as ClientModule from '../src/client/index.ts'
import { buildGoPeer } from './lib/build-go-peer.ts'
import { buildSmtpkit } from './lib/build-smtpkit.ts'
import { sendWithNodeFloor, sendWithNodeFloorConnecting } from './lib/node-floor-client.ts'
import { startServerChild } from './lib/child-process.ts'
import { readCpuSeconds } from './lib/proc-stats.ts'
import { positiveInteger, printTable, runChildJob } from './lib/child-job.ts'

type Library =
  | 'smtpkit'
  | 'smtpkit-client'
  | 'smtpkit-steps'
  | 'smtpkit-sendmail'
  | 'nodemailer'
  | 'nodemailer-conn'
  | 'nodemailer-pool'
  | 'nodemailer-transport'
  | 'smtplib'
  | 'go-smtp'
  | 'node-floor'
  | 'node-floor-chained'
  | 'node-floor-connect'
type Scenario = 'a' | 'b' | 'c' | 'd' | 'e' | 'f' | 'g'

interface Job {
  readonly library: Library
  readonly scenario: Scenario
  readonly host: string
  readonly port: number
  readonly messages: number
  readonly connections: number
  readonly messageBytes: number
  /** (e), (f), (g): every message is this file's content. */
  readonly messageFile: string
  /** Import smtpkit from this directory of compiled JavaScript instead of the TypeScript sources. */
  readonly builtDir: string | undefined
}

interface Measurement {
  readonly messages: number
  readonly bytes: number
  readonly seconds: number
  readonly cpuSeconds: number
  readonly maxRssBytes: number
  /** Node children only: the peers report their peak RSS alone. */
  readonly rssGrowthBytes?: number
  /** smtp-sink's CPU seconds during the run (parent only): near `seconds`, the sink was the limit. */
  readonly sinkCpuSeconds?: number
}

const FROM = 'bench@example.test'
const TO = 'sink@example.test'
const LINE = Buffer.from(`${'The quick brown fox jumps over the lazy dog. '.repeat(2).trimEnd()}\r\n`)

/** A ~1 KB message: a few headers and lines of text. */
function smallMessage(i: number): string {
  const body = LINE.toString('latin1').repeat(10)
  return `From: ${FROM}\r\nTo: ${TO}\r\nSubject: bench message ${i}\r\nMessage-ID: <${i}.bench@example.test>\r\n\r\n${body}`
}

/** A 2 KB message of CRLF lines, for (e) and (f): the same bytes for every library. */
function twoKbMessage(): string {
  const head = `From: ${FROM}\r\nTo: ${TO}\r\nSubject: bench message\r\nMessage-ID: <bench@example.test>\r\n\r\n`
  const lines = LINE.toString('latin1').repeat(Math.ceil(2048 / LINE.length))
  return head + lines.slice(0, 2048 - head.length - 2) + '\r\n'
}

/** A 1 MB message of CRLF lines, for (g). */
function megabyteMessage(): string {
  const head = `From: ${FROM}\r\nTo: ${TO}\r\nSubject: bench message\r\nMessage-ID: <bench-1mb@example.test>\r\n\r\n`
  const lines = LINE.toString('latin1').repeat(Math.ceil((1 << 20) / LINE.length))
  return head + lines.slice(0, (1 << 20) - head.length - 2) + '\r\n'
}

/** `bytes` of message from a generator, in 64 KiB chunks of whole lines; nothing is kept. */
async function* bigMessage(bytes: number): AsyncGenerator<Buffer> {
  const chunk = Buffer.concat(Array.from({ length: Math.floor((64 * 1024) / LINE.length) }, () => LINE))
  yield Buffer.from(`From: ${FROM}\r\nTo: ${TO}\r\nSubject: big\r\n\r\n`)
  for (let sent = 0; sent < bytes; sent += chunk.length) yield sent + chunk.length <= bytes ? chunk : chunk.subarray(0, bytes - sent)
}

// ---------------------------------------------------------------------------------------------
// Child: run one job and print one JSON line.

async function runSmtpkit(job: Job): Promise<number> {
  // tsx compiles with esbuild's keepNames, which wraps every closure the hot path creates in a
  // __name() call; tsc's output is what users run.
  const { Client, Pool } = (job.builtDir ? await import(pathToFileURL(join(job.builtDir, 'client', 'index.js')).href) : await import('../src/client/index.ts')) as typeof ClientModule
  const { sendMail } = (job.builtDir ? await import(pathToFileURL(join(job.builtDir, 'client', 'index.js')).href) : await import('../src/client/index.ts')) as typeof ClientModule
  const options = { host: job.host, port: job.port, tls: 'none' as const, localName: 'bench.example.test' }
  const fixed = job.scenario === 'e' || job.scenario === 'f' || job.scenario === 'g' ? readFileSync(job.messageFile, 'latin1') : undefined
  const messageAt = (i: number): string => fixed ?? smallMessage(i)
  if (job.library === 'smtpkit-sendmail') {
    for (let i = 0; i < 20; i++) await sendMail(options, { from: FROM, to: TO, message: messageAt(i) })
    return measure(job, async () => {
      for (let i = 0; i < job.messages; i++) await sendMail(options, { from: FROM, to: TO, message: messageAt(i) })
    })
  }
  if (job.library === 'smtpkit-steps') {
    const client = await Client.connect(options)
    return measure(job, async () => {
      for (let i = 0; i < job.messages; i++) {
        void client.mail(FROM)
        void client.rcpt(TO)
        await client.data(messageAt(i))
      }
      await client.quit()
    })
  }
  // Pool: (b), (f) over K connections; (e), (g) over one, so it chains.
  if (job.library === 'smtpkit' && job.scenario !== 'a' && job.scenario !== 'c' && job.scenario !== 'd') {
    const connections = job.scenario === 'e' || job.scenario === 'g' ? 1 : job.connections
    const pool = new Pool(options, { maxConnections: connections, maxMessagesPerConnection: job.messages + 1 })
    // Warmed up as much as the one-connection client below (200 messages), so JIT compilation of
    // the pool's path is not measured as its cost.
    const warm = job.scenario === 'g' ? 2 : 200
    for (let sent = 0; sent < warm; sent += connections * 4) {
      await Promise.all(Array.from({ length: connections * 4 }, (_, i) => pool.send({ from: FROM, to: TO, message: messageAt(sent + i) })))
    }
    return measure(job, async () => {
      await Promise.all(Array.from({ length: job.messages }, (_, i) => pool.send({ from: FROM, to: TO, message: messageAt(i) })))
      await pool.close()
    })
  }
  const client = await Client.connect(options)
  const small = job.scenario === 'a' || job.scenario === 'e' || job.scenario === 'g'
  if (small) for (let i = 0; i < (job.scenario === 'g' ? 2 : 200); i++) await client.send({ from: FROM, to: TO, message: messageAt(i) })
  return measure(job, async () => {
    for (let i = 0; i < job.messages; i++) {
      const message = small ? messageAt(i) : bigMessage(job.messageBytes)
      await client.send({ from: FROM, to: TO, message })
    }
    await client.quit()
  })
}

/** (e), (g): nodemailer's SMTPConnection reused for every message, or its pooled transport on one connection. */
async function runNodemailerFixed(job: Job): Promise<number> {
  const message = readFileSync(job.messageFile)
  const warm = job.scenario === 'g' ? 2 : 200
  if (job.library === 'nodemailer-transport') {
    // Without its pool, nodemailer's transport opens a connection per message, as sendMail does.
    const { default: nodemailer } = await import('nodemailer')
    const transport = nodemailer.createTransport({ host: job.host, port: job.port, secure: false, ignoreTLS: true, name: 'bench.example.test' })
    const send = () => transport.sendMail({ envelope: { from: FROM, to: [TO] }, raw: message })
    for (let i = 0; i < 20; i++) await send()
    return measure(job, async () => {
      for (let i = 0; i < job.messages; i++) await send()
    })
  }
  if (job.library === 'nodemailer-pool') {
    const { default: nodemailer } = await import('nodemailer')
    const transport = nodemailer.createTransport({ host: job.host, port: job.port, secure: false, ignoreTLS: true, pool: true, maxConnections: 1, maxMessages: Number.POSITIVE_INFINITY })
    const send = () => transport.sendMail({ envelope: { from: FROM, to: [TO] }, raw: message })
    for (let i = 0; i < warm; i++) await send()
    return measure(job, async () => {
      await Promise.all(Array.from({ length: job.messages }, () => send()))
      transport.close()
    })
  }
  const { default: SMTPConnection } = await import('nodemailer/lib/smtp-connection')
  const connection = new SMTPConnection({ host: job.host, port: job.port, secure: false, ignoreTLS: true, name: 'bench.example.test' })
  await new Promise<void>((resolve, reject) => {
    connection.once('error', reject)
    connection.connect(() => resolve())
  })
  const send = () => new Promise<void>((resolve, reject) => connection.send({ from: FROM, to: [TO] }, message, (err) => (err ? reject(err) : resolve())))
  for (let i = 0; i < warm; i++) await send()
  return measure(job, async () => {
    for (let i = 0; i < job.messages; i++) await send()
    connection.quit()
  })
}

async function runNodemailer(job: Job): Promise<number> {
  const { default: nodemailer } = await import('nodemailer')
  const transport = nodemailer.createTransport({
    host: job.host,
    port: job.port,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: job.scenario === 'b' ? job.connections : 1,
    maxMessages: Number.POSITIVE_INFINITY,
  })
  const send = (message: string | Readable) => transport.sendMail({ envelope: { from: FROM, to: [TO] }, raw: message })
  if (job.scenario === 'a') for (let i = 0; i < 200; i++) await send(smallMessage(i))
  if (job.scenario === 'b') await Promise.all(Array.from({ length: Math.min(job.connections * 4, 200) }, (_, i) => send(smallMessage(i))))
  return measure(job, async () => {
    if (job.scenario === 'b') {
      await Promise.all(Array.from({ length: job.messages }, (_, i) => send(smallMessage(i))))
    } else {
      for (let i = 0; i < job.messages; i++) {
        await send(job.scenario === 'a' ? smallMessage(i) : Readable.from(bigMessage(job.messageBytes), { objectMode: false }))
      }
    }
    transport.close()
  })
}

async function runNodeFloor(job: Job): Promise<number> {
  const message = readFileSync(job.messageFile, 'latin1')
  if (job.library === 'node-floor-connect') {
    await sendWithNodeFloorConnecting(job.host, job.port, 20, message)
    return measure(job, () => sendWithNodeFloorConnecting(job.host, job.port, job.messages, message))
  }
  const chained = job.library === 'node-floor-chained'
  await sendWithNodeFloor(job.host, job.port, 200, message, chained)
  return measure(job, () => sendWithNodeFloor(job.host, job.port, job.messages, message, chained))
}

/** Runs a peer (`command args... HOST PORT N C MESSAGE_FILE`) and reads the JSON line it prints. */
async function runPeer(command: string, args: string[], job: Job): Promise<Measurement> {
  const child = spawn(command, [...args, job.host, String(job.port), String(job.messages), String(job.connections), job.messageFile], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  const [code] = (await once(child, 'close')) as [number | null]
  const line = out.trim().split('\n').at(-1)
  if (code !== 0 || !line) throw new Error(`${job.library} scenario ${job.scenario} failed (exit ${String(code)}): ${out}`)
  return JSON.parse(line) as Measurement
}

async function measure(job: Job, work: () => Promise<void>): Promise<number> {
  global.gc?.()
  const rssBefore = process.memoryUsage.rss()
  let rssPeak = rssBefore
  const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, process.memoryUsage.rss()) }, 10)
  const cpu = process.cpuUsage()
  const started = performance.now()
  await work()
  const seconds = (performance.now() - started) / 1000
  const used = process.cpuUsage(cpu)
  clearInterval(sampler)
  rssPeak = Math.max(rssPeak, process.memoryUsage.rss())
  const result: Measurement = {
    messages: job.messages,
    bytes: job.scenario !== 'c' && job.scenario !== 'd' && job.scenario !== 'g' ? 0 : job.messages * job.messageBytes,
    seconds,
    cpuSeconds: (used.user + used.system) / 1e6,
    // maxRSS is in kilobytes (getrusage(2)).
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    rssGrowthBytes: rssPeak - rssBefore,
  }
  process.stdout.write(`${JSON.stringify(result)}\n`)
  return 0
}

// ---------------------------------------------------------------------------------------------
// Parent: start the sink, run each job in a child, print the table.

const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '-')
const mb = (bytes: number): string => fmt(bytes / (1 << 20))

const script = fileURLToPath(import.meta.url)

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'child': { type: 'string' },
      'n': { type: 'string' },
      'k': { type: 'string' },
      'big-mb': { type: 'string' },
      'big-count': { type: 'string' },
      'stream-mb': { type: 'string' },
      'only': { type: 'string' },
      'nodemailer-stream': { type: 'boolean' },
      'built': { type: 'boolean' },
      'repeat': { type: 'string' },
      'mb-count': { type: 'string' },
    },
  })
  if (values.child) {
    const job = JSON.parse(values.child) as Job
    process.exitCode = job.library.startsWith('smtpkit')
      ? await runSmtpkit(job)
      : job.library === 'nodemailer' ? await runNodemailer(job)
      : job.library.startsWith('nodemailer-') ? await runNodemailerFixed(job)
      : await runNodeFloor(job)
    return
  }
  const n = positiveInteger(values.n, 'BENCH_N', 5000)
  const k = positiveInteger(values.k, 'BENCH_K', 8)
  const bigMb = positiveInteger(values['big-mb'], 'BENCH_BIG_MB', 50)
  const bigCount = positiveInteger(values['big-count'], 'BENCH_BIG_COUNT', 3)
  const streamMb = positiveInteger(values['stream-mb'], 'BENCH_STREAM_MB', 1024)
  const mbCount = positiveInteger(values['mb-count'], 'BENCH_MB_COUNT', 50)
  const only = new Set((values.only ?? 'a,b,c,d,e,f,g').split(','))
  const repeat = positiveInteger(values.repeat, 'BENCH_REPEAT', 1)

  const { startSmtpSink, smtpSinkPath, smtpSourcePath } = await import('../test/helpers/peers.ts')
  if (!smtpSinkPath()) {
    console.error('smtp-sink is not installed (Debian package postfix); nothing to benchmark against')
    process.exitCode = 1
    return
  }
  const build = values.built === true ? await buildSmtpkit() : undefined
  const builtDir = build?.dir
  // -m: smtp-sink's connection limit; -t: its command timeout, so a slow run is not cut off.
  const sink = await startSmtpSink(['-m', '64', '-t', '600'], 512).catch((err: unknown) => {
    build?.remove()
    throw err
  })
  type Target = { host: string; port: number; pid: number }
  const messageFile = join(tmpdir(), `smtpkit-bench-client-${process.pid}.eml`)
  writeFileSync(messageFile, twoKbMessage(), 'latin1')
  const megabyteFile = join(tmpdir(), `smtpkit-bench-client-${process.pid}-1mb.eml`)
  if (only.has('g')) writeFileSync(megabyteFile, megabyteMessage(), 'latin1')
  // The peers (e, f) run as their own programs; one that is missing is skipped with its reason.
  const peers = new Map<Library, { command: string; args: string[] }>()
  const skipped: string[] = []
  const go = only.has('e') || only.has('f') || only.has('g') ? await buildGoPeer('go-smtp-client').catch((err: unknown) => { skipped.push(`go-smtp: ${(err as Error).message}`) }) : undefined
  if (go) peers.set('go-smtp', { command: go.binary, args: [] })
  // Debian's python3, not whatever python3 comes first on PATH.
  if (existsSync('/usr/bin/python3')) peers.set('smtplib', { command: '/usr/bin/python3', args: [join(dirname(script), 'peers', 'smtplib-client.py')] })
  else skipped.push('smtplib: /usr/bin/python3 is not installed (Debian package python3)')
  const scenarios: { id: Scenario; title: string; messages: number; bytes: number; libraries: Library[]; toFloor?: boolean }[] = [
    { id: 'a', title: `(a) ${n} × 1 KB, 1 connection`, messages: n, bytes: 0, libraries: ['smtpkit', 'nodemailer'] },
    { id: 'b', title: `(b) ${n} × 1 KB, ${k} connections`, messages: n, bytes: 0, libraries: ['smtpkit', 'nodemailer'] },
    { id: 'c', title: `(c) ${bigCount} × ${bigMb} MB`, messages: bigCount, bytes: bigMb << 20, libraries: ['smtpkit', 'nodemailer'] },
    // smtp-sink caps (c) (see its busy %), so (c) runs again to a sink that does not.
    { id: 'c', title: `(c) ${bigCount} × ${bigMb} MB to node-floor`, messages: bigCount, bytes: bigMb << 20, libraries: ['smtpkit', 'nodemailer'], toFloor: true },
    { id: 'd', title: `(d) 1 × ${streamMb} MB stream`, messages: 1, bytes: streamMb << 20, libraries: values['nodemailer-stream'] ? ['smtpkit', 'nodemailer'] : ['smtpkit'] },
    {
      id: 'e', title: `(e) ${n} × 2 KB, 1 connection`, messages: n, bytes: 0,
      libraries: ['smtpkit', 'smtpkit-client', 'smtpkit-steps', 'smtpkit-sendmail', 'nodemailer-conn', 'nodemailer-pool', 'nodemailer-transport', 'smtplib', 'go-smtp', 'node-floor', 'node-floor-chained', 'node-floor-connect'],
    },
    { id: 'f', title: `(f) ${n} × 2 KB, ${k} connections`, messages: n, bytes: 0, libraries: ['smtpkit', 'smtplib', 'go-smtp'] },
    { id: 'g', title: `(g) ${mbCount} × 1 MB, 1 connection`, messages: mbCount, bytes: 1 << 20, libraries: ['smtpkit', 'nodemailer-conn', 'smtplib', 'go-smtp'] },
  ]
  let ceiling: number | undefined
  let floor: { port: number; pid: number; stop(): Promise<void> } | undefined
  const rows: string[][] = [['scenario', 'library', 'msg/s', 'MB/s', 'CPU s/1000 msg', 'CPU s/GB', 'peak RSS MB', 'RSS growth MB', 'wall s', 'sink busy %']]
  const ratios: string[][] = [['scenario', 'smtpkit ÷', 'msg/s', 'CPU/msg', 'peak RSS']]
  try {
    for (const scenario of scenarios.filter((s) => only.has(s.id))) {
      if (scenario.toFloor) floor ??= await startServerChild('node-floor')
      const target: Target = scenario.toFloor ? { host: '127.0.0.1', port: floor!.port, pid: floor!.pid } : { host: sink.host, port: sink.port, pid: sink.child.pid! }
      const results = new Map<Library, Measurement>()
      // Runs alternate between the libraries, so a burst of load elsewhere hits both alike.
      const libraries = scenario.libraries.filter((library) => library !== 'smtplib' && library !== 'go-smtp' || peers.has(library))
      const runs = new Map<Library, Measurement[]>(libraries.map((library) => [library, []]))
      for (let r = 0; r < repeat; r++) {
        for (const library of libraries) {
          const sinkCpuBefore = readCpuSeconds(target.pid)
          const file = scenario.id === 'g' ? megabyteFile : messageFile
          const job: Job = { library, scenario: scenario.id, host: target.host, port: target.port, messages: scenario.messages, connections: k, messageBytes: scenario.bytes, messageFile: file, builtDir }
          const peer = peers.get(library)
          // The peers report no byte count; (g) sends the file's size per message.
          const m = peer ? { ...(await runPeer(peer.command, peer.args, job)), bytes: scenario.messages * scenario.bytes } : await runChildJob<Measurement, Job>(script, job)
          runs.get(library)!.push({ ...m, sinkCpuSeconds: readCpuSeconds(target.pid) - sinkCpuBefore })
        }
      }
      for (const library of libraries) {
        const m = median(runs.get(library)!)
        results.set(library, m)
        const gb = m.bytes / (1 << 30)
        rows.push([
          scenario.title, library, fmt(m.messages / m.seconds, 0), m.bytes ? fmt(m.bytes / (1 << 20) / m.seconds, 0) : '-',
          fmt((m.cpuSeconds / m.messages) * 1000, 3), m.bytes ? fmt(m.cpuSeconds / gb, 2) : '-', mb(m.maxRssBytes), mb(m.rssGrowthBytes ?? NaN), fmt(m.seconds, 2),
          fmt((100 * (m.sinkCpuSeconds ?? NaN)) / m.seconds, 0),
        ])
        console.error(`done: ${scenario.title} ${library}`)
      }
      const ours = results.get('smtpkit')
      for (const [library, theirs] of results) {
        if (!ours || library === 'smtpkit') continue
        ratios.push([
          scenario.title,
          library,
          fmt((ours.messages / ours.seconds) / (theirs.messages / theirs.seconds), 2),
          fmt((ours.cpuSeconds / ours.messages) / (theirs.cpuSeconds / theirs.messages), 2),
          fmt(ours.maxRssBytes / theirs.maxRssBytes, 2),
        ])
      }
    }
    // Big messages can only go as fast as smtp-sink reads them: Postfix's own smtp-source on the
    // same sink shows that ceiling, so a (c) ratio near 1 with both libraries at it is the sink's.
    const source = smtpSourcePath()
    if (only.has('c') && source) ceiling = await sinkCeiling(source, sink, bigCount, bigMb)
  } finally {
    await sink.stop()
    await floor?.stop()
    build?.remove()
    go?.remove()
    rmSync(messageFile, { force: true })
    rmSync(megabyteFile, { force: true })
  }
  printTable(rows)
  console.log('')
  printTable(ratios)
  if (ceiling !== undefined) console.log(`\n(c) smtp-sink's ceiling: Postfix's smtp-source sends ${bigCount} × ${bigMb} MB to it at ${fmt(ceiling, 0)} MB/s.`)
  console.log("sink busy %: the sink's CPU time over the run's wall time; near 100, the sink (one process) set the pace.")
  for (const reason of skipped) console.log(`skipped ${reason}`)
  console.log('node-floor, node-floor-chained (e): a canned-command client (bench/lib/node-floor-client.ts); chained sends the next MAIL/RCPT/DATA behind each final dot; node-floor-connect opens a connection per message, as sendMail does.')
  console.log('node-floor: a canned-reply sink on a bare net.Server (bench/lib/node-floor-server.ts), far faster than smtp-sink.')
  console.log('smtpkit rows: smtpkit is the Pool ((e), (g): one connection, chaining); smtpkit-client is Client.send one message at a time; smtpkit-steps is mail(), rcpt(), data(); smtpkit-sendmail is sendMail, a connection per message.')
  console.log('nodemailer-conn is its SMTPConnection reused for every message; nodemailer-pool its pooled transport on one connection; nodemailer-transport its transport without the pool, a connection per message (the peer of sendMail).')
  console.log('\nTargets: Pool CPU/msg ≤ 2× node-floor-chained and ≤ smtplib; (e) msg/s ≥ 1.5× go-smtp; (f) msg/s ≥ go-smtp; sendMail ≤ 0.5 ms CPU/msg and ≤ ½ nodemailer-transport; (g) MB/s ≥ go-smtp; peak RSS ≤ 60 MB for small messages; (d) RSS growth < 64 MB.')
}

/** MB/s of Postfix's smtp-source sending `count` messages of `megabytes` MB over one connection. */
async function sinkCeiling(source: string, sink: { host: string; port: number }, count: number, megabytes: number): Promise<number> {
  const started = performance.now()
  const child = spawn(source, ['-s', '1', '-m', String(count), '-l', String(megabytes << 20), '-d', `${sink.host}:${sink.port}`], { stdio: 'ignore' })
  const [code] = (await once(child, 'exit')) as [number | null]
  if (code !== 0) throw new Error(`smtp-source exited with ${code}`)
  return (count * megabytes) / ((performance.now() - started) / 1000)
}

/** Each figure's median over the runs (runs alternate with nothing else, so noise is per run). */
function median(runs: readonly Measurement[]): Measurement {
  const mid = <K extends keyof Measurement>(key: K): number => {
    const sorted = runs.map((r) => r[key] ?? NaN).sort((a, b) => a - b)
    return sorted[Math.floor(sorted.length / 2)]!
  }
  return { messages: mid('messages'), bytes: mid('bytes'), seconds: mid('seconds'), cpuSeconds: mid('cpuSeconds'), maxRssBytes: mid('maxRssBytes'), rssGrowthBytes: mid('rssGrowthBytes'), sinkCpuSeconds: mid('sinkCpuSeconds') }
}

await main()
