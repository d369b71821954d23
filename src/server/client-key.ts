import { isIPv4 } from 'node:net'
import type { ProxyHeader } from './proxy-protocol.ts'

/** What the per-client limits know of a client: its address, and the PROXY header that named it. */
export interface ClientOrigin {
  readonly remoteAddress: string
  readonly proxy?: ProxyHeader | undefined
}

// Every client behind a proxy's Unix socket shares one key: its path is the proxy's to choose
// (empty, or different each time), so counting by path would let any one client escape a limit.
const UNIX_SOURCE_KEY = 'unix:'

/**
 * The key under which the per-client limits count a client, or undefined when it is not counted:
 * loopback, unless `countLoopback` (the machine's own test suites and tools, as Postfix exempts
 * `$mynetworks` from its client limits), and an unknown address (a Duplex given to `handle`
 * without one). An IPv4 address written as IPv4-mapped IPv6 is the same client.
 */
export function clientKey(client: ClientOrigin, countLoopback: boolean): string | undefined {
  if (client.proxy?.command === 'PROXY' && client.proxy.family === 'UNIX') return UNIX_SOURCE_KEY
  const { remoteAddress } = client
  const address = remoteAddress.startsWith('::ffff:') && remoteAddress.includes('.') ? remoteAddress.slice(7) : remoteAddress
  if (address === '') return undefined
  if (!countLoopback && isLoopback(address)) return undefined
  return address
}

function isLoopback(address: string): boolean {
  return address === '::1' || (address.startsWith('127.') && isIPv4(address))
}
