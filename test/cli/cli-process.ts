// Runs the smtpkit CLI as a child process, unbuilt (through tsx), for the CLI's tests.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { TestContext } from 'node:test'

const root = new URL('../../', import.meta.url)
const main = 'src/cli/main.ts'

/** The committed TLS fixtures, as paths for --tls-cert, --tls-key and --ca. */
export const fixtures = {
  ca: new URL('../helpers/tls-fixtures/ca.crt', import.meta.url).pathname,
  cert: new URL('../helpers/tls-fixtures/server.crt', import.meta.url).pathname,
  key: new URL('../helpers/tls-fixtures/server.key', import.meta.url).pathname,
  selfSignedCert: new URL('../helpers/tls-fixtures/selfsigned.crt', import.meta.url).pathname,
  selfSignedKey: new URL('../helpers/tls-fixtures/selfsigned.key', import.meta.url).pathname,
}

/** What a finished CLI run printed and how it exited. */
export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', main, ...args], {
    cwd: root,
    env: { ...withoutPassword(process.env), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
}

function withoutPassword(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { SMTPKIT_PASS: _, ...rest } = env
  return rest
}

/** Runs the CLI to completion (at most `timeoutMs`), feeding `input` to its stdin. */
export async function runCli(args: readonly string[], options: { input?: string | Buffer; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  const child = spawnCli(args, options.env)
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s))
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s))
  child.stdin!.on('error', () => {})
  child.stdin!.end(options.input ?? '')
  const signal = AbortSignal.timeout(options.timeoutMs ?? 30_000)
  try {
    const [code] = (await once(child, 'close', { signal })) as [number | null]
    return { code, stdout, stderr }
  } catch (error) {
    child.kill('SIGKILL')
    throw new Error(`smtpkit ${args.join(' ')} did not finish: ${(error as Error).message}\nstdout: ${stdout}\nstderr: ${stderr}`, { cause: error })
  }
}

/** Streams for running a command in-process (`runSend(args, io)`), with what was printed. */
export function captureIo(options: { env?: NodeJS.ProcessEnv; stdin?: string } = {}): {
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; stdin: AsyncIterable<Uint8Array>; env: NodeJS.ProcessEnv }
  stdout(): string
  stderr(): string
} {
  let stdout = ''
  let stderr = ''
  const sink = (append: (s: string) => void): NodeJS.WritableStream =>
    new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        append(chunk.toString())
        done()
      },
    })
  const stdin = (async function* () {
    if (options.stdin) yield Buffer.from(options.stdin)
  })()
  return {
    io: { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)), stdin, env: options.env ?? {} },
    stdout: () => stdout,
    stderr: () => stderr,
  }
}

/** A running `smtpkit serve`. */
export interface ServeProcess {
  readonly child: ChildProcess
  readonly host: string
  readonly port: number
  /** `host:port`, as `send --server` takes it. */
  readonly address: string
  /** The Maildir (a fresh temporary directory unless the args named one). */
  readonly maildir: string
  /** Everything printed so far. */
  stdout(): string
  stderr(): string
  /** Waits until stdout has a line matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>
  /** The files in `new/`, each read whole. */
  messages(): Promise<{ name: string; text: string }[]>
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/**
 * Starts `smtpkit serve --listen 127.0.0.1:0 --maildir <temp> ...args`, waits for its
 * `listening on` line, and registers cleanup (kill, remove the temporary directory) with `t`.
 */
export async function startServe(t: TestContext, args: readonly string[] = [], options: { listen?: string } = {}): Promise<ServeProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'smtpkit-cli-'))
  const maildir = join(dir, 'mail')
  const child = spawnCli(['serve', '--listen', options.listen ?? '127.0.0.1:0', '--maildir', maildir, ...args])
  let stdout = ''
  let stderr = ''
  const waiters = new Set<() => void>()
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    stdout += s
    for (const wake of waiters) wake()
  })
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s))
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
    await rm(dir, { recursive: true, force: true })
  })
  const waitFor = async (pattern: RegExp, timeoutMs = 20_000): Promise<RegExpExecArray> => {
    const signal = AbortSignal.timeout(timeoutMs)
    for (;;) {
      const match = pattern.exec(stdout)
      if (match) return match
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`smtpkit serve exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}\nstdout: ${stdout}\nstderr: ${stderr}`)
      await new Promise<void>((resolve, reject) => {
        const wake = (): void => {
          waiters.delete(wake)
          signal.removeEventListener('abort', fail)
          resolve()
        }
        const fail = (): void => {
          waiters.delete(wake)
          reject(new Error(`timed out waiting for ${pattern}\nstdout: ${stdout}\nstderr: ${stderr}`))
        }
        waiters.add(wake)
        signal.addEventListener('abort', fail, { once: true })
        void exited.then(wake)
      })
    }
  }
  const match = await waitFor(/^listening on (?:\[([^\]]+)\]|([^:\s]+)):(\d+)$/m)
  const host = match[1] ?? match[2]!
  const port = Number(match[3])
  return {
    child,
    host,
    port,
    address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    maildir,
    stdout: () => stdout,
    stderr: () => stderr,
    waitFor,
    async messages() {
      const names = (await readdir(join(maildir, 'new')).catch(() => [])).sort()
      return Promise.all(names.map(async (name) => ({ name, text: await readFile(join(maildir, 'new', name), 'utf8') })))
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      child.kill(signal)
      return exited
    },
  }
}

/** A raw SMTP conversation with a served port: the greeting, then a line sent and its reply read. */
export interface RawSession {
  readonly greeting: string
  readonly socket: Socket
  /** Sends `line` and CRLF, and reads the reply (single- or multi-line). */
  command(line: string): Promise<string>
  /** Reads the next reply; '' once the server has closed without one. Each read waits at most 10 s. */
  reply(): Promise<string>
}

/** Connects to `port` (writing `preamble` first, e.g. a PROXY header) and reads the greeting. */
export async function rawSession(port: number, preamble = ''): Promise<RawSession> {
  const socket = connect({ host: '127.0.0.1', port })
  await once(socket, 'connect')
  if (preamble) socket.write(preamble)
  socket.setEncoding('utf8')
  socket.on('error', () => {})
  let buffer = ''
  const waiters: (() => void)[] = []
  const wake = (): void => waiters.splice(0).forEach((w) => w())
  socket.on('data', (s: string) => {
    buffer += s
    wake()
  })
  socket.on('close', wake)
  const reply = async (): Promise<string> => {
    const signal = AbortSignal.timeout(10_000)
    for (;;) {
      const end = /^\d{3} .*\r\n/m.exec(buffer)
      if (end) {
        const text = buffer.slice(0, end.index + end[0].length)
        buffer = buffer.slice(text.length)
        return text
      }
      if (socket.destroyed || socket.readableEnded) return ''
      signal.throwIfAborted()
      await new Promise<void>((resolve) => {
        waiters.push(resolve)
        signal.addEventListener('abort', () => resolve(), { once: true })
      })
    }
  }
  const greeting = await reply()
  return {
    greeting,
    socket,
    reply,
    command(line: string) {
      socket.write(`${line}\r\n`)
      return reply()
    },
  }
}
