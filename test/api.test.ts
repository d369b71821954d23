// Keeps the public surface deliberate: the names each entry point of package.json `exports`
// publishes, runtime values and types, must match the committed snapshot test/api-snapshot.txt.
// A new export, a removed one or a new entry point fails here until the snapshot is updated on
// purpose (the failure message says how), so internals never leak out by accident.
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath, pathToFileURL } from 'node:url'
import ts from 'typescript'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const snapshotPath = join(root, 'test/api-snapshot.txt')
const UPDATE_COMMAND = 'UPDATE_API_SNAPSHOT=1 node scripts/run-tests.js test/api.test.ts'

/** Each published entry (`smtpkit`, `smtpkit/client`, ...) and the source file behind it. */
function entryPoints(): { name: string; source: string }[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; exports: Record<string, string | { default: string }> }
  const entries: { name: string; source: string }[] = []
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    const file = typeof target === 'string' ? target : target.default
    if (!file.endsWith('.js')) continue // ./package.json
    const source = file.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')
    entries.push({ name: subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`, source: join(root, source) })
  }
  return entries
}

/** Every exported name of each source file (values and types), by the compiler's reading. */
function exportedNames(sources: readonly string[]): Map<string, string[]> {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })
  assert.ok(config, 'tsconfig.json did not parse')
  const program = ts.createProgram(sources, config.options)
  const checker = program.getTypeChecker()
  const names = new Map<string, string[]>()
  for (const source of sources) {
    const file = program.getSourceFile(source)
    assert.ok(file, `${source} is not in the program`)
    const symbol = checker.getSymbolAtLocation(file)
    names.set(source, symbol ? checker.getExportsOfModule(symbol).map((s) => s.name) : [])
  }
  return names
}

/** The surface as text: one entry point per paragraph, one name per line, values before types. */
async function describeSurface(): Promise<string> {
  const entries = entryPoints()
  const all = exportedNames(entries.map((e) => e.source))
  const blocks: string[] = []
  for (const entry of entries) {
    const runtime = new Set(Object.keys(await import(pathToFileURL(entry.source).href) as object))
    const types = all.get(entry.source)!.filter((name) => !runtime.has(name))
    blocks.push([entry.name, ...[...runtime].sort().map((n) => `  ${n}`), ...types.sort().map((n) => `  type ${n}`)].join('\n'))
  }
  return `${blocks.join('\n\n')}\n`
}

test('the public API of every entry point matches test/api-snapshot.txt', async () => {
  const actual = await describeSurface()
  if (process.env.UPDATE_API_SNAPSHOT === '1') {
    writeFileSync(snapshotPath, actual)
    return
  }
  let expected = ''
  try {
    expected = readFileSync(snapshotPath, 'utf8')
  } catch {
    // No snapshot yet: the comparison below fails with the update command.
  }
  assert.equal(
    actual,
    expected,
    `The public API changed (+ is what the code exports now, - is the snapshot). If the change is deliberate, run\n  ${UPDATE_COMMAND}\nand commit test/api-snapshot.txt with it; otherwise export the name from its own module instead of an entry point (tests import internals from src/ paths).`,
  )
})
