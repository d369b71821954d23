"""Python's smtplib as a client of our server, driven by server-smtplib.test.ts.

Usage: server-smtplib.py PORT CASE [CA_FILE]

Prints one JSON object: "sent" holds each message smtplib handed to DATA (base64; the exact
bytes before smtplib's dot-stuffing), "refused" the recipients refused by sendmail, "error"
the SMTP error that ended the case (code and text), "esmtp" the EHLO keywords last seen.
"""

import base64
import json
import smtplib
import ssl
import sys
from email.message import EmailMessage


class RecordingSMTP(smtplib.SMTP):
    """An SMTP client that keeps a copy of every message body it sends with DATA."""

    def __init__(self, *args, **kwargs):
        self.sent = []
        super().__init__(*args, **kwargs)

    def data(self, msg):
        self.sent.append(msg.encode("ascii") if isinstance(msg, str) else bytes(msg))
        return super().data(msg)


PLAIN = (
    b"From: a@example.test\r\nTo: b@example.test, c@example.test\r\nSubject: plain sendmail\r\n\r\n"
    b".a line with a leading dot\r\n..two\r\n.\r\nno final line end"
)


def international_message():
    msg = EmailMessage()
    msg["From"] = "J\u00f6rg <j\u00f6rg@b\u00fccher.example>"
    msg["To"] = "\u7528\u6237@\u4f8b\u5b50.example, b@example.test"
    msg["Subject"] = "Gr\u00fc\u00dfe \u2615"
    msg.set_content("Gr\u00fc\u00dfe aus K\u00f6ln.\n.leading dot\n\u65e5\u672c\u8a9e\n", cte="8bit")
    return msg


def attachment_message():
    msg = EmailMessage()
    msg["From"] = "a@example.test"
    msg["To"] = "b@example.test"
    msg["Subject"] = "with an attachment"
    msg.set_content("See the attachment.\n")
    msg.add_attachment(bytes(range(256)) * 40, maintype="application", subtype="octet-stream", filename="blob.bin")
    return msg


def run(port, case, ca_file):
    result = {"sent": [], "refused": {}, "error": None, "esmtp": []}
    with RecordingSMTP("127.0.0.1", port, local_hostname="client.example.test", timeout=20) as smtp:
        try:
            if case == "plain-sendmail":
                refused = smtp.sendmail("a@example.test", ["b@example.test", "nobody@example.test", "c@example.test"], PLAIN)
                result["refused"] = {to: [code, text.decode("utf-8", "replace")] for to, (code, text) in refused.items()}
            elif case == "smtputf8":
                smtp.send_message(international_message())
            elif case == "starttls-login":
                smtp.starttls(context=ssl.create_default_context(cafile=ca_file))
                smtp.login("user@example.test", "s3cret pass")
                smtp.send_message(attachment_message())
            elif case == "login-without-tls":
                smtp.login("user@example.test", "s3cret pass")
            elif case == "bare-lf":
                smtp.sendmail("a@example.test", ["b@example.test"], b"Subject: bare LF\n\nline one\nline two\n")
            elif case == "several-transactions":
                for i in range(3):
                    smtp.sendmail("a@example.test", ["b@example.test"], b"Subject: %d\r\n\r\nmessage %d\r\n" % (i, i))
                    smtp.rset()
            else:
                raise SystemExit("unknown case " + case)
        except smtplib.SMTPResponseException as err:
            result["error"] = {"code": err.smtp_code, "text": err.smtp_error.decode("utf-8", "replace")}
        except smtplib.SMTPException as err:
            result["error"] = {"code": None, "text": str(err)}
        result["esmtp"] = sorted(smtp.esmtp_features.keys())
        result["sent"] = [base64.b64encode(m).decode("ascii") for m in smtp.sent]
    print(json.dumps(result))


if __name__ == "__main__":
    run(int(sys.argv[1]), sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
