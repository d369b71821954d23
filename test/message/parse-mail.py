# Parses messages with Python's email package (policy.default), as an independent check of what
# src/message composes. Reads messages from stdin, each as a 4-byte big-endian length followed by
# the bytes, and writes one JSON object per message on its own line of stdout.
import base64
import email
import email.policy
import json
import struct
import sys
from email import _header_value_parser as hvp


def patch_phrase_whitespace():
    # CPython gh-128110: before the fix, policy.default keeps the whitespace between two adjacent
    # encoded-words in a display name, which RFC 2047 §6.2 says to drop, so a long non-ASCII
    # name split over several encoded-words reads back with stray spaces. On an affected Python we
    # apply the same fix (the whitespace becomes an EWWhiteSpaceTerminal, as in unstructured
    # headers); a fixed Python is left alone.
    probe = email.message_from_bytes(b'To: =?utf-8?q?a?= =?utf-8?q?b?= <x@y.example>\r\n\r\n', policy=email.policy.default)
    if probe['to'].addresses[0].display_name == 'ab':
        return
    original = hvp.get_phrase

    def ends_with_ew_and_space(token):
        return (token.token_type == 'atom' and len(token) >= 2 and token[-2].token_type == 'encoded-word'
                and token[-1].token_type == 'cfws' and all(t.token_type == 'fws' for t in token[-1]))

    def starts_with_ew(token):
        return token.token_type == 'atom' and len(token) >= 1 and token[0].token_type == 'encoded-word'

    def get_phrase(value):
        phrase, rest = original(value)
        for before, after in zip(list(phrase), list(phrase)[1:]):
            if ends_with_ew_and_space(before) and starts_with_ew(after):
                before[-1] = hvp.EWWhiteSpaceTerminal(str(before[-1]), 'fws')
        return phrase, rest

    hvp.get_phrase = get_phrase


def decode_raw(value):
    # Raw UTF-8 header bytes (RFC 6532) reach us surrogate-escaped; turn them back into text.
    if isinstance(value, str):
        try:
            return value.encode('ascii', 'surrogateescape').decode('utf-8')
        except UnicodeError:
            return value
    return value


def addresses(msg, name):
    header = msg[name]
    if header is None:
        return None
    out = []
    for group in header.groups:
        members = [{'name': decode_raw(a.display_name), 'address': decode_raw(a.addr_spec)} for a in group.addresses]
        if group.display_name is None:
            out.extend(members)
        else:
            out.append({'group': decode_raw(group.display_name), 'members': members})
    return out


def filename(part):
    # get_filename() strips the (RFC 2231-decoded) name; the parameter itself keeps it exact.
    disposition = part['content-disposition']
    name = disposition.params.get('filename') if disposition is not None else None
    return name if name is not None else part.get_filename()


def structure(part):
    if part.is_multipart():
        return '%s(%s)' % (part.get_content_type(), ','.join(structure(p) for p in part.iter_parts()))
    return part.get_content_type()


def describe(msg):
    defects = [str(d) or type(d).__name__ for d in msg.defects]
    headers = []
    for name, value in msg.items():
        headers.append([name, decode_raw(str(value))])
        defects.extend('%s: %s' % (name, d) for d in getattr(value, 'defects', ()))
    text = msg.get_body(('plain',))
    html = msg.get_body(('html',))
    parts = []
    for part in msg.walk():
        if part is not msg:
            defects.extend(str(d) or type(d).__name__ for d in part.defects)
            for name, value in part.items():
                defects.extend('%s: %s' % (name, d) for d in getattr(value, 'defects', ()))
        # Attachments are the leaves with a Content-Disposition: compose() writes one on every
        # attachment and none on body parts. (get_body() may pick an inline text attachment as
        # the body when the message has no text of its own.)
        if part.is_multipart() or part.get_content_disposition() is None:
            continue
        parts.append({
            'contentType': part.get_content_type(),
            'filename': filename(part),
            'disposition': part.get_content_disposition(),
            'cid': part['content-id'] and str(part['content-id']),
            'data': base64.b64encode(part.get_payload(decode=True)).decode('ascii'),
        })
    return {
        'headers': headers,
        'subject': None if msg['subject'] is None else decode_raw(str(msg['subject'])),
        'from': addresses(msg, 'from'),
        'sender': addresses(msg, 'sender'),
        'replyTo': addresses(msg, 'reply-to'),
        'to': addresses(msg, 'to'),
        'cc': addresses(msg, 'cc'),
        'messageId': msg['message-id'] and str(msg['message-id']),
        'date': msg['date'] and msg['date'].datetime.isoformat(),
        'text': None if text is None else text.get_content(),
        'html': None if html is None else html.get_content(),
        'attachments': parts,
        'structure': structure(msg),
        'defects': defects,
    }


def main():
    patch_phrase_whitespace()
    stdin = sys.stdin.buffer
    while True:
        head = stdin.read(4)
        if len(head) < 4:
            return
        (length,) = struct.unpack('>I', head)
        data = stdin.read(length)
        try:
            result = describe(email.message_from_bytes(data, policy=email.policy.default))
        except Exception as error:  # reported to the test, which fails on it
            result = {'error': '%s: %s' % (type(error).__name__, error)}
        sys.stdout.write(json.dumps(result) + '\n')
        sys.stdout.flush()


main()
