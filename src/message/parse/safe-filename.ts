// Names Windows reserves for devices, with or without an extension.
const RESERVED = /^(?:con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(?:\..*)?$/i
const MAX_BYTES = 200

/**
 * Turns a file name from a message (an attacker's choice) into one safe to create in a
 * directory: no path separators (`/`, `\`), no control or format characters, none of the
 * characters Windows refuses (`<>:"|?*`), no leading dots or trailing dots and spaces, no
 * reserved device name (CON, NUL, COM1, ...), at most 200 UTF-8 bytes (the extension kept).
 * What is refused becomes `_`. An empty result becomes `fallback` (default `attachment`).
 * Unicode is normalised to NFC.
 */
export function safeFilename(name: string | undefined, fallback = 'attachment'): string {
  let safe = (name ?? '')
    .normalize('NFC')
    .replace(/[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}/\\<>:"|?*]/gu, '_')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^[.\s]+/, '')
    .replace(/[.\s]+$/, '')
  if (RESERVED.test(safe)) safe = `_${safe}`
  if (Buffer.byteLength(safe) > MAX_BYTES) {
    const dot = safe.lastIndexOf('.')
    const extension = dot > 0 && safe.length - dot <= 16 ? safe.slice(dot) : ''
    let stem = ''
    let bytes = Buffer.byteLength(extension)
    for (const char of safe.slice(0, safe.length - extension.length)) {
      bytes += Buffer.byteLength(char)
      if (bytes > MAX_BYTES) break
      stem += char
    }
    safe = stem.trimEnd() + extension
  }
  return safe === '' ? fallback : safe
}
