import { createHash, createPrivateKey, KeyObject, sign, verify } from 'node:crypto'
import type { DkimKeyType } from './dns-key.ts'

/** The signing algorithms smtpkit signs and verifies: RFC 6376 RSA and RFC 8463 Ed25519. */
export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256'

/**
 * A private key: a KeyObject, PEM text (string or bytes, PKCS#8 or PKCS#1), DER PKCS#8 bytes, or
 * the 32-byte Ed25519 seed that RFC 8463 Appendix A prints.
 */
export type PrivateKeyInput = KeyObject | string | Uint8Array

const MIN_RSA_BITS = 1024

// DER prefix of an Ed25519 PKCS#8 PrivateKeyInfo, before the 32-byte seed (RFC 8410 §7).
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

/** The key type an algorithm needs. */
export function keyTypeOf(algorithm: DkimAlgorithm): DkimKeyType {
  return algorithm === 'rsa-sha256' ? 'rsa' : 'ed25519'
}

/**
 * Turns `input` into a private KeyObject and works out the algorithm from its type (RSA gives
 * `rsa-sha256`, Ed25519 `ed25519-sha256`). Throws a TypeError when the key cannot be read, is of
 * another type, does not match `algorithm`, or is an RSA key under 1024 bits (RFC 8301 §3.2).
 */
export function loadPrivateKey(input: PrivateKeyInput, algorithm?: DkimAlgorithm): { key: KeyObject; algorithm: DkimAlgorithm } {
  const key = toKeyObject(input)
  if (key.type !== 'private') throw new TypeError(`DKIM privateKey must be a private key, got a ${key.type} key`)
  const type = key.asymmetricKeyType
  let inferred: DkimAlgorithm
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
    if (bits < MIN_RSA_BITS) throw new TypeError(`DKIM RSA key is ${bits} bits; RFC 8301 requires at least ${MIN_RSA_BITS}`)
    inferred = 'rsa-sha256'
  } else if (type === 'ed25519') {
    inferred = 'ed25519-sha256'
  } else {
    throw new TypeError(`DKIM privateKey must be an rsa or ed25519 key, got ${type ?? 'an unknown type'}`)
  }
  if (algorithm !== undefined && algorithm !== inferred) {
    throw new TypeError(`DKIM algorithm ${algorithm} does not match the ${type} privateKey (which signs ${inferred})`)
  }
  return { key, algorithm: inferred }
}

function toKeyObject(input: PrivateKeyInput): KeyObject {
  if (input instanceof KeyObject) return input
  try {
    if (typeof input === 'string') return createPrivateKey(input)
    const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength)
    if (bytes.length === 32) {
      return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, bytes]), format: 'der', type: 'pkcs8' })
    }
    if (bytes.subarray(0, 64).toString('latin1').includes('-----BEGIN')) return createPrivateKey(bytes)
    return createPrivateKey({ key: bytes, format: 'der', type: 'pkcs8' })
  } catch (err) {
    throw new TypeError(`DKIM privateKey could not be read: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * Signs the canonicalized header data. RSA signs it with RSASSA-PKCS1-v1_5 over SHA-256
 * (RFC 6376 §3.3.1); Ed25519 signs the SHA-256 digest of it with PureEdDSA (RFC 8463 §3).
 */
export function signHeaderData(algorithm: DkimAlgorithm, key: KeyObject, data: Uint8Array): Buffer {
  if (algorithm === 'rsa-sha256') return sign('sha256', data, key)
  return sign(null, createHash('sha256').update(data).digest(), key)
}

/** Checks a signature made by `signHeaderData`. */
export function verifyHeaderData(algorithm: DkimAlgorithm, key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (algorithm === 'rsa-sha256') return verify('sha256', data, key, signature)
    return verify(null, createHash('sha256').update(data).digest(), key, signature)
  } catch {
    return false
  }
}
