// The server's pass over message bytes, alone and in-process: DotDecoder (DATA) and BdatDecoder
// (BDAT), which find the end, unstuff and check every content rule in one call per chunk, against
// the three passes they replaced (test/helpers/three-pass-body.ts: the old DotDecoder, a NUL
// search over the decoded parts, and a CrlfNormalizer when bare line endings are accepted; for
// BDAT, TextBodyCheck). Prints the CPU milliseconds per MB, the median of 7 runs after 3 warm-ups.
//
//   node --import tsx bench/body-decoder.ts
//
// Messages are 76-octet lines cut into 64 KiB chunks, as a socket hands them out: 1 KB ones (2000
// per run), and 1 MB ones (20 per run) with no dot-stuffed line or every tenth stuffed.
import { BdatDecoder, CrlfNormalizer, DotDecoder } from '../src/protocol/dot-stuffing.ts'
import { ThreePassDotDecoder, ThreePassTextBodyCheck } from '../test/helpers/three-pass-body.ts'

const CHUNK_BYTES = 64 * 1024

// A body of `bytes` octets or a little more in 76-octet lines, every `stuffedEvery`th one starting with a stuffed dot.
function body(bytes: number, stuffedEvery: number): Buffer {
  const lines: string[] = []
  for (let n = 0, i = 0; n < bytes; i++) {
    const line = `${i % stuffedEvery === 0 ? '..' : ''}${'x'.repeat(74)}\r\n`
    lines.push(line)
    n += line.length
  }
  return Buffer.from(lines.join(''), 'latin1')
}

function chunks(buf: Buffer): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; i < buf.length; i += CHUNK_BYTES) out.push(buf.subarray(i, i + CHUNK_BYTES))
  return out
}

function cpuMsPerMb(megabytes: number, run: () => void): number {
  for (let i = 0; i < 3; i++) run()
  const runs: number[] = []
  for (let i = 0; i < 7; i++) {
    const start = process.cpuUsage()
    run()
    const used = process.cpuUsage(start)
    runs.push((used.user + used.system) / 1000 / megabytes)
  }
  return runs.sort((a, b) => a - b)[3]!
}

function oneDot(parts: readonly Buffer[], normalize: boolean): void {
  const decoder = new DotDecoder({ maxBytes: 1e9, normalizeLineEndings: normalize })
  for (const part of parts) decoder.decode(part)
  if (!decoder.done || decoder.sawNul || decoder.sawBareLineEnding || decoder.sawLongLine || decoder.exceededMaxBytes) throw new Error('unexpected finding')
}

function threeDot(parts: readonly Buffer[], normalize: boolean): void {
  const decoder = new ThreePassDotDecoder(1000)
  const normalizer = normalize ? new CrlfNormalizer() : undefined
  let nul = false
  for (const part of parts) {
    for (const piece of decoder.decode(part).body) {
      if (piece.includes(0)) nul = true
      normalizer?.encode(piece)
    }
  }
  normalizer?.end()
  if (!decoder.done || nul || decoder.sawBareLineEnding || decoder.sawLongLine) throw new Error('unexpected finding')
}

function oneBdat(parts: readonly Buffer[]): void {
  const decoder = new BdatDecoder()
  for (const part of parts) decoder.decode(part)
  decoder.finish()
  if (decoder.sawNul || decoder.sawBareLineEnding || decoder.sawLongLine) throw new Error('unexpected finding')
}

function threeBdat(parts: readonly Buffer[]): void {
  const check = new ThreePassTextBodyCheck(1000)
  for (const part of parts) check.scan(part)
  check.end()
  if (check.sawNul || check.sawBareLineEnding || check.sawLongLine) throw new Error('unexpected finding')
}

console.log(`# The server's pass over message bytes (node ${process.version}), CPU ms per MB: one pass / the three passes it replaced`)
console.log('message                              DATA            DATA, bare line endings repaired   BDAT')
for (const [name, bytes, stuffedEvery, perRun] of [
  ['1 KB', 1000, Infinity, 2000],
  ['1 MB', 1 << 20, Infinity, 20],
  ['1 MB, every 10th line stuffed', 1 << 20, 10, 20],
] as const) {
  const raw = body(bytes, stuffedEvery)
  const data = chunks(Buffer.concat([raw, Buffer.from('.\r\n', 'latin1')]))
  const bdat = chunks(raw)
  const megabytes = (raw.length * perRun) / 1e6
  const repeat = (fn: () => void) => () => {
    for (let i = 0; i < perRun; i++) fn()
  }
  const cells = [
    [cpuMsPerMb(megabytes, repeat(() => oneDot(data, false))), cpuMsPerMb(megabytes, repeat(() => threeDot(data, false)))],
    [cpuMsPerMb(megabytes, repeat(() => oneDot(data, true))), cpuMsPerMb(megabytes, repeat(() => threeDot(data, true)))],
    [cpuMsPerMb(megabytes, repeat(() => oneBdat(bdat))), cpuMsPerMb(megabytes, repeat(() => threeBdat(bdat)))],
  ].map(([one, three]) => `${one!.toFixed(2)} / ${three!.toFixed(2)}`)
  console.log(`${name.padEnd(36)} ${cells[0]!.padEnd(15)} ${cells[1]!.padEnd(34)} ${cells[2]}`)
}
