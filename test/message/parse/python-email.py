# Reads each message file named on the command line with Python's email package (policy.default)
# and prints one JSON object per file: what an independent parser finds, for
# test/message/parse/agreement.test.ts to compare with parseMessage and parseParts.
import email
import email.policy
import hashlib
import json
import sys


def addresses(message, name):
    try:
        header = message[name]
    except Exception as error:  # a header Python cannot parse at all
        return {'error': str(error)}
    if header is None:
        return []
    try:
        return [[a.display_name, a.addr_spec] for a in header.addresses]
    except Exception as error:
        return {'error': str(error)}


def content(part):
    try:
        return part.get_content()
    except Exception as error:
        return {'error': str(error)}


for path in sys.argv[1:]:
    with open(path, 'rb') as file:
        message = email.message_from_binary_file(file, policy=email.policy.default)
    leaves = []
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b''
        if part.get_content_maintype() == 'text':
            payload = payload.replace(b'\r\n', b'\n')
        leaves.append([part.get_content_type(), part.get_filename(), hashlib.sha256(payload).hexdigest()])
    plain = message.get_body(preferencelist=('plain',))
    html = message.get_body(preferencelist=('html',))
    subject = message['subject']
    print(json.dumps({
        'file': path,
        'subject': None if subject is None else str(subject),
        'from': addresses(message, 'from'),
        'to': addresses(message, 'to'),
        'cc': addresses(message, 'cc'),
        'text': None if plain is None else content(plain),
        'html': None if html is None else content(html),
        'leaves': leaves,
    }))
