// Cuts a buffer or string into consecutive pieces at the given offsets (taken modulo its length
// + 1, duplicates ignored), for "any split of the input into chunks gives the same output"
// properties. Empty pieces are kept: parsers must handle them too.
export function splitAt<T extends Uint8Array | string>(input: T, cuts: readonly number[]): T[] {
  const points = [...new Set(cuts.map((cut) => cut % (input.length + 1)))].sort((a, b) => a - b)
  const pieces: T[] = []
  let last = 0
  for (const point of points) {
    pieces.push(piece(input, last, point))
    last = point
  }
  pieces.push(piece(input, last, input.length))
  return pieces
}

function piece<T extends Uint8Array | string>(input: T, from: number, to: number): T {
  return (typeof input === 'string' ? input.slice(from, to) : input.subarray(from, to)) as T
}
