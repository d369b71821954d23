/**
 * Sizes and timeouts from RFC 5321 §4.5.3, as named constants. Both sides use them as defaults;
 * every one can be overridden through the client's or server's options.
 */

/** RFC 5321 §4.5.3.1.1: the maximum length of a local part. */
export const MAX_LOCAL_PART_OCTETS = 64
/** RFC 5321 §4.5.3.1.2: the maximum length of a domain. */
export const MAX_DOMAIN_OCTETS = 255
/** RFC 5321 §4.5.3.1.3: the maximum length of a reverse-path or forward-path, brackets included. */
export const MAX_PATH_OCTETS = 256
/** RFC 5321 §4.5.3.1.4: a command line, verb to CRLF. */
export const MAX_COMMAND_LINE_OCTETS = 512
/** RFC 5321 §4.5.3.1.5: a reply line, code to CRLF. */
export const MAX_REPLY_LINE_OCTETS = 512
/** RFC 5321 §4.5.3.1.6: a line of message text, CRLF included. */
export const MAX_TEXT_LINE_OCTETS = 1000
/** RFC 5321 §4.5.3.1.8: the fewest recipients a server must be able to buffer. */
export const MIN_RECIPIENTS = 100

/**
 * Client timeouts of RFC 5321 §4.5.3.2, in milliseconds: how long to wait for each reply.
 * `dataBlock` bounds each write of message data; `dataEnd` the wait for the reply to the final dot.
 */
export const CLIENT_TIMEOUTS = Object.freeze({
  greeting: 5 * 60_000,
  mail: 5 * 60_000,
  rcpt: 5 * 60_000,
  dataStart: 2 * 60_000,
  dataBlock: 3 * 60_000,
  dataEnd: 10 * 60_000,
  /** Not in RFC 5321: EHLO, STARTTLS, AUTH, RSET, NOOP, VRFY and QUIT. Five minutes like MAIL. */
  command: 5 * 60_000,
})

/** RFC 5321 §4.5.3.2.7: a server waits at least this long for the next command. */
export const SERVER_COMMAND_TIMEOUT_MS = 5 * 60_000
