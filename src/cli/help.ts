// The --help texts. Kept together so that the wording of options matches across commands.
import { limitHelp } from './serve-limits.ts'

/** `smtpkit --help`. */
export const mainHelp = `Usage: smtpkit <command> [options]

Commands:
  serve    run an SMTP (or LMTP) server that stores messages in a Maildir
  send     send one message to an SMTP (or LMTP) server

Options:
  -h, --help      show this help; "smtpkit <command> --help" shows a command's options
  -v, --version   print the version

Examples:
  smtpkit serve
  smtpkit send --server 127.0.0.1:2525 --from me@example.test --to you@example.test --subject Hi --text Hello
`

/** `smtpkit send --help`. */
export const sendHelp = `Usage: smtpkit send --server SERVER --from ADDR --to ADDR [--to ADDR ...] MESSAGE [options]

Sends one message and prints the server's reply.

Server and TLS:
  --server SERVER        HOST:PORT, [IPV6]:PORT, HOST (port 25, 465 with --tls),
                         smtp://HOST[:PORT] or smtps://HOST[:PORT]
                         Without --starttls or --tls, HOST:PORT and smtp:// use STARTTLS when the
                         server offers it (smtp:// on port 587 requires it), and smtps:// is implicit TLS.
  --starttls             require STARTTLS: fail rather than send in clear
  --tls                  implicit TLS from the first byte (port 465 style)
  --ca FILE              trust the CA certificates in FILE (PEM) instead of the system's
  --insecure-tls         do not verify the server's certificate (tests only)
  --lmtp                 speak LMTP (LHLO, one reply per recipient)
  --local-name NAME      the name to send with EHLO/LHLO (default: this host's name)

Authentication:
  --user USER            authenticate as USER; the password comes from --pass or the
  --pass PASS            environment variable SMTPKIT_PASS (which keeps it out of the process list)
  --auth-mech MECH       PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256 (default: the strongest offered),
                         or XOAUTH2 (the password is the access token)
  --insecure-auth-without-tls   allow AUTH (any mechanism) on a connection without TLS

Envelope:
  --from ADDR            the envelope sender (and From: of a composed message); "" for <>
  --to ADDR              a recipient; repeat for more
  --smtputf8             ask for SMTPUTF8 (UTF-8 addresses and headers)
  --8bitmime             declare BODY=8BITMIME for a message on stdin with 8-bit octets
                         (a --file or composed message is checked without it)
  --dsn-notify LIST      NEVER, or a comma-separated list of SUCCESS, FAILURE, DELAY
  --dsn-ret FULL|HDRS    what a delivery status notification returns
  --chunking             use BDAT when the server offers CHUNKING (the default)
  --no-chunking          always use DATA

Message (one of):
  --file FILE            send FILE as it is (headers and body); "--file -" or "-" reads stdin
  --subject S --text T [--html H] [--attach FILE ...]
                         compose a MIME message (From/To headers from --from and --to)

DKIM signing:
  --dkim-domain D --dkim-selector S --dkim-key FILE   sign with the private key in FILE (PEM)

Other:
  --timeout DURATION     give up on the whole send after DURATION (30s, 5m, 500ms; bare digits
                         are seconds); by default each step has the RFC 5321 timeouts
  --greeting-timeout DURATION   how long to wait for the server's greeting (default 30s)
  --verbose              print the SMTP transcript to stderr (AUTH redacted)
  -h, --help             show this help
  -v, --version          print the version

Exit status: 0 sent to every recipient; 1 refused by the server (the reply is printed, and
which recipients were refused); 2 bad usage; 3 connection, DNS or TLS failure.

Examples:
  smtpkit send --server 127.0.0.1:2525 --from a@example.test --to b@example.test --subject Hi --text Hello
  smtpkit send --server smtp://mail.example.com:587 --user a@example.com --from a@example.com \\
      --to b@example.org --file message.eml          (password in SMTPKIT_PASS)
  cat message.eml | smtpkit send --server smtps://mail.example.com --user a \\
      --from a@example.com --to b@example.org -
  smtpkit send --server localhost:2525 --starttls --ca ca.crt --from a@example.test --to b@example.test \\
      --subject Report --text "See attached" --attach report.pdf --dkim-domain example.test \\
      --dkim-selector s1 --dkim-key dkim.key
`

/** `smtpkit serve --help`. */
export const serveHelp = `Usage: smtpkit serve [options]

Runs an SMTP server that stores every message in a Maildir (tmp/, new/, cur/) and prints one
line per message. A message is written to tmp/, synced to disk, and moved into new/ before the
client gets its 250 reply; each file starts with Return-Path: and Received: headers. At start,
files a killed delivery left in tmp/ more than 36 hours ago are removed (the Maildir convention).
SIGINT or SIGTERM shuts down gracefully: transactions in flight finish (for up to 30 seconds).

Options:
  --listen HOST:PORT     address to listen on (default 127.0.0.1:2525; [::1]:2525 for IPv6;
                         port 0 picks a free port). The bound address is printed as
                         "listening on HOST:PORT".
  --maildir DIR          where to store messages (default ./mail)
  --store maildir|none   "none" accepts and discards every message (for load tests)
  --hostname NAME        the name in the greeting and Received: headers (default: this host's name)
  --tls-cert FILE        certificate chain (PEM) ...
  --tls-key FILE         ... and its private key: STARTTLS is offered
  --implicit-tls         TLS from the first byte instead of STARTTLS (needs --tls-cert/--tls-key)
  --require-tls          refuse mail commands until STARTTLS
  --auth USER:PASS       accept this login (SCRAM-SHA-256, CRAM-MD5, PLAIN, LOGIN); repeat for
                         more users. AUTH is offered only over TLS unless
                         --insecure-auth-without-tls is given
  --require-auth         message submission: AUTH before MAIL (needs --auth)
  --insecure-auth-without-tls   offer AUTH on connections without TLS
  --insecure-accept-bare-line-endings   take messages with a bare LF or CR (legacy senders;
                         by default they get 554, as they can smuggle mail past other servers)
  --lmtp                 speak LMTP (RFC 2033) instead of SMTP
  --proxy-protocol       expect a PROXY protocol header (HAProxy v1 or v2) on every connection;
                         connections from addresses not in --proxy-trusted are closed
  --proxy-trusted CIDR   a trusted proxy address or range; repeatable (default 127.0.0.1, ::1)
  --verbose              print SMTP transcripts to stderr (AUTH redacted)
  -h, --help             show this help
  -v, --version          print the version

Mail catcher:
  --ui [HOST:PORT]       serve the web page and REST API (default 127.0.0.1:8025): list, search,
                         read and delete the caught mail, live
  --ui-auth USER:PASS    require this login (HTTP basic auth) for the page and API
  --max-messages N       keep only the newest N messages
  --release-to URL       let the page and API relay a message to smtp://HOST:PORT (or smtps://)
  --chaos RULES          fail chosen commands: STAGE=CODE[@PERCENT],... with STAGE auth, mail,
                         rcpt or data, as in mail=451@20,rcpt=550@5
  --auth-accept-any      accept any AUTH PLAIN/LOGIN user and password (TLS rules as for --auth)

Limits (BYTES takes K, M, G suffixes; DURATION is 30s, 5m, 500ms; bare digits are seconds):
${limitHelp()}
Examples:
  smtpkit serve
  smtpkit serve --ui                       (then open http://127.0.0.1:8025)
  smtpkit serve --listen [::1]:2525 --maildir /tmp/mail
  smtpkit serve --listen 0.0.0.0:587 --tls-cert cert.pem --tls-key key.pem --auth alice:secret --require-auth
  smtpkit serve --listen 127.0.0.1:2465 --tls-cert cert.pem --tls-key key.pem --implicit-tls
  smtpkit serve --lmtp --listen 127.0.0.1:2424 --maildir /var/mail/alice
`
