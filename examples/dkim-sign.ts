// Signs a composed message with DKIM (Ed25519, RFC 8463), verifies the signature against the
// key record it would publish in DNS, and sends the signed message.
//
//   node --import tsx examples/dkim-sign.ts [smtp://host:port]
//
// A real signer loads its private key from a file (createPrivateKey(readFileSync('dkim.key')))
// and publishes formatDkimKeyRecord(key) as TXT at <selector>._domainkey.<domain>.
import { generateKeyPairSync } from 'node:crypto'
import { sendMail } from 'smtpkit/client'
import { dkimSign, dkimVerify, formatDkimKeyRecord } from 'smtpkit/dkim'
import { compose } from 'smtpkit/message'

const server = process.argv[2] ?? process.env.SMTP_URL ?? 'smtp://127.0.0.1:2525'
const { privateKey } = generateKeyPairSync('ed25519')
const record = formatDkimKeyRecord(privateKey)
console.log(`publish: s1._domainkey.example.test TXT "${record}"`)

const message = compose({ from: 'alice@example.test', to: 'bob@example.test', subject: 'Signed', text: 'Hello, signed world.\n' })
const signed = dkimSign(message, { domain: 'example.test', selector: 's1', privateKey })

// The signed message can be read again (the composed one can), so verify it first, with a
// resolver that answers from the record above instead of DNS.
const results = await dkimVerify(signed.stream(), {
  resolver: async (name) => {
    if (name === 's1._domainkey.example.test') return [[record]]
    throw Object.assign(new Error(`no TXT record at ${name}`), { code: 'ENOTFOUND' })
  },
})
for (const r of results) console.log(`dkim=${r.status} d=${r.domain} s=${r.selector} a=${r.algorithm}${r.reason ? ` (${r.reason})` : ''}`)
if (results[0]?.status !== 'pass') process.exitCode = 1

const result = await sendMail(server, { from: 'alice@example.test', to: 'bob@example.test', message: signed, signal: AbortSignal.timeout(30_000) })
console.log(`accepted: ${result.accepted.join(', ')}`)
