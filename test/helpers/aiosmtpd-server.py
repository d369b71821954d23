"""A real SMTP server for interop tests: Debian's aiosmtpd on an ephemeral loopback port.

Prints one JSON line {"port": N} once listening, then for every message a JSON line
{"from": ..., "to": [...], "data_b64": ..., "mail_options": [...], "rcpt_options": [...]}
on stdout. Options: --tls CERT KEY (offer STARTTLS), --require-tls, --auth USER:PASS
(PLAIN and LOGIN), --smtputf8, --lmtp (one reply per recipient after the data; recipients
whose local part starts with "fail" are refused there). Exits when stdin closes.
"""
import argparse, asyncio, base64, json, ssl, sys

from aiosmtpd.smtp import SMTP, AuthResult
from aiosmtpd.lmtp import LMTP


class Handler:
    async def handle_DATA(self, server, session, envelope):
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "data_b64": base64.b64encode(envelope.original_content or envelope.content).decode(),
            "mail_options": envelope.mail_options,
            "rcpt_options": envelope.rcpt_options,
            "tls": session.ssl is not None,
            "auth": session.authenticated,
        }
        print(json.dumps(record), flush=True)
        if isinstance(server, LMTP):
            # RFC 2033 §4.2: one reply per accepted recipient; aiosmtpd sends whatever we return,
            # so join them. A local part starting with "fail" is refused, to test mixed results.
            return "\r\n".join(
                f"550 5.1.1 <{rcpt}> mailbox unavailable" if rcpt.startswith("fail")
                else f"250 2.0.0 <{rcpt}> delivered"
                for rcpt in envelope.rcpt_tos
            )
        return "250 OK queued"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tls", nargs=2)
    parser.add_argument("--require-tls", action="store_true")
    parser.add_argument("--auth")
    parser.add_argument("--smtputf8", action="store_true")
    parser.add_argument("--lmtp", action="store_true")
    args = parser.parse_args()

    context = None
    if args.tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls[0], args.tls[1])

    def authenticator(server, session, envelope, mechanism, auth_data):
        user, _, password = (args.auth or "").partition(":")
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        # handled=False: a refusal otherwise defaults to handled=True, and aiosmtpd then sends no
        # reply at all, leaving the client waiting; this way it answers 535 5.7.8.
        return AuthResult(success=ok, handled=False)

    def factory():
        cls = LMTP if args.lmtp else SMTP
        kwargs = dict(enable_SMTPUTF8=args.smtputf8, decode_data=False)
        if not args.lmtp:
            kwargs.update(
                tls_context=context,
                require_starttls=args.require_tls,
                authenticator=authenticator if args.auth else None,
                auth_required=bool(args.auth),
                auth_require_tls=bool(args.tls),
            )
        return cls(Handler(), **kwargs)

    async def run():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(factory, "127.0.0.1", 0)
        print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
        await loop.run_in_executor(None, sys.stdin.read)
        server.close()

    asyncio.run(run())


if __name__ == "__main__":
    main()
