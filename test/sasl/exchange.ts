// Drives a client mechanism against a server mechanism the way the SMTP layer would, minus base64.
import type { ClientMechanism, ServerMechanism } from '../../src/sasl/mechanism.ts'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** UTF-8 bytes of a string. */
export function bytes(text: string): Uint8Array {
  return encoder.encode(text)
}

/** A string from UTF-8 bytes. */
export function text(data: Uint8Array): string {
  return decoder.decode(data)
}

/**
 * Runs a whole exchange: the client's initial response (or none), then challenge/response until
 * the server is done (resolves with its identity) or rejects. Bounded at 10 round trips.
 */
export async function exchange(
  client: ClientMechanism,
  server: ServerMechanism,
  options: { sendInitialResponse?: boolean } = {},
): Promise<string> {
  let step = await server.next(options.sendInitialResponse === false ? null : client.start())
  for (let round = 0; round < 10; round++) {
    if (step.done) return step.identity
    step = await server.next(client.next(step.challenge))
  }
  throw new Error('the exchange did not finish in 10 rounds')
}
