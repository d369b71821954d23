import type { Duplex } from 'node:stream'
import { TLSSocket } from 'node:tls'
import type { ConnectionState, Wire } from './wire.ts'
import type { ResolvedServerOptions } from './server-options.ts'
import type { TlsInfo } from './session.ts'
import { resetTransaction } from './transaction.ts'
import { Deadline } from './deadline.ts'

/**
 * STARTTLS (RFC 3207): `220 2.0.0`, then the handshake on the same stream. Whatever the client
 * pipelined after the command is thrown away unread (§4.2; CVE-2011-0411), and the session
 * starts over: the EHLO name, any authentication and the transaction are forgotten, so the
 * client must send EHLO again.
 */
export async function startTls(wire: Wire, state: ConnectionState, args: string): Promise<void> {
  if (args !== '') return wire.reply(501, '5.5.4', 'Syntax: STARTTLS (no parameters)')
  wire.reply(220, '2.0.0', 'Ready to start TLS')
  if (!(await wire.upgradeToTls())) return
  await resetTransaction(wire, state)
  state.info.helo = undefined
  state.info.isEsmtp = false
  state.info.authenticatedAs = undefined
  state.info.user = undefined
  state.advertised = new Set()
}

/**
 * Starts server-side TLS on `stream` (a plain socket, or any Duplex) with the server's context,
 * and settles once the handshake is done. Rejects when it fails, the stream closes, or
 * `timeoutMs` passes (on `deadline`, the connection's one timer); the TLS socket is destroyed then.
 */
export async function wrapInTls(stream: Duplex, options: ResolvedServerOptions, timeoutMs: number, deadline: Deadline = new Deadline()): Promise<TLSSocket> {
  const { tls, secureContext } = options
  if (!tls || !secureContext) throw new Error('TLS is not configured (the server has no tls option)')
  const socket = new TLSSocket(stream, {
    isServer: true,
    secureContext,
    requestCert: tls.requestCert ?? false,
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
    ...(tls.SNICallback ? { SNICallback: tls.SNICallback } : {}),
    ...(tls.ALPNProtocols ? { ALPNProtocols: tls.ALPNProtocols } : {}),
  })
  try {
    await new Promise<void>((resolve, reject) => {
      const onTimeout = (): void => done(new Error('TLS handshake timed out'))
      deadline.start(timeoutMs, onTimeout)
      const onSecure = (): void => done()
      const onError = (error: Error): void => done(error)
      const onClose = (): void => done(new Error('the connection closed during the TLS handshake'))
      function done(error?: Error): void {
        deadline.stop(onTimeout)
        socket.off('secure', onSecure)
        socket.off('error', onError)
        socket.off('close', onClose)
        if (error) reject(error)
        else resolve()
      }
      socket.on('secure', onSecure)
      socket.on('error', onError)
      socket.on('close', onClose)
    })
  } catch (error) {
    socket.on('error', () => {})
    socket.destroy()
    throw error
  }
  // A standalone TLSSocket only emits its TLS errors (a renegotiation attack, a bad record); a
  // tls.Server would drop the client, and so do we: nothing after such an error can be trusted.
  socket.on('error', () => socket.destroy())
  return socket
}

/** The TLS details recorded in `ConnectionInfo.tls`. */
export function describeTls(socket: TLSSocket): TlsInfo {
  const cert = socket.getPeerCertificate()
  return {
    protocol: socket.getProtocol(),
    cipher: socket.getCipher().name,
    peerCertificate: cert && Object.keys(cert).length > 0 ? cert : undefined,
    authorized: socket.authorized,
  }
}
