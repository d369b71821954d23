// The catcher's REST API, live events and message view, over plain HTTP.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { ApiSummary } from '../../src/catcher/api-json.ts'
import { simpleMessage, startCatcher } from './catcher-fixture.ts'

const multipart = [
  'From: "Shop" <shop@example.test>',
  'To: buyer@example.test',
  'Subject: =?UTF-8?Q?Your_r=C3=A9ceipt?=',
  'Message-ID: <receipt@example.test>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b1"',
  '',
  '--b1',
  'Content-Type: multipart/related; boundary="b2"',
  '',
  '--b2',
  'Content-Type: text/html; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  '<p>Reset: <a href=3D"https://app.example.test/reset?t=3Dabc">link</a></p><img src=3D"cid:logo@x"><img src=3D"https://remote.example.test/pixel.png"><script>parent.postMessage("ran","*")</script>',
  '--b2',
  'Content-Type: image/png',
  'Content-ID: <logo@x>',
  'Content-Disposition: inline',
  'Content-Transfer-Encoding: base64',
  '',
  'iVBORw0KGgo=',
  '--b2--',
  '--b1',
  'Content-Type: application/pdf; name="invoice.pdf"',
  'Content-Disposition: attachment; filename="invoice.pdf"',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('%PDF-1.4 fake').toString('base64'),
  '--b1--',
  '',
].join('\r\n')

describe('catcher API', { concurrency: 4 }, () => {
  test('lists newest first with Mailpit fields, pages, and records the envelope', async (t) => {
    const c = await startCatcher(t)
    for (let i = 1; i <= 3; i++) await c.send(simpleMessage(`message ${i}`), { from: 'bounce@example.test', to: ['user@example.test', 'hidden@example.test'] })
    const page = await c.page('/api/v1/messages?limit=2')
    assert.equal(page.total, 3)
    assert.equal(page.unread, 3)
    assert.equal(page.count, 2)
    assert.equal(page.messages_count, 3)
    assert.deepEqual(page.messages.map((m) => m.Subject), ['message 3', 'message 2'])
    const first = page.messages[0]!
    assert.deepEqual(first.From, { Name: 'App', Address: 'app@example.test' })
    assert.deepEqual(first.To, [{ Name: 'User', Address: 'user@example.test' }])
    assert.equal(first.Read, false)
    assert.equal(first.MessageID, 'message3@example.test')
    assert.deepEqual(first.Envelope, { From: 'bounce@example.test', To: ['user@example.test', 'hidden@example.test'], RemoteAddress: '127.0.0.1', Helo: first.Envelope!.Helo, TLS: null, AuthUser: null })
    const next = await c.page('/api/v1/messages?start=2&limit=2')
    assert.deepEqual(next.messages.map((m) => m.Subject), ['message 1'])
  })

  test('one message: decoded fields, text, html, attachments and parts with the right bytes; opening marks it read', async (t) => {
    const c = await startCatcher(t)
    await c.send(multipart)
    const { messages } = await c.page('/api/v1/messages')
    const id = messages[0]!.ID
    assert.equal(messages[0]!.Attachments, 1)
    const m = await c.json(`/api/v1/message/${encodeURIComponent(id)}`)
    assert.equal(m.Subject, 'Your réceipt')
    assert.match(m.HTML, /reset\?t=abc/)
    assert.equal(m.ReturnPath, 'app@example.test')
    assert.equal(m.Read, true)
    assert.equal(m.Attachments.length, 1)
    assert.equal(m.Attachments[0]!.FileName, 'invoice.pdf')
    assert.equal(m.Inline.length, 1)
    assert.equal(m.Inline[0]!.ContentID, 'logo@x')
    const pdf = await c.get(`/api/v1/message/${encodeURIComponent(id)}/part/${m.Attachments[0]!.PartID}`)
    assert.equal(pdf.headers.get('content-type'), 'application/pdf')
    assert.match(pdf.headers.get('content-disposition')!, /^attachment; filename="invoice.pdf"/)
    assert.equal(Buffer.from(await pdf.arrayBuffer()).toString(), '%PDF-1.4 fake')
    const after = await c.page('/api/v1/messages')
    assert.equal(after.unread, 0)
    const latest = await c.json('/api/v1/message/latest')
    assert.equal(latest.ID, id)
  })

  test('the message view: cid images point at the part, the policy runs no script and loads nothing remote until asked', async (t) => {
    const c = await startCatcher(t)
    await c.send(multipart)
    const id = encodeURIComponent((await c.page('/api/v1/messages')).messages[0]!.ID)
    const view = await c.get(`/view/${id}.html`)
    const policy = view.headers.get('content-security-policy')!
    assert.match(policy, /default-src 'none'/)
    assert.match(policy, /sandbox allow-popups/)
    assert.doesNotMatch(policy, /script-src/)
    assert.doesNotMatch(policy, /\shttps?:[\s;]/)
    const html = await view.text()
    assert.match(html, new RegExp(`src="/api/v1/message/${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/part/\\d\\?inline=1"`))
    const remote = (await c.get(`/view/${id}.html?remote=1`)).headers.get('content-security-policy')!
    assert.match(remote, /img-src [^;]*\shttps:[\s;]/)
    assert.match(remote, /sandbox/)
  })

  test('headers and raw (with .eml download) come from the stored file', async (t) => {
    const c = await startCatcher(t)
    await c.send(simpleMessage('raw me'))
    const id = encodeURIComponent((await c.page('/api/v1/messages')).messages[0]!.ID)
    const headers = await c.json<Record<string, string[]>>(`/api/v1/message/${id}/headers`)
    assert.deepEqual(headers.Subject, ['raw me'])
    assert.ok(headers['Received'])
    const raw = await c.get(`/api/v1/message/${id}/raw?dl=1`)
    assert.match(raw.headers.get('content-disposition')!, /^attachment; filename=".*\.eml"$/)
    assert.match(await raw.text(), /^Return-Path: <app@example\.test>\r\nReceived: [\s\S]*Subject: raw me\r\n/)
  })

  test('search: fields, a quoted-printable word by its plain text, is:unread, and nothing else', async (t) => {
    const c = await startCatcher(t)
    await c.send(multipart)
    await c.send(simpleMessage('welcome aboard', 'Plain body.\r\n'), { to: ['new@example.test'] })
    const search = async (query: string): Promise<string[]> => (await c.page(`/api/v1/search?query=${encodeURIComponent(query)}`)).messages.map((m) => m.Subject)
    assert.deepEqual(await search('t=abc'), ['Your réceipt'])
    assert.deepEqual(await search('subject:welcome'), ['welcome aboard'])
    assert.deepEqual(await search('to:new@example.test'), ['welcome aboard'])
    assert.deepEqual(await search('from:shop'), ['Your réceipt'])
    assert.deepEqual(await search('-from:shop'), ['welcome aboard'])
    assert.deepEqual(await search('"plain body"'), ['welcome aboard'])
    assert.deepEqual(await search('nowhere-to-be-found'), [])
  })

  test('mark read and unread, delete one, delete all', async (t) => {
    const c = await startCatcher(t)
    await c.send(simpleMessage('one'))
    await c.send(simpleMessage('two'))
    const ids = (await c.page('/api/v1/messages')).messages.map((m) => m.ID)
    const put = (body: unknown) => c.get('/api/v1/messages', { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
    assert.equal((await put({ IDs: [ids[0]], Read: true })).status, 200)
    assert.equal((await c.page('/api/v1/messages')).unread, 1)
    await put({ Read: true })
    assert.equal((await c.page('/api/v1/messages')).unread, 0)
    await put({ IDs: [ids[1]], Read: false })
    assert.equal((await c.page('/api/v1/messages')).unread, 1)
    const del = await c.get('/api/v1/messages', { method: 'DELETE', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ IDs: [ids[0]] }) })
    assert.deepEqual(await del.json(), { IDs: [ids[0]] })
    assert.equal((await c.get(`/api/v1/message/${encodeURIComponent(ids[0]!)}`)).status, 404)
    await c.get('/api/v1/messages', { method: 'DELETE' })
    assert.equal((await c.page('/api/v1/messages')).total, 0)
  })

  test('a JSON body must say so (no cross-site form can post one), and unknown ids are 404', async (t) => {
    const c = await startCatcher(t)
    await c.send(simpleMessage('keep me'))
    const res = await c.get('/api/v1/messages', { method: 'DELETE', headers: { 'Content-Type': 'text/plain' }, body: '{}' })
    assert.equal(res.status, 415)
    assert.equal((await c.page('/api/v1/messages')).total, 1)
    assert.equal((await c.get('/api/v1/message/..%2F..%2Fetc%2Fpasswd/raw')).status, 404)
    assert.equal((await c.get('/view/nope.html')).status, 404)
    assert.equal((await c.get('/api/v1/message/%E0%A4%A')).status, 400)
    assert.equal((await c.get('/api/v1/messages?limit=abc')).status, 400)
  })

  test('long poll: answers with a message already there, or as soon as a matching one arrives, or 408', async (t) => {
    const c = await startCatcher(t)
    await c.send(simpleMessage('old news'), { to: ['a@example.test'] })
    const existing = await c.json<ApiSummary>('/api/v1/messages/wait?to=a@example.test&timeout=5000')
    assert.equal(existing.Subject, 'old news')
    const waiting = c.get('/api/v1/messages/wait?to=b@example.test&subject=reset&timeout=10000')
    await c.send(simpleMessage('unrelated'), { to: ['b@example.test'] })
    await c.send(simpleMessage('Reset your password'), { to: ['b@example.test'] })
    const found = (await (await waiting).json()) as ApiSummary
    assert.equal(found.Subject, 'Reset your password')
    const timedOut = await c.get('/api/v1/messages/wait?to=nobody@example.test&timeout=50')
    assert.equal(timedOut.status, 408)
  })

  test('live events: new (every id once), read and delete are streamed', async (t) => {
    const c = await startCatcher(t)
    const controller = new AbortController()
    t.after(() => controller.abort())
    // A missing event fails the test in seconds rather than hanging it.
    const response = await c.get('/api/v1/events', { signal: AbortSignal.any([controller.signal, AbortSignal.timeout(20_000)]) })
    assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8')
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
    let text = ''
    const until = async (pattern: RegExp): Promise<void> => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read()
        if (done) throw new Error(`stream ended before ${pattern}: ${text}`)
        text += value
      }
    }
    await until(/event: stats/)
    await c.send(simpleMessage('live'))
    await until(/event: new\ndata: \{"IDs":\["[^"]+"\]\}\n\nevent: stats\ndata: \{"Total":1,"Unread":1\}/)
    const id = (await c.page('/api/v1/messages')).messages[0]!.ID
    assert.match(text, new RegExp(`"IDs":\\["${id.replace(/\W/g, '\\$&')}"\\]`))
    // Ten messages sent at once: each id is announced once.
    text = ''
    await Promise.all(Array.from({ length: 10 }, (_, i) => c.send(simpleMessage(`burst ${i}`))))
    await until(/"Total":11,/)
    await until(/\n\n$/)
    const announced = [...text.matchAll(/^event: new\ndata: (.*)$/gm)].map((m) => (JSON.parse(m[1]!) as { IDs: string[] }).IDs)
    const burst = (await c.page('/api/v1/messages?limit=10')).messages.map((m) => m.ID)
    assert.deepEqual(announced.flat().sort(), burst.sort())
    await c.get('/api/v1/messages', { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ IDs: [id], Read: true }) })
    await until(/event: read\ndata: \{"IDs":\[[^\]]+\],"Read":true\}/)
    await c.get('/api/v1/messages', { method: 'DELETE' })
    await until(/event: delete/)
    await reader.cancel()
  })

  test('basic auth guards every route; a DNS-rebound Host is refused on loopback', async (t) => {
    const c = await startCatcher(t, { auth: { username: 'dev', password: 's3cret' } })
    assert.equal((await c.get('/api/v1/messages')).status, 401)
    assert.equal((await c.get('/')).status, 401)
    const good = await c.get('/api/v1/messages', { headers: { Authorization: `Basic ${Buffer.from('dev:s3cret').toString('base64')}` } })
    assert.equal(good.status, 200)
    const bad = await c.get('/api/v1/messages', { headers: { Authorization: `Basic ${Buffer.from('dev:nope').toString('base64')}` } })
    assert.equal(bad.status, 401)
    const { request } = await import('node:http')
    const status = await new Promise<number>((resolve, reject) => {
      request(`${c.ui.url}/api/v1/messages`, { headers: { Host: 'evil.example.test' } }, (res) => {
        res.resume()
        resolve(res.statusCode!)
      })
        .on('error', reject)
        .end()
    })
    assert.equal(status, 421)
  })

  test('serves the page, its style and script with a strict policy', async (t) => {
    const c = await startCatcher(t)
    const page = await c.get('/')
    assert.match(page.headers.get('content-security-policy')!, /default-src 'self'/)
    assert.match(await page.text(), /<script src="\/ui.js" defer>/)
    assert.equal((await c.get('/ui.js')).headers.get('content-type'), 'text/javascript; charset=utf-8')
    assert.equal((await c.get('/ui.css')).status, 200)
    assert.equal((await c.get('/nothing')).status, 404)
  })

  test('--max-messages: keeps the newest N', async (t) => {
    const c = await startCatcher(t, { maxMessages: 2 })
    for (const s of ['a', 'b', 'c']) await c.send(simpleMessage(s))
    const page = await c.page('/api/v1/messages')
    assert.deepEqual(page.messages.map((m) => m.Subject), ['c', 'b'])
    const { readdir } = await import('node:fs/promises')
    assert.equal((await readdir(`${c.root}/new`)).length + (await readdir(`${c.root}/cur`)).length, 2)
  })
})
