// The package as its users get it: a fresh build packed by `npm pack`, installed offline into a
// new project made by `npm init -y` (which writes "type": "commonjs"), runs the README's send
// sample there, as an .mjs file, against a server in this test. Also checks what the tarball
// carries: the license, no sources, and source maps that embed the sources they point at.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Server } from '../src/server/index.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const npmCli = process.env.npm_execpath?.endsWith('npm-cli.js') ? process.env.npm_execpath : undefined

/** Runs a command to completion (killed after 3 minutes); rejects with its output when it fails. */
async function run(command: string, args: readonly string[], cwd: string): Promise<string> {
  const child = spawn(command, args, { cwd, signal: AbortSignal.timeout(180_000), stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  })
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}\n${stdout}\n${stderr}`)
  return stdout
}

/** npm, run by the same Node as this test (npm_execpath when npm started us, else `npm` on PATH). */
function npm(args: readonly string[], cwd: string): Promise<string> {
  return npmCli ? run(process.execPath, [npmCli, ...args], cwd) : run('npm', args, cwd)
}

/** The first ```ts block under the README heading `heading`. */
function readmeSample(heading: string): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const section = readme.split(/^## /m).find((s) => s.startsWith(`${heading}\n`))
  assert.ok(section, `README.md has no "## ${heading}" section`)
  const code = /^```ts\n([\s\S]*?)^```$/m.exec(section)?.[1]
  assert.ok(code, `README.md's "${heading}" section has no ts sample`)
  return code
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)])
}

test('npm pack gives a package that installs offline into an `npm init -y` project and runs the README send sample', { timeout: 600_000 }, async (t) => {
  const temp = mkdtempSync(join(tmpdir(), 'smtpkit-package-'))
  t.after(() => rmSync(temp, { recursive: true, force: true }))

  // What `npm pack` packs after its prepack build, staged outside the checkout so a test run
  // never rewrites dist/.
  const staging = join(temp, 'package')
  mkdirSync(staging)
  for (const file of ['package.json', 'README.md', 'LICENSE']) cpSync(join(root, file), join(staging, file))
  await run(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', join(staging, 'dist')], root)
  const [packed] = JSON.parse(await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', temp], staging)) as { filename: string; files: { path: string }[] }[]
  assert.ok(packed)
  const files = packed.files.map((f) => f.path)
  for (const file of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js']) assert.ok(files.includes(file), `the tarball lacks ${file}`)
  assert.deepEqual(files.filter((f) => !f.startsWith('dist/') && !['LICENSE', 'README.md', 'package.json'].includes(f)), [])

  const manifest = JSON.parse(readFileSync(join(staging, 'package.json'), 'utf8')) as Record<string, unknown> & { exports: Record<string, unknown> }
  assert.equal(manifest.license, 'MIT')
  assert.match(readFileSync(join(staging, 'LICENSE'), 'utf8'), /^MIT License/)
  assert.ok(manifest.repository, 'package.json has no repository')
  assert.equal(manifest.sideEffects, false)
  assert.equal(manifest.exports['./package.json'], './package.json')

  // The package has no src/: a map must carry the text of the sources it names.
  const maps = listFiles(join(staging, 'dist')).filter((f) => f.endsWith('.js.map'))
  assert.ok(maps.length > 10)
  for (const map of maps) {
    const { sources, sourcesContent } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] }
    assert.equal(sourcesContent?.length, sources.length, `${map} has no sourcesContent`)
    assert.ok(sourcesContent.every((s) => typeof s === 'string' && s.length > 0), `${map} has empty sourcesContent`)
  }

  const app = join(temp, 'app')
  mkdirSync(app)
  await npm(['init', '-y'], app)
  await npm(['install', '--offline', '--no-audit', '--no-fund', join(temp, packed.filename)], app)
  assert.equal(JSON.parse(await run(process.execPath, ['-p', 'JSON.stringify(require("smtpkit/package.json").name)'], app)), 'smtpkit')

  const received: string[] = []
  const server = new Server({
    hostname: 'mx.example.test',
    newSession: () => ({
      async data(message) {
        const chunks: Buffer[] = []
        for await (const chunk of message) chunks.push(chunk as Buffer)
        received.push(Buffer.concat(chunks).toString('utf8'))
      },
    }),
  })
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 })
  t.after(() => server.close())

  // The README sample sends to `smtpkit serve` on 127.0.0.1:2525; here, to this test's server.
  const sample = readmeSample('Send a message')
  assert.match(sample, /127\.0\.0\.1:2525/)
  writeFileSync(join(app, 'send.mjs'), sample.replaceAll('127.0.0.1:2525', `127.0.0.1:${port}`))
  const output = await run(process.execPath, ['send.mjs'], app)
  assert.equal(received.length, 1, output)
  assert.match(received[0]!, /^Subject: Hello from smtpkit\r$/m)
})
