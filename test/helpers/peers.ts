// Real SMTP peers for interop tests and benchmarks, on loopback only: Postfix's smtp-sink and
// Debian's aiosmtpd. Each starts on a free ephemeral port and is stopped by the returned stop().
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { createInterface } from 'node:readline'
import { once } from 'node:events'

/** A port the kernel just handed out as free on 127.0.0.1 (for peers that cannot bind port 0). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer()
  server.listen(0, host)
  await once(server, 'listening')
  const address = server.address()
  server.close()
  await once(server, 'close')
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

/** Resolves once something accepts connections on host:port; bounded attempts. */
async function waitForPort(host: string, port: number, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`peer exited with code ${child.exitCode} before listening`)
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port })
      socket.once('connect', () => { socket.destroy(); resolve(true) })
      socket.once('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`peer did not listen on ${host}:${port}`)
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
export async function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}

/** True when Postfix's smtp-sink is installed (Debian package `postfix`). */
export function smtpSinkPath(): string | undefined {
  return ['/usr/sbin/smtp-sink', '/usr/bin/smtp-sink'].find((p) => existsSync(p))
}

/** True when Postfix's smtp-source is installed. */
export function smtpSourcePath(): string | undefined {
  return ['/usr/sbin/smtp-source', '/usr/bin/smtp-source'].find((p) => existsSync(p))
}

export interface RunningPeer {
  readonly host: string
  readonly port: number
  readonly child: ChildProcess
  stop(): Promise<void>
}

/**
 * Starts smtp-sink with `args` (see smtp-sink(1): -L for LMTP, -f/-r to reject commands, -8/-p/-E/-N
 * to hide extensions, -d to dump messages). Runs as `nobody` when we are root, as it requires.
 */
export async function startSmtpSink(args: readonly string[] = [], backlog = 256): Promise<RunningPeer> {
  const bin = smtpSinkPath()
  if (!bin) throw new Error('smtp-sink is not installed (Debian package postfix)')
  const host = '127.0.0.1'
  for (let attempt = 0; ; attempt++) {
    const port = await freePort(host)
    const user = process.getuid?.() === 0 ? ['-u', 'nobody'] : []
    const child = spawn(bin, [...user, ...args, `${host}:${port}`, String(backlog)], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
    try {
      await waitForPort(host, port, child)
      return { host, port, child, stop: () => stopChild(child) }
    } catch (err) {
      await stopChild(child)
      if (attempt >= 3) throw new Error(`smtp-sink failed to start: ${stderr || String(err)}`, { cause: err })
    }
  }
}

/** One message as aiosmtpd received it. */
export interface AiosmtpdMessage {
  from: string
  to: string[]
  data: Buffer
  mailOptions: string[]
  rcptOptions: string[]
  tls: boolean
  auth: boolean
}

export interface RunningAiosmtpd extends RunningPeer {
  /** Resolves with the next message the server receives. */
  nextMessage(): Promise<AiosmtpdMessage>
}

/** True when Debian's python3-aiosmtpd can be imported by the system Python. */
export function hasAiosmtpd(): boolean {
  return existsSync('/usr/bin/python3')
}

/**
 * Starts Debian's aiosmtpd (through the system Python) with the script beside this file.
 * Options map to its flags: tls (cert and key files), requireTls, auth ('user:pass'), smtpUtf8, lmtp.
 */
export async function startAiosmtpd(options: { tls?: { cert: string; key: string }; requireTls?: boolean; auth?: string; smtpUtf8?: boolean; lmtp?: boolean } = {}): Promise<RunningAiosmtpd> {
  const script = new URL('./aiosmtpd-server.py', import.meta.url).pathname
  const args = [script]
  if (options.tls) args.push('--tls', options.tls.cert, options.tls.key)
  if (options.requireTls) args.push('--require-tls')
  if (options.auth) args.push('--auth', options.auth)
  if (options.smtpUtf8) args.push('--smtputf8')
  if (options.lmtp) args.push('--lmtp')
  const child = spawn('/usr/bin/python3', args, { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const lines = createInterface({ input: child.stdout! })
  const queue: AiosmtpdMessage[] = []
  const waiters: ((m: AiosmtpdMessage) => void)[] = []
  let port = 0
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`aiosmtpd exited with ${code}: ${stderr}`)))
    lines.on('line', (line) => {
      const record = JSON.parse(line) as Record<string, unknown>
      if (typeof record.port === 'number') {
        port = record.port
        resolve()
        return
      }
      const message: AiosmtpdMessage = {
        from: record.from as string,
        to: record.to as string[],
        data: Buffer.from(record.data_b64 as string, 'base64'),
        mailOptions: record.mail_options as string[],
        rcptOptions: record.rcpt_options as string[],
        tls: record.tls as boolean,
        auth: record.auth as boolean,
      }
      const waiter = waiters.shift()
      if (waiter) waiter(message)
      else queue.push(message)
    })
  })
  const timeout = AbortSignal.timeout(10_000)
  await Promise.race([ready, once(timeout, 'abort').then(() => { throw new Error(`aiosmtpd did not start: ${stderr}`) })])
  return {
    host: '127.0.0.1',
    port,
    child,
    nextMessage: () => {
      const queued = queue.shift()
      if (queued) return Promise.resolve(queued)
      return new Promise((resolve) => waiters.push(resolve))
    },
    stop: async () => {
      child.stdin?.end()
      await stopChild(child)
    },
  }
}
