// Where a one-shot sendMail spends its CPU: N times, one connection each, to Postfix's smtp-sink,
// timing each step on its own (TCP connect, greeting, EHLO, the transaction, QUIT and close)
// with process.cpuUsage(), and sendMail itself as a whole for comparison.
//
//   node --import tsx bench/send-mail-steps.ts [--n 1000] [--built]
//
// --built compiles src/ with tsc first and measures that, as users run it (tsx wraps closures).
// CPU per step is the process's CPU between the step's start and its end, so it includes what
// Node does for the socket meanwhile (reads, timers); steps run one at a time, nothing else runs.
import { connect } from 'node:net'
import { once } from 'node:events'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type * as ClientModule from '../src/client/index.ts'
import { buildSmtpkit } from './lib/build-smtpkit.ts'
import { positiveInteger, printTable } from './lib/child-job.ts'

const { values } = parseArgs({ options: { n: { type: 'string' }, built: { type: 'boolean' } } })
const n = positiveInteger(values.n, 'BENCH_N', 1000)
const { startSmtpSink, smtpSinkPath } = await import('../test/helpers/peers.ts')
if (!smtpSinkPath()) {
  console.error('smtp-sink is not installed (Debian package postfix); nothing to measure against')
  process.exit(1)
}
const build = values.built === true ? await buildSmtpkit() : undefined
const { Client, sendMail } = (build ? await import(pathToFileURL(join(build.dir, 'client', 'index.js')).href) : await import('../src/client/index.ts')) as typeof ClientModule
const sink = await startSmtpSink(['-m', '64', '-t', '600'], 512)
const FROM = 'bench@example.test'
const TO = 'sink@example.test'
const message = `From: ${FROM}\r\nTo: ${TO}\r\nSubject: steps\r\n\r\n${'The quick brown fox jumps over the lazy dog.\r\n'.repeat(40)}`
const options = { host: sink.host, port: sink.port, tls: 'none' as const, localName: 'bench.example.test' }

const steps = ['TCP connect', 'greeting', 'EHLO', 'transaction', 'QUIT and close'] as const
const cpu = new Map<string, number>(steps.map((s) => [s, 0]))
const cpuMs = (from: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(from)
  return (used.user + used.system) / 1000
}
try {
  for (let i = 0; i < 20; i++) await sendMail(options, { from: FROM, to: TO, message })
  for (let i = 0; i < n; i++) {
    let mark = process.cpuUsage()
    const step = (name: (typeof steps)[number]): void => {
      cpu.set(name, cpu.get(name)! + cpuMs(mark))
      mark = process.cpuUsage()
    }
    const socket = connect({ host: sink.host, port: sink.port })
    socket.setNoDelay(true)
    await once(socket, 'connect')
    step('TCP connect')
    const client = await Client.fromSocket(socket, { localName: 'bench.example.test' })
    step('greeting')
    await client.hello()
    step('EHLO')
    await client.send({ from: FROM, to: TO, message })
    step('transaction')
    await client.quit()
    if (!socket.destroyed) await once(socket, 'close')
    step('QUIT and close')
  }
  global.gc?.()
  const start = process.cpuUsage()
  for (let i = 0; i < n; i++) await sendMail(options, { from: FROM, to: TO, message })
  const whole = cpuMs(start) / n
  const rows = [['step', 'CPU ms per message']]
  let sum = 0
  for (const name of steps) {
    sum += cpu.get(name)! / n
    rows.push([name, (cpu.get(name)! / n).toFixed(3)])
  }
  rows.push(['sum of the steps', sum.toFixed(3)], ['sendMail, whole', whole.toFixed(3)])
  printTable(rows)
  console.log(`\n${n} messages each way to smtp-sink on loopback${build ? ', built with tsc' : ', through tsx'}.`)
} finally {
  await sink.stop()
  build?.remove()
}
