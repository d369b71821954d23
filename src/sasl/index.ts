// smtpkit/sasl: SASL mechanisms as step machines over raw bytes, client and server halves.
// Each name is listed on purpose; test/api.test.ts keeps the list.
export type {
  AuthRequest,
  AuthResult,
  Authenticate,
  ClientMechanism,
  FreshMechanismOptions,
  CramMd5AuthRequest,
  LoginAuthRequest,
  PlainAuthRequest,
  ScramCredentials,
  ScramLookup,
  ScramSha256AuthRequest,
  ServerMechanism,
  ServerStep,
  Xoauth2AuthRequest,
} from './mechanism.ts'
export { AuthenticationFailed, MalformedSaslMessage } from './errors.ts'
export { plain, type PlainOptions } from './plain.ts'
export { login, type LoginOptions } from './login.ts'
export { cramMd5, type CramMd5Options } from './cram-md5.ts'
export { xoauth2, type AccessTokenSource, type Xoauth2ClientMechanism, type Xoauth2Options, type Xoauth2ServerError } from './xoauth2.ts'
export { deriveScramCredentials, scramSha256, type ScramSha256Options } from './scram-sha-256.ts'
export { saslPrep } from './saslprep.ts'
export { clientMechanismPreference, fromPassword, type PasswordCredentials, type PasswordMechanismName } from './from-password.ts'
export {
  createServerMechanism,
  serverMechanismNames,
  type ServerMechanismName,
  type ServerMechanismOptions,
} from './create-server-mechanism.ts'
