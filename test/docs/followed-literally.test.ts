// Docs followed literally: the README's server sample and the building-a-server tutorial's
// server run as written (on a free port instead of 2525) and are sent mail, and the
// catch-mail-locally tutorial's shell steps run in an empty directory against a server here.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test, type TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { sendMail } from '../../src/client/index.ts'
import { Server } from '../../src/server/index.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const tsx = import.meta.resolve('tsx')

/** The code of the `index`-th fenced block of `lang` in a Markdown file. */
function block(file: string, lang: 'ts' | 'sh', index: number): string {
  const blocks = [...readFileSync(join(root, file), 'utf8').matchAll(new RegExp(`^\`\`\`${lang}\\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map((m) => m[1]!)
  assert.ok(blocks[index], `${file} has no ${lang} block #${index}`)
  return blocks[index]
}

/** A fresh directory, removed after the test, set up so that `smtpkit/...` imports resolve to src/. */
function workDir(t: TestContext): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), 'smtpkit-docs-literal-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const paths = { smtpkit: [join(root, 'src/index.ts')], 'smtpkit/*': [join(root, 'src/*/index.ts')] }
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: join(root, 'tsconfig.json'), compilerOptions: { paths }, include: [] }))
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }))
  return { dir, env: { ...process.env, TSX_TSCONFIG_PATH: join(dir, 'tsconfig.json') } }
}

/**
 * Runs a server sample in `dir`, listening on a free port instead of the one it names: its
 * `server.listen({ ... port: N })` is rewritten to port 0 and to print the port it got.
 */
async function runServerSample(t: TestContext, code: string, dir: string, env: NodeJS.ProcessEnv): Promise<number> {
  const listen = /await server\.listen\(\{([^}]*)port: \d+ \}\)/
  assert.match(code, listen)
  writeFileSync(join(dir, 'server.ts'), code.replace(listen, 'console.log(`port ${(await server.listen({$1port: 0 })).port}`)'))
  const child: ChildProcess = spawn(process.execPath, ['--import', tsx, 'server.ts'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await once(child, 'exit')
    }
  })
  // Keep reading stdout after the port: the sample logs every connection, and a closed pipe would kill it.
  let output = ''
  const port = new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString()
      const found = /^port (\d+)$/m.exec(output)?.[1]
      if (found) resolve(Number(found))
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', () => reject(new Error(`the sample exited without listening:\n${output}`)))
    setTimeout(() => reject(new Error(`the sample did not listen within 60 s:\n${output}`)), 60_000).unref()
  })
  return port
}

describe('docs followed literally', () => {
  test('README server sample: takes mail for you@EXAMPLE.TEST (domains compare case-insensitively)', async (t) => {
    const { dir, env } = workDir(t)
    const port = await runServerSample(t, block('README.md', 'ts', 1), dir, env)
    const result = await sendMail(`smtp://127.0.0.1:${port}`, { from: 'a@example.org', to: ['you@EXAMPLE.TEST'], message: 'Subject: hi\r\n\r\nhello\r\n' })
    assert.deepEqual(result.accepted, ['you@EXAMPLE.TEST'])
    assert.equal(readdirSync(dir).filter((name) => name.endsWith('.eml')).length, 1)
  })

  test('building-a-server tutorial: a message the size limit stops leaves no partial file', async (t) => {
    const { dir, env } = workDir(t)
    const code = block('docs/tutorials/building-a-server.md', 'ts', 1)
    assert.match(code, /hostname: 'mx\.example\.test',/)
    // The tutorial's limit is 25 MiB; a small one makes the same path quick to take.
    const port = await runServerSample(t, code.replace(/hostname: 'mx\.example\.test',/, "$&\n  limits: { maxMessageBytes: 64 * 1024 },"), dir, env)
    // A message that declares no size reaches the hook and is cut off at the limit.
    const big = `Subject: big\r\n\r\n${'x'.repeat(76)}\r\n`.repeat(2000)
    await assert.rejects(sendMail(`smtp://127.0.0.1:${port}`, { from: 'a@example.org', to: ['bob@example.test'], message: (async function* () { yield Buffer.from(big) })() }), { code: 552 })
    assert.deepEqual(readdirSync(join(dir, 'mail')), [])
    await sendMail(`smtp://127.0.0.1:${port}`, { from: 'a@example.org', to: ['bob@example.test'], message: 'Subject: small\r\n\r\nhello\r\n' })
    assert.equal(readdirSync(join(dir, 'mail')).length, 1)
  })

  test('catch-mail-locally tutorial: step 3 runs as written in an empty directory', async (t) => {
    const { dir } = workDir(t)
    const received: string[] = []
    const server = new Server({ newSession: () => ({ async data(message) { received.push((await message.toArray()).join('')) } }) })
    const { port } = await server.listen({ host: '127.0.0.1', port: 0 })
    t.after(() => server.close())
    const steps = [block('docs/tutorials/catch-mail-locally.md', 'sh', 1), block('docs/tutorials/catch-mail-locally.md', 'sh', 2)].join('\n')
    assert.match(steps, /--attach \.\/invoice\.pdf/)
    assert.match(steps, /--file message\.eml/)
    const script = `smtpkit() { "${process.execPath}" --import "${tsx}" "${join(root, 'src/cli/main.ts')}" "$@"; }\nset -e\n${steps.replaceAll('npx smtpkit', 'smtpkit').replaceAll('127.0.0.1:2525', `127.0.0.1:${port}`)}`
    const child = spawn('bash', ['-c', script], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], signal: AbortSignal.timeout(120_000) })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
    const [code] = (await once(child, 'close')) as [number | null]
    assert.equal(code, 0, output)
    assert.equal(received.length, 2, output)
    assert.match(received[0]!, /filename=invoice\.pdf/)
    assert.match(received[1]!, /^From: app@example\.test\r\nTo: user@example\.test\r\nSubject: From a file\r\n\r\nHello\.\r\n/m)
  })
})
