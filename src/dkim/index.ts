/**
 * DKIM signing and verification (RFC 6376, RFC 8463 Ed25519, RFC 8301), streaming over bytes.
 * Works on any MessageSource; knows nothing of SMTP sessions or message objects.
 */
export { dkimSign } from './sign.ts'
export type { DkimSignStreamOptions, RereadableInput, RereadableSignedMessage, SignedMessage } from './sign.ts'
export { DkimSigner } from './signer.ts'
export type { DkimSignerOptions } from './signer.ts'
export { dkimSignDefaults } from './sign-options.ts'
export type { DkimSignOptions } from './sign-options.ts'
export { dkimVerify, dkimVerifyDefaults } from './verify.ts'
export type { DkimResult, DkimStatus, DkimVerifyOptions } from './verify.ts'
export { formatDkimKeyRecord, parseDkimKeyRecord } from './dns-key.ts'
export type { DkimKeyRecord, DkimKeyType, TxtResolver } from './dns-key.ts'
export type { DkimAlgorithm, PrivateKeyInput } from './algorithm.ts'
export type { Canonicalization, CanonicalizationAlgorithm } from './canonicalize.ts'
