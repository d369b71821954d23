#!/usr/bin/env node
// The smtpkit command: dispatches to `serve` or `send`. Kept free of logic so that both commands
// stay thin layers over the library's public calls.
import { mainHelp } from './help.ts'
import { exitStatus } from './exit-status.ts'
import { runSend } from './send.ts'
import { runServe } from './serve.ts'
import { readVersion } from './version.ts'

const commands: Record<string, (args: string[]) => Promise<number>> = {
  send: runSend,
  serve: runServe,
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(mainHelp)
    return command === undefined ? exitStatus.usage : exitStatus.ok
  }
  if (command === '-v' || command === '--version') {
    process.stdout.write(`smtpkit ${readVersion()}\n`)
    return exitStatus.ok
  }
  const run = commands[command]
  if (run === undefined) {
    process.stderr.write(`smtpkit: unknown command ${JSON.stringify(command)}; the commands are serve and send\nRun "smtpkit --help" for usage.\n`)
    return exitStatus.usage
  }
  return run(rest)
}

try {
  process.exitCode = await main(process.argv.slice(2))
} catch (error) {
  // The commands report what they expect; anything else still gets one line, not a stack trace.
  process.stderr.write(`smtpkit: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
}
