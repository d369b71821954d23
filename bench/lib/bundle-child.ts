// Runs a benchmark's child without tsx. Loading tsx costs a child about 48 MB of RSS and its
// loader hooks some CPU, which every Node row would then report as its own; compiled once with
// esbuild (already installed as tsx's compiler), the child starts as a plain `node` process, the
// way users run smtpkit and the way the Python and Go peers are measured.
import { mkdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import type * as Esbuild from 'esbuild'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))
// Inside node_modules, so the bundle's bare imports (nodemailer, mailparser, ...) resolve as
// they would from the repository.
const outDir = join(root, 'node_modules', '.cache', 'smtpkit-bench')
const bundles = new Map<string, Promise<string | undefined>>()

/**
 * The path of `script` bundled into one ESM file (packages left external), built once per
 * process; undefined when esbuild cannot be loaded, and the caller then runs the script with tsx.
 * Each source file keeps its own `import.meta.url`, so paths it derives from it stay right.
 */
export function bundledChild(script: string): Promise<string | undefined> {
  let bundle = bundles.get(script)
  if (!bundle) {
    bundle = build(script)
    bundles.set(script, bundle)
  }
  return bundle
}

async function build(script: string): Promise<string | undefined> {
  let esbuild: typeof Esbuild
  try {
    esbuild = await import('esbuild')
  } catch {
    console.error('note: esbuild is not installed; benchmark children run with tsx, whose ~48 MB shows in their RSS')
    return undefined
  }
  mkdirSync(outDir, { recursive: true })
  const outfile = join(outDir, basename(script).replace(/\.ts$/, '.mjs'))
  await esbuild.build({
    entryPoints: [script],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
    plugins: [{
      name: 'own-import-meta-url',
      setup(build) {
        build.onLoad({ filter: /\.ts$/ }, async (args) => ({
          contents: (await readFile(args.path, 'utf8')).replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)),
          loader: 'ts',
        }))
      },
    }],
  })
  return outfile
}
