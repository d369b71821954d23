// Builds a Go peer from bench/peers offline against Debian's go-smtp (bench/setup-peers.sh
// installs it), into a temporary directory, so the benchmarks need no module download.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const peers = fileURLToPath(new URL('../peers', import.meta.url))

/** Builds bench/peers/`name`.go; rejects saying what to install when Go or go-smtp is missing. */
export async function buildGoPeer(name: string): Promise<{ binary: string; remove(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'smtpkit-bench-go-'))
  const remove = (): void => rmSync(dir, { recursive: true, force: true })
  const binary = join(dir, name)
  const child = spawn('go', ['build', '-o', binary, `${name}.go`], {
    cwd: peers,
    env: { ...process.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOCACHE: join(dir, 'cache') },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  // once() rejects on 'error' (no go on PATH): a missing compiler reads as a failed build.
  const [code] = (await once(child, 'exit').catch(() => [null])) as [number | null]
  if (code !== 0) {
    remove()
    throw new Error(`building ${name} failed (exit ${String(code)}); run bench/setup-peers.sh (golang-go, golang-github-emersion-go-smtp-dev)`)
  }
  return { binary, remove }
}
