// The shared wire layer: replies, errors, commands, extensions, line splitting, limits.
export * from './enhanced-code.ts'
export * from './errors.ts'
export * from './reply.ts'
export * from './command.ts'
export * from './extensions.ts'
export * from './line-splitter.ts'
export * from './limits.ts'
export * from './message-source.ts'
