import { lookup, reverse } from 'node:dns/promises'

/**
 * The client's host name, forward-confirmed: the first PTR name of `address` whose own addresses
 * include `address` again (so a PTR record alone, which whoever owns the address block writes,
 * cannot claim any name). Undefined when there is none or a lookup fails.
 */
export async function confirmedHostname(address: string): Promise<string | undefined> {
  let names: string[]
  try {
    names = await reverse(address)
  } catch {
    return undefined
  }
  for (const name of names.slice(0, 5)) {
    try {
      const addresses = await lookup(name, { all: true })
      if (addresses.some((entry) => entry.address === address)) return name.replace(/\.$/, '')
    } catch {
      // Try the next name.
    }
  }
  return undefined
}
