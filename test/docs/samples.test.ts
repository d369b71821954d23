// Keeps the documentation honest: every ```ts sample in docs/**/*.md and every program in
// examples/ must compile, and the examples must run against our own server on loopback.
//
// How the `smtpkit/...` imports resolve without a build: samples and examples import the
// published names (`smtpkit`, `smtpkit/client`, ...), which Node and TypeScript resolve through
// the package's own `exports` map to dist/, a build that may be missing or stale. So this test
// writes a tsconfig into a temporary directory whose `paths` map `smtpkit` to src/index.ts and
// `smtpkit/*` to src/*/index.ts (`paths` applies to bare specifiers under NodeNext resolution,
// before the self-reference). The type check uses it through the compiler API; each example runs
// as `node --import tsx examples/x.ts` with TSX_TSCONFIG_PATH pointing at it, so tsx resolves the
// same names to the same sources. CI (`npm ci && npm run build && npm test`) and an unbuilt
// checkout behave alike.
//
// A sample that cannot compile on its own (a fragment) opts out with a ```ts no-check fence.
// Each sample is its own module: it must import what it uses.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { describe, test } from 'node:test'
import ts from 'typescript'
import { sendMail } from '../../src/client/index.ts'
import { Server, SmtpError, type Envelope } from '../../src/server/index.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const docsDir = join(root, 'docs')
const examplesDir = join(root, 'examples')

/** One fenced TypeScript block of a Markdown page. */
interface Sample {
  readonly file: string
  /** The 1-based line of the first line of code (after the fence). */
  readonly line: number
  readonly code: string
  readonly check: boolean
}

function listFiles(dir: string, suffix: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...listFiles(path, suffix))
    else if (name.endsWith(suffix)) out.push(path)
  }
  return out
}

/** The ```ts / ```typescript blocks of a page; `no-check` after the language opts a block out. */
function extractSamples(file: string, text: string): Sample[] {
  const samples: Sample[] = []
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(ts|typescript)\b(.*)$/.exec(lines[i]!)
    if (!open) continue
    const [, indent, fence, , info] = open
    const body: string[] = []
    let j = i + 1
    for (; j < lines.length && !lines[j]!.trimStart().startsWith(fence!); j++) body.push(lines[j]!.slice(indent!.length))
    assert.ok(j < lines.length, `${file}:${i + 1}: unclosed code fence`)
    samples.push({ file, line: i + 2, code: body.join('\n'), check: !/\bno-check\b/.test(info!) })
    i = j
  }
  return samples
}

const tempDir = mkdtempSync(join(tmpdir(), 'smtpkit-docs-'))
const tsconfigPath = join(tempDir, 'tsconfig.json')
const paths = { smtpkit: [join(root, 'src/index.ts')], 'smtpkit/*': [join(root, 'src/*/index.ts')] }
writeFileSync(tsconfigPath, JSON.stringify({ extends: join(root, 'tsconfig.json'), compilerOptions: { paths }, include: [] }))
// The samples are ES modules, like the package's own files.
writeFileSync(join(tempDir, 'package.json'), JSON.stringify({ type: 'module' }))
process.on('exit', () => rmSync(tempDir, { recursive: true, force: true }))

describe('documentation samples', () => {
  // README.md's samples are documentation too.
  const pages = [join(root, 'README.md'), ...listFiles(docsDir, '.md')]
  const samples = pages.flatMap((page) => extractSamples(relative(root, page), readFileSync(page, 'utf8')))
  const examples = listFiles(examplesDir, '.ts')

  test('the docs have TypeScript samples and examples to check', () => {
    assert.ok(pages.length > 0, 'no pages under docs/')
    assert.ok(samples.filter((s) => s.check).length > 0, 'no checked ```ts samples under docs/')
    assert.ok(examples.length > 0, 'no programs under examples/')
  })

  test('opting out of the type check stays rare', () => {
    const skipped = samples.filter((s) => !s.check)
    assert.ok(skipped.length * 10 <= samples.length, `${skipped.length} of ${samples.length} samples are no-check: ${skipped.map((s) => `${s.file}:${s.line}`).join(', ')}`)
  })

  test('every ts sample in docs/ and every example compiles under the project settings', () => {
    const byPath = new Map<string, Sample>()
    samples.filter((s) => s.check).forEach((sample, i) => {
      const path = join(tempDir, `sample-${i}.ts`)
      // `export {}` makes a sample without imports a module too (top-level await, no globals).
      writeFileSync(path, `${sample.code}\nexport {}\n`)
      byPath.set(path, sample)
    })
    const config = ts.getParsedCommandLineOfConfigFile(tsconfigPath, {}, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    })
    assert.ok(config)
    const options: ts.CompilerOptions = { ...config.options, noEmit: true, typeRoots: [join(root, 'node_modules/@types')] }
    const program = ts.createProgram([...byPath.keys(), ...examples], options)
    const problems: string[] = []
    // Errors inside src/ are the whole-tree type check's to report (`npm run typecheck`); here
    // only what the samples and examples themselves get wrong counts.
    const ours = (file: ts.SourceFile | undefined): boolean => file === undefined || byPath.has(file.fileName) || examples.includes(file.fileName)
    const diagnostics = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics(), ...program.getSyntacticDiagnostics(), ...program.getSemanticDiagnostics()]
    for (const d of diagnostics.filter((d) => ours(d.file))) {
      const message = ts.flattenDiagnosticMessageText(d.messageText, '\n')
      if (!d.file || d.start === undefined) {
        problems.push(message)
        continue
      }
      const { line, character } = d.file.getLineAndCharacterOfPosition(d.start)
      const sample = byPath.get(d.file.fileName)
      const where = sample ? `${sample.file}:${sample.line + line}:${character + 1}` : `${relative(root, d.file.fileName)}:${line + 1}:${character + 1}`
      problems.push(`${where}: ${message}`)
    }
    assert.deepEqual(problems, [], `samples that do not compile:\n${problems.join('\n')}`)
  })
})

/** What a test server received. */
interface Received {
  readonly envelope: Envelope
  readonly body: string
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** An SMTP (or LMTP) server on 127.0.0.1:0 that keeps what it gets and refuses `@example.invalid`. */
async function startServer(options: { lmtp?: boolean } = {}): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = []
  const server = new Server({
    hostname: 'mx.example.test',
    lmtp: options.lmtp ?? false,
    onError: (error) => console.error('test server:', error),
    newSession: () => ({
      rcpt(to) {
        if (to.endsWith('@example.invalid')) throw new SmtpError(550, '5.1.1', 'No such user here')
      },
      async data(message, envelope) {
        received.push({ envelope, body: await readAll(message) })
      },
    }),
  })
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 })
  return { server, url: `smtp://127.0.0.1:${port}`, received }
}

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `examples/<name>` with tsx, the docs tsconfig and `env`; kills it when `signal` aborts. */
function runExample(name: string, args: readonly string[], env: Record<string, string>, signal: AbortSignal, onStdout?: (text: string) => void): { done: Promise<Run>; kill(sig: NodeJS.Signals): void } {
  const child = spawn(process.execPath, ['--import', 'tsx', join('examples', name), ...args], {
    cwd: root,
    env: { ...process.env, ...env, TSX_TSCONFIG_PATH: tsconfigPath },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    stdout += text
    onStdout?.(stdout)
  })
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text))
  const onAbort = (): void => void child.kill('SIGKILL')
  signal.addEventListener('abort', onAbort, { once: true })
  const done = new Promise<Run>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => {
      signal.removeEventListener('abort', onAbort)
      resolve({ code, stdout, stderr })
    })
  })
  return { done, kill: (sig) => void child.kill(sig) }
}

async function runToEnd(name: string, url: string, env: Record<string, string> = {}): Promise<Run> {
  const run = await runExample(name, [url], env, AbortSignal.timeout(60_000)).done
  assert.equal(run.code, 0, `${name} exited with ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`)
  return run
}

describe('examples run against our own server on loopback', () => {
  test('send-mail.ts delivers one message', async (t) => {
    const { server, url, received } = await startServer()
    t.after(() => server.close({ signal: AbortSignal.timeout(5000) }))
    const run = await runToEnd('send-mail.ts', url)
    assert.match(run.stdout, /accepted: bob@example\.test/)
    assert.equal(received.length, 1)
    assert.equal(received[0]!.envelope.from, 'alice@example.test')
    assert.match(received[0]!.body, /^Subject: Hello from smtpkit\r$/m)
  })

  test('client-steps.ts reports the refused recipient and delivers to the other', async (t) => {
    const { server, url, received } = await startServer()
    t.after(() => server.close({ signal: AbortSignal.timeout(5000) }))
    const run = await runToEnd('client-steps.ts', url)
    assert.match(run.stdout, /refused nobody@example\.invalid: 550 5\.1\.1/)
    assert.match(run.stdout, /^C: MAIL FROM:<alice@example\.test>/m)
    assert.deepEqual(received[0]?.envelope.recipients.map((r) => r.address), ['bob@example.test'])
  })

  test('compose-attachments.ts sends a multipart message to To and Bcc', async (t) => {
    const { server, url, received } = await startServer()
    t.after(() => server.close({ signal: AbortSignal.timeout(5000) }))
    await runToEnd('compose-attachments.ts', url)
    assert.equal(received.length, 1)
    assert.deepEqual(received[0]!.envelope.recipients.map((r) => r.address), ['bob@example.test', 'archive@example.test'])
    assert.match(received[0]!.body, /^Content-Type: multipart\/mixed;/m)
    assert.match(received[0]!.body, /filename="?report\.csv"?/)
    assert.doesNotMatch(received[0]!.body, /^Bcc:/im)
  })

  test('dkim-sign.ts verifies its own signature and sends the signed message', async (t) => {
    const { server, url, received } = await startServer()
    t.after(() => server.close({ signal: AbortSignal.timeout(5000) }))
    const run = await runToEnd('dkim-sign.ts', url)
    assert.match(run.stdout, /dkim=pass d=example\.test s=s1 a=ed25519-sha256/)
    assert.match(received[0]?.body ?? '', /^DKIM-Signature: /)
  })

  test('pool.ts sends every message of its batch', async (t) => {
    const { server, url, received } = await startServer()
    t.after(() => server.close({ signal: AbortSignal.timeout(5000) }))
    const run = await runToEnd('pool.ts', url, { COUNT: '7' })
    assert.match(run.stdout, /sent 7 of 7/)
    assert.deepEqual(received.map((r) => r.envelope.recipients[0]!.address).sort(), Array.from({ length: 7 }, (_, i) => `reader${i}@example.test`).sort())
  })

  test('lmtp.ts prints one reply per recipient', async (t) => {
    const { server, url, received } = await startServer({ lmtp: true })
    t.after(() => server.close({ signal: AbortSignal.timeout(5000) }))
    const run = await runToEnd('lmtp.ts', url)
    assert.match(run.stdout, /^bob@example\.test: 250 /m)
    assert.match(run.stdout, /^carol@example\.test: 250 /m)
    assert.equal(received.length, 1)
  })

  test('server.ts accepts a message, refuses relaying, and shuts down on SIGTERM', async () => {
    const signal = AbortSignal.timeout(60_000)
    let onListening: (port: number) => void = () => {}
    const listening = new Promise<number>((resolve) => (onListening = resolve))
    const child = runExample('server.ts', [], { HOST: '127.0.0.1', PORT: '0' }, signal, (out) => {
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(out)
      if (match) onListening(Number(match[1]))
    })
    try {
      const exitedEarly = child.done.then((run): never => assert.fail(`server.ts exited early (${run.code}):\n${run.stderr}`))
      exitedEarly.catch(() => {}) // it rejects on every exit, the expected one after SIGTERM included
      const port = await Promise.race([listening, exitedEarly])
      const server = { host: '127.0.0.1', port, tls: 'none' as const, signal }
      const result = await sendMail(server, { from: 'a@example.org', to: ['bob@example.test', 'eve@example.org'], message: 'Subject: hi\r\n\r\nhi\r\n', signal })
      assert.deepEqual(result.accepted, ['bob@example.test'])
      assert.equal(result.rejected[0]?.error.code, 550)
      assert.match(result.reply.lines.join(' '), /^Queued as /)
    } finally {
      child.kill('SIGTERM')
    }
    const run = await child.done
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, /from <a@example\.org> to bob@example\.test: \d+ bytes/)
    assert.match(run.stdout, /^closed$/m)
  })
})
