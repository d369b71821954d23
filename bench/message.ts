// Composing and DKIM-signing: smtpkit against nodemailer (MailComposer, nodemailer/lib/dkim) on the
// same inputs, writing to nowhere; parsing: smtpkit against mailparser and postal-mime. Each
// library runs each scenario in its own child process, so CPU time and peak RSS belong to one
// library alone.
//
//   node --import tsx bench/message.ts [--n 20000] [--big-mb 50] [--big-count 2] [--giant-mb 1024] [--runs 1] [--only a,b,c,d,e,f,g] [--built]
//
// Environment variables BENCH_N, BENCH_BIG_MB, BENCH_BIG_COUNT, BENCH_RUNS set the same;
// BENCH_CPU_PROF=<dir> writes a V8 CPU profile of each child there. With --runs R each child runs
// R times, alternating libraries, and each figure is taken from its best run (least wall time,
// least CPU time, highest peak RSS): on a shared machine wall time is noisy. Scenarios:
//   (a) compose the small text+HTML message (bench/lib/message-inputs.ts) N times and read it out;
//   (b) the same, DKIM-signed (rsa-sha256, relaxed/relaxed, 2048-bit key);
//   (c) compose a message with a BIG_MB attachment, read by path from a file in os.tmpdir();
//   (d) the same, DKIM-signed. nodemailer's signer is given `cacheDir: os.tmpdir()`, its documented
//       setting for large messages: without it, it holds the whole message in memory;
//   (e), (f), (g): parsing, see bench/lib/parse-jobs.ts (small message; BIG_MB attachment; a
//       GIANT_MB attachment streamed through parseParts, smtpkit only). BENCH_GIANT_MB sets --giant-mb.
// --built compiles src/ with tsc into a temporary directory first and runs smtpkit from there, as
// users run it, instead of through tsx.
import { tmpdir } from 'node:os'
import { performance } from 'node:perf_hooks'
import type { Readable } from 'node:stream'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type * as DkimModule from '../src/dkim/index.ts'
import type * as MessageModule from '../src/message/index.ts'
import { benchAttachmentFile, benchDkimKey, DKIM_DOMAIN, DKIM_SELECTOR, smallMail } from './lib/message-inputs.ts'
import { buildSmtpkit } from './lib/build-smtpkit.ts'
import { positiveInteger, printTable, runChildJob } from './lib/child-job.ts'
import { bigMessageFile, generatedAttachmentBytes, parser, smallMessageBytes, type ParseLibrary } from './lib/parse-jobs.ts'

type Library = 'smtpkit' | 'nodemailer' | 'mailparser' | 'postal-mime'
type Scenario = 'a' | 'b' | 'c' | 'd' | 'e' | 'f' | 'g'
const PARSE_SCENARIOS: ReadonlySet<Scenario> = new Set(['e', 'f', 'g'])

interface Job {
  readonly library: Library
  readonly scenario: Scenario
  readonly messages: number
  /** Attachment size for (c) and (d), 0 otherwise. */
  readonly attachmentBytes: number
  readonly attachmentPath: string
  /** For (f): the message file to parse. */
  readonly messagePath?: string | undefined
  /** For (g): the size of the generated attachment. */
  readonly giantBytes?: number | undefined
  /** Import smtpkit from this directory of compiled JavaScript instead of the TypeScript sources. */
  readonly builtDir?: string | undefined
}

interface Measurement {
  readonly messages: number
  /** Bytes written out (the composed or signed messages). */
  readonly outputBytes: number
  readonly seconds: number
  readonly cpuSeconds: number
  readonly maxRssBytes: number
  /** RSS when the timed part started, after imports and warm-up. */
  readonly startRssBytes: number
}

/** Builds one message and returns its bytes as a stream; the caller reads it to the end. */
type Produce = () => AsyncIterable<Uint8Array>

// ---------------------------------------------------------------------------------------------
// Child: run one job and print one JSON line.

function mailFor(job: Job): ReturnType<typeof smallMail> & { attachments?: { filename: string; path: string }[] } {
  const mail = smallMail()
  return job.attachmentBytes > 0 ? { ...mail, attachments: [{ filename: 'big.bin', path: job.attachmentPath }] } : mail
}

async function smtpkitProducer(job: Job): Promise<Produce> {
  const built = (path: string): string => pathToFileURL(join(job.builtDir!, path)).href
  const { compose } = (job.builtDir ? await import(built('message/index.js')) : await import('../src/message/index.ts')) as typeof MessageModule
  const { dkimSign } = (job.builtDir ? await import(built('dkim/index.js')) : await import('../src/dkim/index.ts')) as typeof DkimModule
  const mail = mailFor(job)
  if (job.scenario === 'a' || job.scenario === 'c') return () => compose(mail).stream()
  const signature = { domain: DKIM_DOMAIN, selector: DKIM_SELECTOR, privateKey: benchDkimKey() }
  return () => dkimSign(compose(mail), signature).stream()
}

async function nodemailerProducer(job: Job): Promise<Produce> {
  const { default: MailComposer } = await import('nodemailer/lib/mail-composer')
  const { default: DKIM } = await import('nodemailer/lib/dkim')
  const mail = mailFor(job)
  const compose = (): Readable => new MailComposer(mail).compile().createReadStream()
  if (job.scenario === 'a' || job.scenario === 'c') return compose
  const dkim = new DKIM({
    domainName: DKIM_DOMAIN,
    keySelector: DKIM_SELECTOR,
    privateKey: benchDkimKey(),
    ...(job.scenario === 'd' ? { cacheDir: tmpdir() } : {}),
  } as ConstructorParameters<typeof DKIM>[0])
  return () => dkim.sign(compose())
}

async function drain(source: AsyncIterable<Uint8Array>): Promise<number> {
  let bytes = 0
  for await (const chunk of source) bytes += chunk.length
  return bytes
}

async function parseProducer(job: Job): Promise<Produce> {
  const scenario = job.scenario as 'e' | 'f' | 'g'
  const parse = await parser(job.library as ParseLibrary, scenario, { bytes: scenario === 'e' ? await smallMessageBytes() : undefined, path: job.messagePath, giantBytes: job.giantBytes }, job.builtDir)
  // The measuring loop drains what a producer yields; a parse yields one empty chunk per message
  // and counts the bytes it read as output.
  return () =>
    (async function* () {
      const bytes = await parse()
      yield new Uint8Array(bytes)
    })()
}

async function runChild(job: Job): Promise<void> {
  const produce = PARSE_SCENARIOS.has(job.scenario) ? await parseProducer(job) : job.library === 'smtpkit' ? await smtpkitProducer(job) : await nodemailerProducer(job)
  // Warm-up, untimed: lets the JIT settle (the small scenarios) and opens the file once (the big ones).
  const warmUp = job.scenario === 'g' ? 0 : job.attachmentBytes > 0 ? 1 : Math.min(1000, Math.ceil(job.messages / 10))
  for (let i = 0; i < warmUp; i++) await drain(produce())
  globalThis.gc?.()
  const startRssBytes = process.memoryUsage.rss()
  const cpu = process.cpuUsage()
  const started = performance.now()
  let outputBytes = 0
  for (let i = 0; i < job.messages; i++) outputBytes += await drain(produce())
  const seconds = (performance.now() - started) / 1000
  const used = process.cpuUsage(cpu)
  const result: Measurement = {
    messages: job.messages,
    outputBytes,
    seconds,
    cpuSeconds: (used.user + used.system) / 1e6,
    // maxRSS is in kilobytes (getrusage(2)).
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    startRssBytes,
  }
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

// ---------------------------------------------------------------------------------------------
// Parent: run each job in a child, print the table.

const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '-')
const mib = (bytes: number): string => fmt(bytes / (1 << 20))

const script = fileURLToPath(import.meta.url)

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'child': { type: 'string' },
      'n': { type: 'string' },
      'big-mb': { type: 'string' },
      'big-count': { type: 'string' },
      'giant-mb': { type: 'string' },
      'runs': { type: 'string' },
      'only': { type: 'string' },
      'built': { type: 'boolean' },
    },
  })
  if (values.child) {
    await runChild(JSON.parse(values.child) as Job)
    return
  }
  const n = positiveInteger(values.n, 'BENCH_N', 20_000)
  const bigMb = positiveInteger(values['big-mb'], 'BENCH_BIG_MB', 50)
  const bigCount = positiveInteger(values['big-count'], 'BENCH_BIG_COUNT', 2)
  const giantMb = positiveInteger(values['giant-mb'], 'BENCH_GIANT_MB', 1024)
  const runs = positiveInteger(values.runs, 'BENCH_RUNS', 1)
  const only = new Set((values.only ?? 'a,b,c,d,e,f,g').split(','))
  const build = values.built === true ? await buildSmtpkit() : undefined
  // The compiled copy goes when the process does, however the run ends.
  if (build) process.once('exit', () => build.remove())
  const builtDir = build?.dir
  const attachmentBytes = bigMb << 20
  const attachmentPath = ['c', 'd', 'f'].some((id) => only.has(id)) ? benchAttachmentFile(attachmentBytes) : ''
  const messagePath = only.has('f') ? await bigMessageFile(attachmentPath, attachmentBytes) : undefined
  const giantBytes = generatedAttachmentBytes(giantMb << 20)
  benchDkimKey()

  const composers = ['smtpkit', 'nodemailer'] as const
  const parsers = ['smtpkit', 'mailparser', 'postal-mime'] as const
  const scenarios: { id: Scenario; title: string; messages: number; attachmentBytes: number; libraries: readonly Library[] }[] = [
    { id: 'a', title: `(a) compose ${n} × small`, messages: n, attachmentBytes: 0, libraries: composers },
    { id: 'b', title: `(b) compose+sign ${n} × small`, messages: n, attachmentBytes: 0, libraries: composers },
    { id: 'c', title: `(c) compose ${bigCount} × ${bigMb} MB att.`, messages: bigCount, attachmentBytes, libraries: composers },
    { id: 'd', title: `(d) compose+sign ${bigCount} × ${bigMb} MB att.`, messages: bigCount, attachmentBytes, libraries: composers },
    { id: 'e', title: `(e) parse ${n} × small`, messages: n, attachmentBytes: 0, libraries: parsers },
    { id: 'f', title: `(f) parse ${bigCount} × ${bigMb} MB att.`, messages: bigCount, attachmentBytes, libraries: parsers },
    { id: 'g', title: `(g) parseParts 1 × ${giantMb} MB att., streamed`, messages: 1, attachmentBytes: giantBytes, libraries: ['smtpkit'] },
  ]
  const rows: string[][] = [['scenario', 'library', 'msg/s', 'att. MB/s', 'in/out MB/s', 'CPU ms/msg', 'start RSS MB', 'peak RSS MB', 'wall s']]
  const ratios: string[][] = [['scenario', 'against', 'speed (wall) smtpkit÷other', 'speed (CPU) smtpkit÷other', 'peak RSS smtpkit÷other']]
  for (const scenario of scenarios.filter((s) => only.has(s.id))) {
    const results = new Map<Library, Measurement>()
    for (let run = 0; run < runs; run++) {
      for (const library of scenario.libraries) {
        const m = await runChildJob<Measurement, Job>(script, { library, scenario: scenario.id, messages: scenario.messages, attachmentBytes: scenario.attachmentBytes, attachmentPath, messagePath, giantBytes, builtDir })
        const best = results.get(library)
        // Each figure from its least disturbed run: the shortest wall time and the least CPU
        // time; the highest peak RSS, to be safe.
        results.set(library, !best ? m : {
          ...m,
          seconds: Math.min(best.seconds, m.seconds),
          cpuSeconds: Math.min(best.cpuSeconds, m.cpuSeconds),
          maxRssBytes: Math.max(best.maxRssBytes, m.maxRssBytes),
          startRssBytes: Math.min(best.startRssBytes, m.startRssBytes),
        })
        console.error(`done: ${scenario.title} ${library} run ${run + 1}/${runs}: ${fmt(m.seconds, 2)} s, CPU ${fmt(m.cpuSeconds, 2)} s`)
      }
    }
    for (const library of scenario.libraries) {
      const m = results.get(library)!
      const big = scenario.attachmentBytes > 0
      rows.push([
        scenario.title, library, fmt(m.messages / m.seconds, big ? 2 : 0),
        big ? fmt((m.messages * scenario.attachmentBytes) / (1 << 20) / m.seconds) : '-', fmt(m.outputBytes / (1 << 20) / m.seconds),
        fmt((m.cpuSeconds / m.messages) * 1000, 3), mib(m.startRssBytes), mib(m.maxRssBytes), fmt(m.seconds, 2),
      ])
    }
    const ours = results.get('smtpkit')!
    for (const library of scenario.libraries.filter((name) => name !== 'smtpkit')) {
      const theirs = results.get(library)!
      ratios.push([
        scenario.title,
        library,
        fmt(theirs.seconds / ours.seconds, 2),
        fmt(theirs.cpuSeconds / ours.cpuSeconds, 2),
        fmt(ours.maxRssBytes / theirs.maxRssBytes, 2),
      ])
    }
  }
  printTable(rows)
  console.log('')
  printTable(ratios)
  console.log('\nspeed > 1: smtpkit faster (wall: messages per second; CPU: CPU time per message, all threads).')
  console.log('Targets: compose and sign faster than nodemailer; parse 3x mailparser and ahead of postal-mime; peak RSS flat')
  console.log('in the attachment size; (g) peak RSS - start RSS under 64 MB.')
}

await main()
