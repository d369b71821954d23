import { readFileSync } from 'node:fs'

/**
 * The version in smtpkit's package.json. The path is the same from `src/cli/` and from the
 * compiled `dist/cli/`, so this works both unbuilt and installed.
 */
export function readVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown }
  return typeof manifest.version === 'string' ? manifest.version : 'unknown'
}
