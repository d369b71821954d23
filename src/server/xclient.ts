import { isIP } from 'node:net'
import { decodeXtext } from '../protocol/params.ts'
import type { ConnectionState, Wire } from './wire.ts'
import { resetTransaction } from './transaction.ts'

// Postfix's XCLIENT_README: attribute=value pairs, values in xtext; [UNAVAILABLE] and
// [TEMPUNAVAIL] say the proxy does not know.
const ATTRIBUTE = /^([A-Za-z]+)=(\S*)$/
const UNKNOWN = new Set(['[UNAVAILABLE]', '[TEMPUNAVAIL]'])
const HELO_NAME = /^[^\s\x00-\x1f\x7f]+$/

/**
 * XCLIENT (Postfix's extension): a trusted client (the `xclient` option) says who the real
 * client is: NAME, ADDR, PORT, PROTO, HELO, LOGIN. The transaction is dropped and the server
 * greets again with `220`, as Postfix does; what follows is the proxied client's session.
 */
export async function xclient(wire: Wire, state: ConnectionState, args: string): Promise<void> {
  const pairs = args.split(' ').filter((word) => word !== '')
  if (pairs.length === 0) return wire.reply(501, '5.5.4', 'Syntax: XCLIENT attribute=value ...')
  const update: { name?: string | undefined; addr?: string; port?: number; proto?: 'SMTP' | 'ESMTP'; helo?: string | undefined; login?: string | undefined } = {}
  for (const pair of pairs) {
    const match = ATTRIBUTE.exec(pair)
    if (!match) return wire.reply(501, '5.5.4', `Bad XCLIENT attribute: ${pair}`)
    const key = match[1]!.toUpperCase()
    let value: string
    try {
      value = decodeXtext(match[2]!)
    } catch {
      return wire.reply(501, '5.5.4', `Bad xtext in XCLIENT attribute ${key}`)
    }
    const unknown = UNKNOWN.has(value)
    switch (key) {
      case 'NAME':
        if (!unknown && !HELO_NAME.test(value)) return wire.reply(501, '5.5.4', 'Bad XCLIENT NAME')
        update.name = unknown ? undefined : value
        break
      case 'ADDR': {
        const address = value.replace(/^IPV6:/i, '')
        if (unknown || isIP(address) === 0) return wire.reply(501, '5.5.4', 'Bad XCLIENT ADDR: an IPv4 or IPv6 address')
        update.addr = address
        break
      }
      case 'PORT': {
        const port = Number(value)
        if (unknown || !/^\d{1,5}$/.test(value) || port > 65535) return wire.reply(501, '5.5.4', 'Bad XCLIENT PORT')
        update.port = port
        break
      }
      case 'PROTO':
        if (value.toUpperCase() !== 'SMTP' && value.toUpperCase() !== 'ESMTP') return wire.reply(501, '5.5.4', 'Bad XCLIENT PROTO: SMTP or ESMTP')
        update.proto = value.toUpperCase() as 'SMTP' | 'ESMTP'
        break
      case 'HELO':
        if (!unknown && !HELO_NAME.test(value)) return wire.reply(501, '5.5.4', 'Bad XCLIENT HELO')
        update.helo = unknown ? undefined : value
        break
      case 'LOGIN':
        update.login = unknown || value === '' ? undefined : value
        break
      default:
        // DESTADDR, DESTPORT and attributes of later Postfix versions: accepted, not used.
        break
    }
  }
  await resetTransaction(wire, state)
  const { info } = state
  if ('name' in update) info.clientHostname = update.name
  if (update.addr !== undefined) info.remoteAddress = update.addr
  if (update.port !== undefined) info.remotePort = update.port
  if ('login' in update) {
    info.authenticatedAs = update.login
    info.user = undefined
  }
  // The proxied client greets anew; HELO and PROTO say how it greeted the proxy.
  info.helo = update.helo
  info.isEsmtp = update.helo !== undefined && update.proto !== 'SMTP'
  state.advertised = new Set()
  wire.debugLine(`XCLIENT: now ${info.remoteAddress} port ${info.remotePort}${info.clientHostname ? ` (${info.clientHostname})` : ''}`)
  wire.greet()
}
