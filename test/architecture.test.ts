// Keeps the module graph of STYLE §2.2 honest: each layer imports only what it may.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, dirname, resolve } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const src = join(root, 'src')

const allowed: Record<string, readonly string[]> = {
  options: ['options'],
  protocol: ['protocol', 'options'],
  sasl: ['sasl', 'options'],
  message: ['message', 'options'],
  dkim: ['dkim', 'protocol', 'options'],
  client: ['client', 'protocol', 'sasl', 'options'],
  // sendMail and Pool that compose: the one place besides the root, cli and catcher where the
  // client meets the composer, so the client itself stays bytes-only.
  mailer: ['mailer', 'client', 'message', 'protocol', 'options'],
  server: ['server', 'protocol', 'sasl', 'options'],
  // The mail catcher: a server whose messages are parsed and shown, and released by a client.
  catcher: ['catcher', 'server', 'client', 'message', 'protocol', 'options'],
  cli: ['cli', 'catcher', 'mailer', 'client', 'server', 'message', 'dkim', 'sasl', 'protocol', 'options'],
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : []
  })
}

test('layers import only the layers STYLE allows, and no runtime dependency', () => {
  const problems: string[] = []
  for (const file of files(src)) {
    const layer = relative(src, file).split('/')[0]!
    const text = readFileSync(file, 'utf8')
    for (const match of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
      const spec = match[1]!
      if (spec.startsWith('.')) {
        const target = relative(src, resolve(dirname(file), spec)).split('/')[0]!
        if (layer.endsWith('.ts')) continue // src/index.ts re-exports every layer
        if (!allowed[layer]?.includes(target)) problems.push(`${relative(root, file)} imports ${spec} (${layer} -> ${target})`)
      } else if (!spec.startsWith('node:')) {
        problems.push(`${relative(root, file)} imports package ${spec}: smtpkit has no runtime dependencies`)
      }
    }
  }
  assert.deepEqual(problems, [])
})
