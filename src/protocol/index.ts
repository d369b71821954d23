/**
 * smtpkit/protocol: the wire layer both sides share, for people building their own SMTP peers:
 * replies, errors, commands, extensions, addresses, ESMTP parameters, dot-stuffing, line
 * splitting and the RFC 5321 §4.5.3 limits. Pure functions and small classes over bytes; no
 * sockets, no timers. Applications need only `SmtpError` and `ProtocolError`, which the root
 * entry also exports. Each name here is listed on purpose (test/api.test.ts keeps the list).
 */
export { SmtpError, ProtocolError, type ProtocolErrorCode } from './errors.ts'
export { isEnhancedCode, splitEnhancedCode, defaultEnhancedCode, type EnhancedCode } from './enhanced-code.ts'
export { parseReply, formatReply, ReplyParser, isPositive, replyText, replyToError, type Reply, type ReplyParserOptions } from './reply.ts'
export { parseCommand, formatCommand, type Command } from './command.ts'
export { Extensions } from './extensions.ts'
export {
  parsePath,
  parseMailbox,
  formatPath,
  splitPathAndParams,
  isValidAddress,
  needsSmtpUtf8,
  toAsciiDomain,
  toAsciiAddress,
  unquoteLocalPart,
  type AddressOptions,
  type ParsedMailbox,
  type Path,
} from './address.ts'
export {
  parseParams,
  parseMailParams,
  parseRcptParams,
  formatMailParams,
  formatRcptParams,
  encodeXtext,
  decodeXtext,
  extensionsForMailParams,
  mailParamExtensions,
  rcptParamExtensions,
  type MailParams,
  type RcptParams,
  type NotifyCondition,
} from './params.ts'
export { isRereadable, toChunks, type MessageSource, type RereadableSource } from './message-source.ts'
export {
  DotEncoder,
  dotEncode,
  CrlfNormalizer,
  BdatDecoder,
  BodyDecoder,
  DotDecoder,
  dotDecoderDefaults,
  type BodyDecoderOptions,
  type DotDecoderOptions,
  type DecodeResult,
} from './dot-stuffing.ts'
export { LineSplitter, type LineSplitterOptions } from './line-splitter.ts'
export {
  MAX_LOCAL_PART_OCTETS,
  MAX_DOMAIN_OCTETS,
  MAX_PATH_OCTETS,
  MAX_COMMAND_LINE_OCTETS,
  MAX_REPLY_LINE_OCTETS,
  MAX_TEXT_LINE_OCTETS,
  MIN_RECIPIENTS,
  CLIENT_TIMEOUTS,
  SERVER_COMMAND_TIMEOUT_MS,
} from './limits.ts'
