// --release-to and --chaos, each against a second smtpkit server.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseChaosRules, withAuthChaos, withChaos, acceptAnyLogin } from '../../src/catcher/chaos.ts'
import { createRelease, removeLocalFields } from '../../src/catcher/release.ts'
import { createStoreSession } from '../../src/catcher/store-session.ts'
import { Client, sendMail } from '../../src/client/index.ts'
import type { SmtpError } from '../../src/server/index.ts';
import { Server } from '../../src/server/index.ts'
import { simpleMessage, startCatcher } from './catcher-fixture.ts'

describe('release', () => {
  test('relays a caught message to a second server with its envelope or new recipients, without the local fields', async (t) => {
    const target = await startCatcher(t, { memory: true })
    const c = await startCatcher(t, { release: createRelease(`smtp://127.0.0.1:${target.smtpPort}`) })
    await c.send(simpleMessage('release me'), { from: 'app@example.test', to: ['user@example.test', 'bcc@example.test'] })
    const id = (await c.page('/api/v1/messages')).messages[0]!.ID
    assert.equal((await c.json<{ Release: boolean }>('/api/v1/info')).Release, true)
    const post = (body: unknown) => c.get(`/api/v1/message/${encodeURIComponent(id)}/release`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
    assert.deepEqual(await (await post({})).json(), { To: ['user@example.test', 'bcc@example.test'] })
    assert.deepEqual(await (await post({ To: ['qa@example.test'] })).json(), { To: ['qa@example.test'] })
    const released = (await target.page('/api/v1/messages')).messages
    assert.deepEqual(
      released.map((m) => m.Envelope!.To),
      [['qa@example.test'], ['user@example.test', 'bcc@example.test']],
    )
    const raw = await (await target.get(`/api/v1/message/${encodeURIComponent(released[0]!.ID)}/raw`)).text()
    // One Return-Path and one envelope field: the target's own, not the catcher's too.
    assert.equal(raw.match(/^Return-Path:/gm)?.length, 1)
    assert.equal(raw.match(/^X-Smtpkit-Envelope:/gm)?.length, 1)
    assert.equal(raw.match(/^Received:/gm)?.length, 2)
  })

  test('without --release-to the route says how to turn it on', async (t) => {
    const c = await startCatcher(t)
    await c.send(simpleMessage('stay'))
    const id = (await c.page('/api/v1/messages')).messages[0]!.ID
    const res = await c.get(`/api/v1/message/${encodeURIComponent(id)}/release`, { method: 'POST' })
    assert.equal(res.status, 404)
    assert.match(((await res.json()) as { Error: string }).Error, /--release-to/)
  })

  test('removeLocalFields drops folded local fields and keeps the rest byte for byte', () => {
    const raw = Buffer.from('Return-Path: <a@b>\r\nReceived: from x\r\n\tby y\r\nX-Smtpkit-Envelope: {"from":"a@b",\r\n "to":[]}\r\nSubject: s\r\n\r\nReturn-Path: body line\r\n')
    assert.equal(removeLocalFields(raw).toString(), 'Received: from x\r\n\tby y\r\nSubject: s\r\n\r\nReturn-Path: body line\r\n')
  })
})

describe('chaos', () => {
  test('rules parse, and a bad rule is a TypeError that shows the form', () => {
    assert.deepEqual(parseChaosRules('mail=451@20, rcpt=550,data=452@0.5'), [
      { stage: 'mail', code: 451, percent: 20 },
      { stage: 'rcpt', code: 550, percent: 100 },
      { stage: 'data', code: 452, percent: 0.5 },
    ])
    assert.throws(() => parseChaosRules('helo=451'), { name: 'TypeError', message: /STAGE=CODE\[@PERCENT\]/ })
    assert.throws(() => parseChaosRules('mail=250'), TypeError)
    assert.throws(() => parseChaosRules('mail=451@101'), TypeError)
  })

  test('a second server with chaos answers the chosen commands with the chosen replies at the chosen rate', async (t) => {
    const target = await startCatcher(t, { memory: true })
    // A fixed sequence instead of Math.random: 0.1 strikes a 50% rule, 0.9 does not.
    const draws = [0.9, 0.5, 0.1]
    const random = (): number => draws.shift() ?? 0.9
    const rules = parseChaosRules('mail=451@50,rcpt=550,data=452@0')
    const server = new Server({
      newSession: (conn) => withChaos(createStoreSession(conn, { store: { kind: 'memory', sink: target.catcher }, lmtp: false, hostname: 'chaos.test', log: () => {}, onError: () => {} }), rules, random),
    })
    const { port } = await server.listen({ host: '127.0.0.1', port: 0 })
    t.after(() => server.close())
    const client = await Client.connect({ host: '127.0.0.1', port, tls: 'none' })
    t.after(() => client.close())
    await client.mail('a@example.test')
    await assert.rejects(client.rcpt('b@example.test'), (error: SmtpError) => error.code === 550 && /Chaos: simulated rcpt failure/.test(error.message))
    await client.reset()
    await assert.rejects(client.mail('a@example.test'), (error: SmtpError) => error.code === 451)
  })

  test('auth chaos refuses AUTH; accept-any logs in anyone with PLAIN and LOGIN', async (t) => {
    const refusing = new Server({ auth: withAuthChaos(acceptAnyLogin, parseChaosRules('auth=454')), insecureAuthWithoutTls: true })
    const accepting = new Server({ auth: acceptAnyLogin, insecureAuthWithoutTls: true })
    const a = await refusing.listen({ host: '127.0.0.1', port: 0 })
    const b = await accepting.listen({ host: '127.0.0.1', port: 0 })
    t.after(() => Promise.all([refusing.close(), accepting.close()]))
    const login = (port: number) => sendMail({ host: '127.0.0.1', port, tls: 'none', insecureAuthWithoutTls: true, auth: { username: 'u', password: 'p' } }, { from: 'a@example.test', to: 'b@example.test', message: 'Subject: x\r\n\r\n' })
    await assert.rejects(login(a.port), (error: SmtpError) => error.code === 454)
    assert.deepEqual((await login(b.port)).accepted, ['b@example.test'])
  })
})
