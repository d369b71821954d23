// smtpkit/catcher: catching mail for tests and local development (what `smtpkit serve --ui` runs).
export { createTestInbox, type CaughtMessage, type MessageMatch, type TestInbox, type TestInboxOptions } from './test-inbox.ts'
export type { CaughtEnvelope } from './envelope-header.ts'
