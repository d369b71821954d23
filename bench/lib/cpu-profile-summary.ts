// Reads a V8 .cpuprofile (from `node --cpu-prof`) and lists where the time went: self time per
// function and per file, as a share of all samples. Also runnable alone:
// `node --import tsx bench/lib/cpu-profile-summary.ts FILE.cpuprofile [TOP]`.
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'

interface ProfileNode {
  id: number
  parent?: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

/** One line of a summary: a function (or file) and its share of the sampled time. */
export interface ProfileEntry {
  readonly name: string
  readonly selfMs: number
  readonly percent: number
}

const root = fileURLToPath(new URL('../../', import.meta.url))

function location(url: string): string {
  if (url === '') return '(native)'
  const path = url.startsWith('file://') ? fileURLToPath(url) : url
  // The benchmark's tsc build of src/ lives in a temporary directory: name it as its source.
  const built = /\/smtpkit-bench-[^/]+\/(.*)\.js$/.exec(path)
  if (built) return `src/${built[1]}.ts (built)`
  return path.startsWith('/') ? relative(root, path) : path
}

/**
 * Self time by function (`file:line function`) and by file, and the total (inclusive) time of
 * smtpkit's own functions, largest first. Lines are those of the file that ran.
 */
export function summarizeCpuProfile(path: string, top = 25): { byFunction: ProfileEntry[]; byFile: ProfileEntry[]; inclusive: ProfileEntry[]; totalMs: number } {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
  for (const node of profile.nodes) for (const child of node.children ?? []) nodes.get(child)!.parent = node.id
  const keyOf = (node: ProfileNode): string => `${location(node.callFrame.url)}:${node.callFrame.lineNumber + 1} ${node.callFrame.functionName || '(anonymous)'}`
  const selfUs = new Map<number, number>()
  for (const [i, id] of profile.samples.entries()) selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  let totalUs = 0
  const byFunction = new Map<string, number>()
  const byFile = new Map<string, number>()
  const inclusive = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const frame = nodes.get(id)?.callFrame
    if (!frame) continue
    totalUs += us
    const file = location(frame.url)
    const name = keyOf(nodes.get(id)!)
    byFunction.set(name, (byFunction.get(name) ?? 0) + us)
    byFile.set(file, (byFile.get(file) ?? 0) + us)
    // Inclusive: every distinct function on the stack (recursion counted once).
    const onStack = new Set<string>()
    for (let node = nodes.get(id); node; node = node.parent === undefined ? undefined : nodes.get(node.parent)) {
      if (node.callFrame.url.includes('/src/') || node.callFrame.url.includes('/smtpkit-bench-')) onStack.add(keyOf(node))
    }
    for (const key of onStack) inclusive.set(key, (inclusive.get(key) ?? 0) + us)
  }
  const rank = (map: Map<string, number>): ProfileEntry[] =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: us / 1000, percent: (100 * us) / totalUs }))
  return { byFunction: rank(byFunction), byFile: rank(byFile), inclusive: rank(inclusive), totalMs: totalUs / 1000 }
}

/** The summary as text lines. */
export function formatCpuProfileSummary(path: string, top = 25): string {
  const { byFunction, byFile, inclusive, totalMs } = summarizeCpuProfile(path, top)
  const line = (e: ProfileEntry): string => `  ${e.percent.toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(0).padStart(7)} ms  ${e.name}`
  return [`${path}: ${totalMs.toFixed(0)} ms sampled`, ' self time by function:', ...byFunction.map(line), ' self time by file:', ...byFile.map(line), ' total time of smtpkit functions (with callees):', ...inclusive.map(line)].join('\n')
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, top] = process.argv.slice(2)
  if (!file) throw new Error('usage: cpu-profile-summary.ts FILE.cpuprofile [TOP]')
  console.log(formatCpuProfileSummary(file, top ? Number(top) : 25))
}
