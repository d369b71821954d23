import { SmtpError, type AuthHook, type Session } from '../server/index.ts'

/** The SMTP steps chaos can fail. */
export type ChaosStage = 'auth' | 'mail' | 'rcpt' | 'data'

/** One rule: answer `stage` with `code` for `percent`% of the attempts. */
export interface ChaosRule {
  readonly stage: ChaosStage
  readonly code: number
  readonly percent: number
}

const STAGES = new Set<string>(['auth', 'mail', 'rcpt', 'data'])

/**
 * Parses `--chaos` rules: `STAGE=CODE[@PERCENT]`, comma-separated, such as
 * `mail=451@20,rcpt=550@5,data=452`. STAGE is auth, mail, rcpt or data; CODE a 4xx or 5xx reply;
 * PERCENT (default 100) how often. Throws a TypeError naming the bad rule.
 */
export function parseChaosRules(text: string): ChaosRule[] {
  return text.split(',').map((rule) => {
    const match = /^\s*([a-z]+)=([45]\d\d)(?:@(\d{1,3}(?:\.\d+)?))?\s*$/i.exec(rule)
    const stage = match?.[1]?.toLowerCase()
    const percent = match?.[3] === undefined ? 100 : Number(match[3])
    if (!match || !STAGES.has(stage!) || percent > 100) {
      throw new TypeError(`--chaos: ${JSON.stringify(rule)} is not STAGE=CODE[@PERCENT] (STAGE: auth, mail, rcpt or data; CODE: 4xx or 5xx; PERCENT: 0 to 100), as in mail=451@20,rcpt=550@5`)
    }
    return { stage: stage as ChaosStage, code: Number(match[2]), percent }
  })
}

/** Throws the rule's reply when chance says so. */
function strike(rules: readonly ChaosRule[], stage: ChaosStage, random: () => number): void {
  for (const rule of rules) {
    if (rule.stage === stage && random() * 100 < rule.percent) {
      // X.0.0: "other undefined status" (RFC 3463 §3.1); the text says it is deliberate.
      throw new SmtpError(rule.code, rule.code >= 500 ? '5.0.0' : '4.0.0', `Chaos: simulated ${stage} failure (--chaos)`)
    }
  }
}

/** Wraps a session so its MAIL, RCPT and DATA fail as the rules say, before the session sees them. */
export function withChaos(session: Session, rules: readonly ChaosRule[], random: () => number = Math.random): Session {
  return {
    ...session,
    mail: (from, params) => {
      strike(rules, 'mail', random)
      return session.mail?.(from, params)
    },
    rcpt: (to, params) => {
      strike(rules, 'rcpt', random)
      return session.rcpt?.(to, params)
    },
    data: (message, envelope) => {
      strike(rules, 'data', random)
      return session.data ? session.data(message, envelope) : undefined
    },
  }
}

/** Wraps an auth hook so AUTH fails as the rules say. */
export function withAuthChaos(hook: AuthHook, rules: readonly ChaosRule[], random: () => number = Math.random): AuthHook {
  return (request, conn) => {
    strike(rules, 'auth', random)
    return hook(request, conn)
  }
}

/**
 * The auth hook of `--auth-accept-any`: every user and password logs in, as Mailpit and maildev
 * allow, so an application's SMTP login can be tested without real credentials. Offer it with
 * PLAIN and LOGIN only: CRAM-MD5 and SCRAM need the password itself.
 */
export const acceptAnyLogin: AuthHook = (request) => request.mechanism === 'PLAIN' || request.mechanism === 'LOGIN'
