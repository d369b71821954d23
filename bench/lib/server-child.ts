// One SMTP server for the benchmark, alone in its process so its CPU and memory can be measured
// from outside: `node --import tsx bench/lib/server-child.ts smtpkit|smtp-server|node-floor`. Every message
// is read and discarded. Prints `{"port":N}` once listening; SIGTERM closes it and exits.
// BENCH_SMTPKIT_MODULE may name a compiled server/index.js to load instead of the TS source.
// Lines on stdin control a CPU profile of the measured window only: `profile-start`, then
// `profile-stop FILE` writes the profile to FILE; each is answered on stdout (`profiling`, `profiled`).
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { createInterface } from 'node:readline'
import { finished } from 'node:stream/promises'
import { pathToFileURL } from 'node:url'
import type * as ServerModuleType from '../../src/server/index.ts'
import { startNodeFloor } from './node-floor-server.ts'

type ServerModule = typeof ServerModuleType

const kind = process.argv[2]
const host = '127.0.0.1'

async function startSmtpkit(): Promise<{ port: number; close(): Promise<void> }> {
  const compiled = process.env.BENCH_SMTPKIT_MODULE
  const { Server } = (await import(compiled ? pathToFileURL(compiled).href : '../../src/server/index.ts')) as ServerModule
  const server = new Server({
    hostname: 'bench.example.test',
    limits: { maxConnections: 100_000, maxConnectionsPerIp: 100_000, maxTransactionsPerConnection: 1e9 },
    newSession: () => ({
      async data(message) {
        message.resume()
        await finished(message)
      },
    }),
  })
  const { port } = await server.listen({ host, port: 0, backlog: 4096 })
  return { port, close: () => server.close({ signal: AbortSignal.timeout(2000) }) }
}

async function startSmtpServer(): Promise<{ port: number; close(): Promise<void> }> {
  const { SMTPServer } = await import('smtp-server')
  const server = new SMTPServer({
    name: 'bench.example.test',
    secure: false,
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    // smtpkit does no reverse DNS; neither may the server it is compared with.
    disableReverseLookup: true,
    logger: false,
    maxClients: 100_000,
    onData(stream, _session, callback) {
      stream.on('end', () => callback())
      stream.resume()
    },
  })
  server.on('error', (error) => console.error('smtp-server:', error))
  server.listen(0, host, 4096)
  await once(server.server, 'listening')
  const address = server.server.address()
  if (address === null || typeof address === 'string') throw new Error('smtp-server has no TCP address')
  return { port: address.port, close: () => new Promise((resolve) => server.close(() => resolve())) }
}

const started =
  kind === 'smtpkit' ? await startSmtpkit() : kind === 'smtp-server' ? await startSmtpServer() : kind === 'node-floor' ? await startNodeFloor(host) : undefined
if (!started) throw new Error(`unknown server kind ${JSON.stringify(kind)}; use smtpkit, smtp-server or node-floor`)
process.stdout.write(`${JSON.stringify({ port: started.port })}\n`)
const inspector = new Session()
createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, file] = line.split(' ')
  if (command === 'profile-start') {
    inspector.connect()
    void inspector
      .post('Profiler.enable')
      .then(() => inspector.post('Profiler.start'))
      .then(() => process.stdout.write('profiling\n'))
  } else if (command === 'profile-stop' && file) {
    void inspector.post('Profiler.stop').then(({ profile }) => {
      writeFileSync(file, JSON.stringify(profile))
      inspector.disconnect()
      process.stdout.write('profiled\n')
    })
  }
})
process.once('SIGTERM', () => {
  const exit = setTimeout(() => process.exit(0), 3000)
  exit.unref()
  void started.close().finally(() => process.exit(0))
})
