"""Drives dkimpy (Debian's python3-dkim) for the interop tests, with DNS answered from a JSON map.

  dkimpy-helper.py verify RECORDS_JSON            message on stdin; prints a JSON list, one
                                                  {"ok": bool, "error": str|null} per signature
  dkimpy-helper.py sign RECORDS_JSON SPEC_JSON    message on stdin; prints the DKIM-Signature
                                                  field dkim.sign() returns

RECORDS_JSON maps "selector._domainkey.domain" to the TXT record text. SPEC_JSON holds selector,
domain, key (PEM, or base64 Ed25519 seed), algorithm, header and body canonicalization.
"""
import json
import logging
import sys

import dkim


def dns_from(records):
    def dnsfunc(name, timeout=5):
        key = name.decode("ascii") if isinstance(name, bytes) else name
        value = records.get(key.rstrip("."))
        return value.encode("ascii") if value is not None else None
    return dnsfunc


def verify(records, message):
    dnsfunc = dns_from(records)
    checker = dkim.DKIM(message, logger=logging.getLogger("dkimpy-helper"))
    count = sum(1 for name, _ in checker.headers if name.lower() == b"dkim-signature")
    results = []
    for index in range(count):
        try:
            results.append({"ok": bool(checker.verify(idx=index, dnsfunc=dnsfunc)), "error": None})
        except dkim.DKIMException as error:
            results.append({"ok": False, "error": str(error)})
    return results


def sign(spec, message):
    return dkim.sign(
        message,
        spec["selector"].encode("ascii"),
        spec["domain"].encode("ascii"),
        spec["key"].encode("ascii"),
        canonicalize=(spec["header"].encode("ascii"), spec["body"].encode("ascii")),
        signature_algorithm=spec["algorithm"].encode("ascii"),
        include_headers=[name.encode("ascii") for name in spec["headers"]],
    )


def main():
    logging.basicConfig(level=logging.CRITICAL)
    message = sys.stdin.buffer.read()
    command = sys.argv[1]
    records = json.loads(sys.argv[2])
    if command == "verify":
        sys.stdout.write(json.dumps(verify(records, message)))
    elif command == "sign":
        sys.stdout.buffer.write(sign(json.loads(sys.argv[3]), message))
    else:
        sys.exit("unknown command %r" % command)


if __name__ == "__main__":
    main()
