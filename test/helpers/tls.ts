// Committed TLS fixtures for tests: a CA, a server certificate for localhost, 127.0.0.1, ::1 and
// mx.example.test signed by it, a client certificate, and a self-signed certificate that no test
// trusts. Valid for a hundred years; regenerate with openssl if ever needed.
import { readFileSync } from 'node:fs'

const dir = new URL('./tls-fixtures/', import.meta.url)
const read = (name: string): string => readFileSync(new URL(name, dir), 'utf8')

export const ca = read('ca.crt')
export const serverCert = read('server.crt')
export const serverKey = read('server.key')
export const clientCert = read('client.crt')
export const clientKey = read('client.key')
export const selfSignedCert = read('selfsigned.crt')
export const selfSignedKey = read('selfsigned.key')
