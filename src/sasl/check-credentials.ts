import { checkOptions, type OptionKinds } from '../options/check-options.ts'

// nodemailer's names for the same credentials.
const hints = {
  user: 'use username',
  pass: 'use password',
  type: 'pick the mechanism by its factory (plain, login, cramMd5, scramSha256, xoauth2)',
  clientId: 'give accessToken a function that fetches tokens from your provider',
  clientSecret: 'give accessToken a function that fetches tokens from your provider',
  refreshToken: 'give accessToken a function that fetches tokens with it: accessToken: async ({ refresh }) => ...',
}

/** Checks the options of a client mechanism factory: unknown keys and wrong types are a TypeError naming them. */
export function checkCredentials(where: string, options: unknown, kinds: OptionKinds): void {
  checkOptions(where, options, kinds, hints)
}
