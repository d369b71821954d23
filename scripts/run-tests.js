// Runs every test file under test/ (or the folders and files given as arguments) with
// node's test runner, loading TypeScript through tsx. Node 20's runner cannot glob, so we list.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

function collect(path, out) {
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path).sort()) collect(join(path, name), out)
  } else if (path.endsWith('.test.ts')) {
    out.push(path)
  }
  return out
}

const roots = process.argv.slice(2)
const files = (roots.length > 0 ? roots : ['test']).flatMap((root) => collect(root, []))
if (files.length === 0) {
  console.error('no test files found')
  process.exit(1)
}
// --test-timeout bounds each test file's process as a whole: a file whose tests start child
// processes (the CLI, a packed install) needs minutes on a loaded machine, not a bug.
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-timeout=300000', ...files],
  { stdio: 'inherit' },
)
process.exit(result.status ?? 1)
