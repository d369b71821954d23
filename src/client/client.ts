import { Socket } from 'node:net'
import type * as Auth from './auth.ts'
import type { Duplex } from 'node:stream'
import { formatCommand } from '../protocol/command.ts'
import { SmtpError } from '../protocol/errors.ts'
import { ClientError, deliveryUnknown, tlsRequired } from './errors.ts'
import { Extensions } from '../protocol/extensions.ts'
import type { MessageSource, RereadableSource } from '../protocol/message-source.ts'
import type { MailParams, RcptParams } from '../protocol/params.ts'
import { replyToError, type Reply } from '../protocol/reply.ts'
import { dataCommand, emptyDataEnd, isRcptOk, mailCommand, rcptCommand, resetCommand } from './commands.ts'
import { checkClientOptions, checkConnectOptions, checkSendRequest } from './check-client-options.ts'
import { dial, openThrough, tlsStateOf, upgradeToTls, type TlsOptions, type TlsState } from './connect.ts'
import { ClientConnection, raceAbort, type CommandSpec } from './connection.ts'
import { writeBdatBody, writeDataBody, type BodyWriteResult } from './message-writer.ts'
import {
  checkLocalName,
  clientDefaults,
  defaultLocalName,
  isPasswordAuth,
  resolvePortAndTls,
  resolveTimeouts,
  type AuthOption,
  type BdatOptions,
  type ClientOptions,
  type ClientTimeouts,
  type ConnectOptions,
  type StepOptions,
} from './options.ts'
import { collectDataReplies, planTransaction, shapeRecipients, shapeResult, type DataReply, type SendRequest, type SendResult, type TransactionPlan } from './transaction.ts'

const STARTTLS = Buffer.from('STARTTLS\r\n')
const QUIT = Buffer.from('QUIT\r\n')
// The SASL mechanisms, and node:crypto under them, load on the first AUTH: a client that never
// authenticates (MX delivery, a local relay) does not load them.
let authModule: Promise<typeof Auth> | undefined
function loadAuth(): Promise<typeof Auth> {
  return (authModule ??= import('./auth.ts'))
}

// What a client knows of the server before EHLO, and after HELO: nothing (it never changes).
const NO_EXTENSIONS = new Extensions()

/** The key of {@link Client}'s send without option checks, for the Pool, which checked already. */
export const sendChecked = Symbol('smtpkit.Client.sendChecked')

/** The key of {@link Client.connect} without option checks, for the Pool and sendMail, which checked already. */
export const connectChecked = Symbol('smtpkit.Client.connectChecked')

/**
 * The key of a Client's chaining state (RFC 2920 §3.1, a send following the previous one's end of
 * data in one write), for the Pool: `'on'` when the server offers PIPELINING and the `pipelining`
 * option allows it; `'off'` without; `'refused'` once the server answered a chained transaction
 * badly (a 503 to a MAIL sent behind the end of data), after which this connection sends one group
 * per message. Internal: not exported by the package.
 */
export const chaining = Symbol('smtpkit.Client.chaining')

/**
 * The key of a Client's QUIT queued at once, right behind the end of the data a send has just
 * queued, without waiting for the wire: for sendMail, from its `'sent'` progress, when the server
 * offers PIPELINING (RFC 2920 §3.1 lets QUIT end the group the message content starts). The send
 * still holds the wire then, and waiting for its turn would cost a promise and a turn per message
 * for a QUIT that must go next anyway. Internal: not exported by the package.
 */
export const quitBehindData = Symbol('smtpkit.Client.quitBehindData')

/**
 * An SMTP (or LMTP) client connection, driven one verb at a time like Go's `net/smtp.Client`, or
 * one message at a time with {@link Client.send}. Every method returns a promise and takes
 * `{ signal }` last; steps may be called without awaiting the previous one, and are pipelined when
 * the server offers PIPELINING (RFC 2920), each waiting on its own reply.
 *
 * Aborting a step, or its per-step timeout (RFC 5321 §4.5.3.2, `options.timeouts`) firing,
 * destroys the connection and rejects with the signal's reason, or a `TimeoutError` DOMException
 * naming the step, because the reply stream cannot be resynchronised.
 */
export class Client {
  readonly #conn: ClientConnection
  readonly #options: ClientOptions
  readonly #timeouts: ClientTimeouts
  #extensions = NO_EXTENSIONS
  #greeting: Reply | undefined
  #helloName: string
  #accepted: string[] = []
  #chainRefused = false

  private constructor(socket: Duplex, options: ClientOptions, timeouts: ClientTimeouts) {
    this.#options = options
    this.#timeouts = timeouts
    this.#conn = new ClientConnection(socket, { debug: options.debug })
    this.#helloName = options.localName ?? defaultLocalName(socket instanceof Socket ? socket.localAddress : undefined)
  }

  /**
   * Connects to an SMTP server and gets it ready to send: greeting, EHLO (HELO when EHLO is
   * refused with 500/502; LHLO for LMTP), STARTTLS per `options.tls`, EHLO again over TLS, and
   * AUTH when `options.auth` is set. `tls: 'starttls'` (the default) fails with a
   * `ClientError('ERR_SMTP_TLS_REQUIRED')` and sends nothing more when the server does not offer
   * STARTTLS. Any failure closes the connection.
   */
  static async connect(options: ConnectOptions): Promise<Client> {
    checkConnectOptions('Client.connect()', options)
    return Client[connectChecked](options)
  }

  /**
   * {@link connect} for options already checked (the Pool's, sendMail's), with `signal` in place
   * of the options' own, so a caller with a signal of its own need not copy the options.
   * Internal: not exported by the package.
   */
  static async [connectChecked](options: ConnectOptions, signal = options.signal): Promise<Client> {
    const { port, tls: mode } = resolvePortAndTls(options)
    const timeouts = resolveTimeouts(options.timeouts)
    if (options.localName !== undefined) checkLocalName(options.localName)
    const { host, localAddress, family, serverName, tlsOptions, insecureSkipTlsVerify } = options
    const implicitTls = mode === 'implicit'
    const timeoutMs = timeouts.connect
    const socket = options.socket
      ? await openThrough(options.socket, { host, port, localAddress, family }, { serverName, tlsOptions, insecureSkipTlsVerify, implicitTls, timeoutMs, signal })
      : await dial({ host, port, localAddress, family, serverName, tlsOptions, insecureSkipTlsVerify, implicitTls, timeoutMs, signal })
    const client = new Client(socket, { ...options, serverName: options.serverName ?? options.host }, timeouts)
    try {
      client.#takeGreeting(await client.#conn.expectGreeting(timeouts.greeting, signal))
      // The name was checked above, or is the default, made valid. Nothing else can be on the
      // wire yet (the client is not returned), so EHLO goes out without waiting its turn.
      await client.#hello(client.#helloName, signal, true)
      if (mode === 'starttls' || mode === 'opportunistic') {
        if (client.#extensions.has('STARTTLS')) {
          await client.startTls(undefined, { signal })
        } else if (mode === 'starttls') {
          throw tlsRequired(
            `${options.host}:${port} does not offer STARTTLS, and tls is 'starttls': refusing to continue without TLS (use tls: 'opportunistic' to allow plaintext)`,
          )
        }
      }
      if (options.auth) await client.auth(options.auth, { signal })
    } catch (err) {
      client.close()
      throw err
    }
    return client
  }

  /**
   * Wraps an open connection (any Duplex: a socket, a TLS socket, one end of `duplexPair()`) and
   * reads the greeting, like Go's `smtp.NewClient`. Call {@link hello} next. A 554 or other
   * non-220 greeting rejects with an {@link SmtpError} and closes.
   */
  static async fromSocket(socket: Duplex, options: ClientOptions & StepOptions = {}): Promise<Client> {
    checkClientOptions('Client.fromSocket()', options)
    if (options.localName !== undefined) checkLocalName(options.localName)
    const client = new Client(socket, options, resolveTimeouts(options.timeouts))
    try {
      await client.#readGreeting(options.signal)
    } catch (err) {
      client.close()
      throw err
    }
    return client
  }

  /** The extensions the server announced in its last EHLO/LHLO reply; empty after HELO. */
  get extensions(): Extensions {
    return this.#extensions
  }

  /** The parameters of extension `name` (`''` when it has none), or undefined when not offered. */
  extension(name: string): string | undefined {
    return this.#extensions.get(name)
  }

  /** The server's greeting. */
  get greeting(): Reply {
    return this.#greeting!
  }

  /** The last reply read. */
  get lastReply(): Reply | undefined {
    return this.#conn.lastReply
  }

  /** See {@link chaining}. */
  get [chaining](): 'on' | 'off' | 'refused' {
    return this.#chainRefused ? 'refused' : this.#conn.pipelining ? 'on' : 'off'
  }

  /** True when the connection is encrypted (implicit TLS or after STARTTLS). */
  get isTls(): boolean {
    return this.#conn.isTls
  }

  /** True in LMTP mode. */
  get isLmtp(): boolean {
    return this.#options.lmtp === true
  }

  /**
   * Lets the process exit while this connection is open but unused, as `socket.unref()` does;
   * {@link ref} undoes it. The pool unrefs its idle connections this way.
   */
  unref(): this {
    this.#conn.setRef(false)
    return this
  }

  /** Makes an open connection keep the process alive again (the default). */
  ref(): this {
    this.#conn.setRef(true)
    return this
  }

  /** True once the connection is closed, by either side. */
  get isClosed(): boolean {
    return this.#conn.isClosed
  }

  /** The name the server's certificate is checked against: `serverName` or the host connected to. */
  get serverName(): string | undefined {
    return this.#options.serverName
  }

  /** The negotiated TLS parameters, or undefined without TLS. */
  get tlsState(): TlsState | undefined {
    return this.#conn.isTls ? tlsStateOf(this.#conn.socket) : undefined
  }

  /**
   * Sends EHLO (LHLO for LMTP) with `name` (default `options.localName`) and records the
   * extensions; falls back to HELO when the server answers EHLO with 500 or 502 (RFC 5321
   * §4.1.4). A name with spaces or control characters is a TypeError and nothing is sent.
   */
  async hello(name: string = this.#helloName, options: StepOptions = {}): Promise<Reply> {
    checkLocalName(name)
    return this.#hello(name, options.signal, false)
  }

  /**
   * Sends STARTTLS, starts TLS on a 220 (discarding anything the server sent before the
   * handshake, RFC 3207 §4.1), verifies the certificate against `serverName` (unless
   * `insecureSkipTlsVerify`), then sends EHLO again, since what the server said in plaintext
   * cannot be trusted (RFC 3207 §4.2). A verification failure names the host and the reason.
   */
  async startTls(tlsOptions: TlsOptions | undefined = this.#options.tlsOptions, options: StepOptions = {}): Promise<Reply> {
    if (this.#conn.isTls) throw new TypeError('TLS is already active on this connection')
    const host = tlsOptions?.servername ?? this.#options.serverName
    if (host === undefined) throw new TypeError('startTls needs serverName (or tlsOptions.servername) to check the certificate against')
    const { signal } = options
    return this.#conn.exclusive(async () => {
      const reply = await this.#exchange({ line: STARTTLS, display: 'STARTTLS', timeoutMs: this.#timeouts.command, endsGroup: true, startsTls: true }, signal, true)
      if (reply.code !== 220) throw replyToError(reply, 'STARTTLS')
      await this.#conn.upgrade((raw) =>
        upgradeToTls(raw, { host, tlsOptions, insecureSkipTlsVerify: this.#options.insecureSkipTlsVerify, timeoutMs: this.#timeouts.connect, signal }))
      this.#extensions = NO_EXTENSIONS
      return this.#hello(this.#helloName, signal, true)
    }, signal)
  }

  /**
   * Authenticates (RFC 4954) with a mechanism (`sasl.plain(...)`) or a username and password
   * (the named mechanism, or the strongest the server offers of `clientMechanismPreference`).
   * Without TLS it refuses, before sending anything, every mechanism (`ERR_SMTP_TLS_REQUIRED`)
   * unless `insecureAuthWithoutTls`: PLAIN, LOGIN and XOAUTH2 send the secret itself, and a
   * captured CRAM-MD5 or SCRAM exchange allows an offline dictionary attack on the password.
   * A mechanism is used as given the first time and renewed with its `fresh()` after that (so one
   * `auth` option serves every connection of a pool); when it `canRefresh` (XOAUTH2 with a token function) and the server
   * refuses, it fetches new credentials once and tries again. A refusal (535...) is an
   * {@link SmtpError} naming `AUTH <mechanism>`.
   */
  async auth(auth: AuthOption, options: StepOptions = {}): Promise<Reply> {
    const { signal } = options
    if (!this.#conn.isTls && this.#options.insecureAuthWithoutTls !== true) {
      const name = isPasswordAuth(auth) ? (auth.mechanism?.toUpperCase() ?? 'with a password') : auth.name
      throw tlsRequired(
        `refusing AUTH ${name} over an unencrypted connection: anyone on the path could take the credentials or attack the password offline; use TLS, or set insecureAuthWithoutTls`,
      )
    }
    const { chooseMechanism, mechanismForExchange, runAuthExchange } = await loadAuth()
    const chosen = chooseMechanism(auth, this.#extensions)
    const attempt = async (refresh: boolean): Promise<Reply> => {
      const mechanism = await mechanismForExchange(chosen, refresh, signal)
      return this.#conn.exclusive(() => runAuthExchange(this.#conn, mechanism, this.#timeouts.command, signal), signal)
    }
    let reply: Reply
    try {
      reply = await attempt(false)
    } catch (err) {
      // An expired token is refused like a wrong one (535 5.7.8 at Google, 5.7.3 at Microsoft):
      // one more try with a new token, as nodemailer does; a second refusal is final.
      if (!(chosen.canRefresh === true && err instanceof SmtpError && err.code !== 421 && !this.isClosed)) throw err
      reply = await attempt(true)
    }
    return reply
  }

  /**
   * Starts a transaction: `MAIL FROM:<from>` with `params` as given (use {@link send} to have
   * SIZE, BODY, SMTPUTF8 set for you). `''` is the null reverse-path `<>`. An invalid address is
   * a TypeError and nothing is sent; a refusal is an {@link SmtpError}.
   */
  async mail(from: string, params: MailParams = {}, options: StepOptions = {}): Promise<Reply> {
    const command = mailCommand(from, params, this.#timeouts.mail)
    const reply = await this.#exchange(command, options.signal)
    if (reply.code !== 250) throw replyToError(reply, command.display)
    this.#accepted = []
    return reply
  }

  /** Adds a recipient: `RCPT TO:<to>` with DSN `params`. 250 and 251 accept; anything else is an {@link SmtpError}. */
  async rcpt(to: string, params: RcptParams = {}, options: StepOptions = {}): Promise<Reply> {
    const command = rcptCommand(to, params, this.#timeouts.rcpt)
    const reply = await this.#exchange(command, options.signal)
    if (!isRcptOk(reply)) throw replyToError(reply, command.display)
    this.#accepted.push(to)
    return reply
  }

  /**
   * Sends DATA, then on 354 streams the message (dot-stuffed, CRLF line ends, RFC 5321 §4.5.2)
   * and the terminator, and returns the final reply. In LMTP mode the result's `recipients`
   * holds one reply per accepted recipient (RFC 2033 §4.2); it rejects only when every one
   * failed. A refusal is an {@link SmtpError}; a source that throws closes the connection.
   */
  async data(message: MessageSource | RereadableSource, options: StepOptions = {}): Promise<DataReply> {
    const { signal } = options
    return this.#conn.exclusive(async () => {
      const start = await this.#exchange(dataCommand(this.#timeouts.dataStart), signal, true)
      if (start.code !== 354) throw replyToError(start, 'DATA')
      const recipients = this.#transactionRecipients()
      const written = await this.#writeBody(message, { bdat: false, binary: false, replyCount: recipients.length, signal })
      return this.#finishData(written, recipients, 'DATA')
    }, signal)
  }

  /**
   * Sends the message with BDAT chunks (CHUNKING, RFC 3030), the last one `BDAT <n> LAST`, and
   * returns the final reply (per recipient in LMTP, as for {@link data}).
   */
  async bdat(message: MessageSource | RereadableSource, options: BdatOptions = {}): Promise<DataReply> {
    const { signal } = options
    return this.#conn.exclusive(async () => {
      const recipients = this.#transactionRecipients()
      const written = await this.#writeBody(message, { bdat: true, binary: options.binary === true, replyCount: recipients.length, signal })
      return this.#finishData(written, recipients, 'BDAT')
    }, signal)
  }

  /** Asks the server to verify an address (VRFY, RFC 5321 §3.5.1); 250, 251 and 252 resolve. */
  async verify(address: string, options: StepOptions = {}): Promise<Reply> {
    const reply = await this.#exchange({ ...this.#command('VRFY', [address], this.#timeouts.command), endsGroup: true }, options.signal)
    if (reply.code < 250 || reply.code > 252) throw replyToError(reply, `VRFY ${address}`)
    return reply
  }

  /** Aborts the current transaction (RSET). */
  async reset(options: StepOptions = {}): Promise<Reply> {
    const reply = await this.#exchange(resetCommand(this.#timeouts.command), options.signal)
    if (reply.code !== 250) throw replyToError(reply, 'RSET')
    this.#accepted = []
    return reply
  }

  /** Sends NOOP: checks the connection is alive. */
  async noop(options: StepOptions = {}): Promise<Reply> {
    const reply = await this.#exchange({ ...this.#command('NOOP', [], this.#timeouts.command), endsGroup: true }, options.signal)
    if (reply.code !== 250) throw replyToError(reply, 'NOOP')
    return reply
  }

  /**
   * Sends QUIT, waits for 221 and closes the connection. The connection is closed whatever the
   * reply; a reply other than 221 then rejects as an {@link SmtpError}.
   */
  quit(options: StepOptions = {}): Promise<Reply> {
    return this.#quit(options.signal, false)
  }

  /** See {@link quitBehindData}. */
  [quitBehindData](): Promise<Reply> {
    return this.#quit(undefined, true)
  }

  async #quit(signal: AbortSignal | undefined, direct: boolean): Promise<Reply> {
    let reply: Reply
    try {
      reply = await this.#exchange({ line: QUIT, display: 'QUIT', timeoutMs: this.#timeouts.command, endsGroup: true }, signal, direct)
    } catch (err) {
      this.#conn.close()
      throw err
    }
    this.#conn.end()
    if (reply.code !== 221) throw replyToError(reply, 'QUIT')
    return reply
  }

  /** Destroys the connection now; pending steps reject with `ERR_SMTP_CONNECTION_CLOSED`. */
  close(): void {
    this.#conn.close()
  }

  /** QUIT (errors ignored), then close: for `await using client = await Client.connect(...)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.isClosed) return
    try {
      // QUIT's reply is bounded by the command timeout like any other.
      await this.quit()
    } catch {
      // The connection is going away either way.
    } finally {
      this.close()
    }
  }

  /**
   * Sends one message: MAIL, every RCPT and DATA (or BDAT), pipelined when the server allows,
   * with SIZE, BODY, SMTPUTF8 and DSN parameters set from the message and the server's
   * extensions. Resolves with the accepted and rejected recipients; rejects with the MAIL or DATA
   * {@link SmtpError}, or an AggregateError of every recipient's error when none was accepted
   * (the transaction is then reset). See {@link SendRequest}.
   */
  async send(request: SendRequest): Promise<SendResult> {
    checkSendRequest('send()', request)
    return this[sendChecked](request)
  }

  /**
   * {@link send} for a request already checked (the Pool's). Internal: not exported by the package.
   * `signal` and `onProgress` given apart take the place of the request's, so a caller that adds
   * its own need not copy the request.
   *
   * The transaction is the steps above, from the same command builders: it takes the wire, queues
   * MAIL, every RCPT and DATA (one write with PIPELINING, RFC 2920 §3.1; otherwise one command at
   * a time, stopping at a refused MAIL and sending DATA only for an accepted recipient), shapes the
   * result from the replies, and writes the body. It gives the wire up as soon as the end of the
   * data is queued, so the next send on this connection follows in the same write (chaining).
   */
  async [sendChecked](request: SendRequest, signal = request.signal, onProgress = request.onProgress): Promise<SendResult> {
    signal?.throwIfAborted()
    const release = this.#conn.tryLock() ?? await this.#conn.lock(signal)
    try {
      return await this.#transaction(request, signal, onProgress, release)
    } finally {
      release()
    }
  }

  // The hot path of every send is kept to the common case; refusals, the chain refused and failures
  // of the body are handled apart (#envelopeRefused, #bodyFailed), so what runs per message stays
  // small to compile.
  async #transaction(request: SendRequest, signal: AbortSignal | undefined, onProgress: SendRequest['onProgress'], release: () => void): Promise<SendResult> {
    const conn = this.#conn
    // With the chain refused, a send waits for the previous message's reply before its MAIL.
    if (this.#chainRefused && conn.awaiting > 0) await raceAbort(conn.idle(), signal)
    const plan = planTransaction(request, {
      extensions: this.#extensions,
      timeouts: this.#timeouts,
      chunking: this.#options.chunking !== false,
      serverName: this.#options.serverName,
    })
    // Replies still awaited while this envelope is queued can only be a previous message's
    // end of data: this transaction is chained behind it.
    const chained = conn.awaiting > 0
    // MAIL, each RCPT, then DATA's reply (undefined for BDAT, or when DATA was not sent).
    const replies = conn.pipelining ? await conn.commandGroup(plan.commands, signal) : await this.#envelopeOneByOne(plan, signal)
    const dataStart = plan.useBdat ? undefined : replies[plan.recipients.length + 1]
    const server = this.#options.serverName ?? 'the server'
    const shaped = replies[0]!.code === 250 ? shapeRecipients(plan, replies, server) : undefined
    if (shaped === undefined || shaped.error !== undefined || (dataStart !== undefined && dataStart.code !== 354)) {
      await this.#envelopeRefused(plan, replies[0]!, dataStart, shaped?.error, chained, signal)
      // The chain was refused: nothing of this message was accepted, so it is sent again, alone.
      return this.#transaction(request, signal, onProgress, release)
    }
    let ended = false
    const onEnd = (): void => {
      ended = true
      onProgress?.('sent')
    }
    onProgress?.('data')
    const lmtp = this.isLmtp
    let written: BodyWriteResult | Promise<BodyWriteResult>
    try {
      written = this.#writeBody(request.message, { bdat: plan.useBdat, binary: plan.binary, replyCount: lmtp ? shaped.accepted.length : 1, signal, onEnd })
      // A small body is queued at once: the wire is released in this tick, before a chained
      // send (started in a microtask by onEnd) asks for it, so that one need not wait its turn.
      if (written instanceof Promise) written = await written
    } catch (err) {
      throw await this.#bodyFailed(err, plan, ended, true, signal)
    }
    release()
    try {
      const verb = plan.useBdat ? 'BDAT' : 'DATA'
      let final: DataReply
      if (lmtp) {
        final = await collectDataReplies(written.replies, shaped.accepted, verb)
      } else {
        final = await written.replies[0]!
        if (final.code !== 250) throw replyToError(final, verb)
      }
      return shapeResult(shaped.accepted, shaped.rejected, final, written.bytes)
    } catch (err) {
      throw await this.#bodyFailed(err, plan, ended, false, signal)
    }
  }

  /** The envelope one command at a time (no PIPELINING): stops at a refused MAIL, sends DATA only for an accepted recipient. */
  async #envelopeOneByOne(plan: TransactionPlan, signal: AbortSignal | undefined): Promise<(Reply | undefined)[]> {
    const conn = this.#conn
    const mailReply = await conn.command(plan.mail, signal)
    if (mailReply.code !== 250) throw replyToError(mailReply, plan.mail.display)
    const replies: (Reply | undefined)[] = [mailReply]
    for (const rcpt of plan.rcpts) replies.push(await conn.command(rcpt, signal))
    if (!plan.useBdat && replies.some((reply, i) => i > 0 && isRcptOk(reply!))) replies.push(await conn.command(dataCommand(this.#timeouts.dataStart), signal))
    return replies
  }

  /**
   * Ends a transaction whose envelope was refused, and throws the refusal; returns only when the
   * server refused a MAIL chained behind the previous message's end of data (a 503, which RFC 2920
   * §3.1 allows), after which every send on this connection goes alone.
   */
  async #envelopeRefused(plan: TransactionPlan, mailReply: Reply, dataStart: Reply | undefined, refused: AggregateError | undefined, chained: boolean, signal: AbortSignal | undefined): Promise<void> {
    const conn = this.#conn
    const timeouts = this.#timeouts
    // RFC 2920 §3.1: a pipelined DATA that got 354 must be answered with the terminator, even
    // though there is nothing to send; the server then refuses the empty message.
    if (mailReply.code !== 250 || refused) {
      if (dataStart?.code === 354) await conn.command(emptyDataEnd(timeouts.dataEnd), signal)
    }
    if (mailReply.code !== 250) {
      if (chained && mailReply.code === 503) {
        this.#chainRefused = true
        return
      }
      throw replyToError(mailReply, plan.mail.display)
    }
    await conn.command(resetCommand(timeouts.command), signal)
    throw refused ?? replyToError(dataStart!, 'DATA')
  }

  /**
   * The error a send throws when writing its body (`writing`) or then awaiting the reply to its
   * end failed.
   */
  async #bodyFailed(err: unknown, plan: TransactionPlan, ended: boolean, writing: boolean, signal: AbortSignal | undefined): Promise<unknown> {
    const conn = this.#conn
    // A refused BDAT chunk leaves the transaction open; the connection still is.
    if (writing && plan.useBdat && err instanceof SmtpError && !conn.isClosed) {
      try {
        await conn.command(resetCommand(this.#timeouts.command), signal)
      } catch (resetError) {
        err = resetError
      }
    }
    // Once the end of the data is out, only a reply settles the outcome; the caller's own abort
    // stays its reason.
    const settled = err instanceof SmtpError || err instanceof AggregateError || (signal?.aborted === true && err === signal.reason) ||
      (err instanceof ClientError && err.code === 'ERR_SMTP_DELIVERY_UNKNOWN')
    const verb = plan.useBdat ? 'BDAT' : 'DATA'
    if (ended && !settled) return deliveryUnknown(`reply to the end of the ${verb} data`, err instanceof Error ? err : new Error(String(err)))
    return err
  }

  /** Writes a message body as DATA content or BDAT chunks; the caller holds the wire. */
  #writeBody(
    message: MessageSource | RereadableSource,
    how: { bdat: boolean; binary: boolean; replyCount: number; signal: AbortSignal | undefined; onEnd?: () => void },
  ): BodyWriteResult | Promise<BodyWriteResult> {
    const options = { timeouts: this.#timeouts, signal: how.signal, replyCount: how.replyCount, onEnd: how.onEnd }
    if (!how.bdat) return writeDataBody(this.#conn, message, options)
    return writeBdatBody(this.#conn, message, {
      ...options,
      binary: how.binary,
      chunkBytes: this.#options.chunkBytes ?? clientDefaults.chunkBytes,
      pipelining: this.#conn.pipelining,
    })
  }

  async #readGreeting(signal: AbortSignal | undefined): Promise<void> {
    this.#takeGreeting(await this.#conn.expectGreeting(this.#timeouts.greeting, signal))
  }

  #takeGreeting(greeting: Reply): void {
    this.#greeting = greeting
    // RFC 5321 §3.1: 554 (or anything but 220) means the server will not serve us.
    if (greeting.code !== 220) throw replyToError(greeting, 'greeting')
  }

  async #hello(name: string, signal: AbortSignal | undefined, direct: boolean): Promise<Reply> {
    const verb = this.isLmtp ? 'LHLO' : 'EHLO'
    let reply = await this.#exchange(helloCommand(verb, name, this.#timeouts.command), signal, direct)
    if (reply.code === 250) {
      this.#extensions = Extensions.fromEhloReply(reply)
    } else if (!this.isLmtp && (reply.code === 500 || reply.code === 502)) {
      reply = await this.#exchange({ ...this.#command('HELO', [name], this.#timeouts.command), endsGroup: true }, signal, direct)
      if (reply.code !== 250) throw replyToError(reply, `HELO ${name}`)
      this.#extensions = NO_EXTENSIONS
    } else {
      throw replyToError(reply, `${verb} ${name}`)
    }
    this.#helloName = name
    this.#conn.pipelining = this.#options.pipelining !== false && this.#extensions.has('PIPELINING')
    return reply
  }

  #command(verb: string, args: readonly string[], timeoutMs: number): CommandSpec {
    const line = formatCommand(verb, ...args)
    return { line, display: line.slice(0, -2), timeoutMs }
  }

  // Not async: every caller awaits it inside an async method, where a throw here rejects as well,
  // and a command that may go out at once needs no promise of its own around its reply.
  #exchange(spec: CommandSpec, signal: AbortSignal | undefined, direct = false): Promise<Reply> {
    signal?.throwIfAborted()
    if (direct || this.#conn.ready() === undefined) return this.#conn.command(spec, signal)
    return this.#conn.sendWhenReady([spec], signal).then(([reply]) => reply!)
  }

  #transactionRecipients(): string[] {
    // LMTP answers the end of data once per accepted recipient (RFC 2033 §4.2); SMTP once.
    return this.isLmtp ? [...this.#accepted] : ['']
  }

  async #finishData(written: BodyWriteResult, recipients: readonly string[], verb: string): Promise<DataReply> {
    this.#accepted = []
    return collectDataReplies(written.replies, this.isLmtp ? recipients : undefined, verb)
  }
}

// A sender connects again and again with the same name: each EHLO (or LHLO) line is built once,
// as bytes, and shared, up to a bound (a CommandSpec is never changed).
const helloCommands = new Map<string, CommandSpec>()
const MAX_HELLO_COMMANDS = 64

function helloCommand(verb: 'EHLO' | 'LHLO', name: string, timeoutMs: number): CommandSpec {
  const key = `${verb} ${name}`
  let spec = helloCommands.get(key)
  if (spec?.timeoutMs !== timeoutMs) {
    const line = formatCommand(verb, name)
    spec = { line: Buffer.from(line, 'utf8'), display: line.slice(0, -2), timeoutMs, endsGroup: true }
    if (helloCommands.size >= MAX_HELLO_COMMANDS) helloCommands.clear()
    helloCommands.set(key, spec)
  }
  return spec
}
