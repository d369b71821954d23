// smtpkit: the whole public API. Each layer is also published on its own subpath.
export * from './protocol/index.ts'
export * from './sasl/index.ts'
export * from './client/index.ts'
export * from './dkim/index.ts'
export * from './server/index.ts'
export * from './message/index.ts'
export * from './catcher/index.ts'
