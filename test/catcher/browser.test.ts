// The catcher's page in a real browser (Debian's chromium, driven by playwright-core): live list,
// message view, script and remote-image blocking, attachment download, search, delete.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { chromium, type Browser } from 'playwright-core'
import { sendMail } from '../../src/client/index.ts'
import { compose } from '../../src/message/index.ts'
import { startCatcher } from './catcher-fixture.ts'

const CHROMIUM = '/usr/bin/chromium'
// Screenshots go here when set (to look at them, or to refresh the README's); else to a temp dir.
const SCREENSHOTS = process.env.SMTPKIT_SCREENSHOTS

// A 1x1 PNG, for the inline image and the "remote" one.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64')
const PDF = Buffer.from('%PDF-1.4\n% not a real invoice, just bytes to compare \x00\x01\x02\xff\n')

async function launch(t: { after: (fn: () => Promise<void>) => void }): Promise<Browser> {
  // launch() gives every browser a fresh temporary profile (it refuses --user-data-dir).
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  t.after(() => browser.close())
  return browser
}

test('the page in chromium: live list, safe HTML, remote images on request, download, search, delete', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install -y --no-install-recommends chromium)`, timeout: 120_000 }, async (t) => {
  const shots = SCREENSHOTS ?? (await mkdtemp(join(tmpdir(), 'smtpkit-shots-')))
  if (!SCREENSHOTS) t.after(() => rm(shots, { recursive: true, force: true }))
  let remoteHits = 0
  const remote = createServer((request, response) => {
    remoteHits++
    response.writeHead(200, { 'Content-Type': 'image/png' }).end(PNG)
  })
  remote.listen(0, '127.0.0.1')
  await new Promise((resolve) => remote.once('listening', resolve))
  t.after(() => new Promise<void>((resolve) => remote.close(() => resolve())))
  const remoteUrl = `http://127.0.0.1:${(remote.address() as { port: number }).port}/pixel.png`

  const c = await startCatcher(t)
  const browser = await launch(t)
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 800 }, colorScheme: 'light' })
  const page = await context.newPage()
  const pageErrors: string[] = []
  page.on('pageerror', (error) => pageErrors.push(error.message))
  await page.goto(c.ui.url)
  await page.waitForSelector('#empty:not([hidden])')
  // The page's policy forbids eval, so waitForFunction cannot run: poll the count instead.
  const listLength = async (n: number): Promise<void> => {
    for (let i = 0; i < 200 && (await page.locator('#list li').count()) !== n; i++) await page.waitForTimeout(25)
    assert.equal(await page.locator('#list li').count(), n)
  }

  const send = async (subject: string, options: { html?: string; text?: string; attachments?: { filename: string; content: Buffer; cid?: string; contentType?: string }[] } = {}) => {
    const message = compose({ from: 'Acme Shop <shop@example.test>', to: 'Ada Lovelace <ada@example.test>', subject, text: options.text ?? 'Hello', ...(options.html ? { html: options.html } : {}), attachments: options.attachments ?? [] })
    await sendMail({ host: '127.0.0.1', port: c.smtpPort, tls: 'none' }, { message })
  }
  for (let i = 1; i <= 3; i++) await send(`Order #${1000 + i} shipped`, { text: `Your order ${1000 + i} is on its way.` })
  await send('Reset your password', {
    text: 'Pour réinitialiser votre mot de passe, ouvrez le lien.',
    html: `<h1 id="title">Reset your password</h1><p>Pour réinitialiser votre mot de passe: <a href="https://app.example.test/reset?token=abc">reset</a></p><img id="logo" src="cid:logo@acme" alt="logo"><img id="pixel" src="${remoteUrl}" alt="remote"><script>document.body.setAttribute('data-ran', 'yes')</script>`,
    attachments: [
      { filename: 'logo.png', content: PNG, cid: 'logo@acme', contentType: 'image/png' },
      { filename: 'invoice.pdf', content: PDF, contentType: 'application/pdf' },
    ],
  })
  // Mail arrives in the open page without a reload.
  await page.waitForSelector('#list li:nth-child(4)')
  assert.equal(await page.locator('#list li').first().locator('.subject').textContent(), 'Reset your password')
  // The attachment mark: the PDF counts, the cid: logo shown in the HTML does not, plain orders have none.
  assert.equal(await page.locator('#list li').first().locator('.meta .clip').count(), 1)
  assert.equal(await page.locator('#list li').nth(1).locator('.meta .clip').count(), 0)
  await page.screenshot({ path: join(shots, 'list.png') })

  // Keyboard: j selects the first message, Enter opens it.
  await page.locator('#list').focus()
  await page.keyboard.press('j')
  await page.keyboard.press('Enter')
  await page.waitForSelector('#message-pane:not([hidden])')
  assert.equal(await page.locator('#m-subject').textContent(), 'Reset your password')
  const frame = page.frameLocator('#frame')
  await frame.locator('#title').waitFor()
  assert.equal(await frame.locator('#title').textContent(), 'Reset your password')
  // The inline image came from the message (it has a width), the script did not run, and the
  // remote image was not fetched.
  await frame.locator('#logo').evaluate((img: { complete: boolean }) => img.complete)
  assert.equal(await frame.locator('#logo').evaluate((img: { naturalWidth: number }) => img.naturalWidth), 1)
  assert.equal(await frame.locator('body').getAttribute('data-ran'), null)
  assert.equal(remoteHits, 0)
  await page.screenshot({ path: join(shots, 'message.png') })
  await page.click('#load-remote')
  await frame.locator('#pixel').waitFor()
  for (let i = 0; i < 100 && remoteHits === 0; i++) await page.waitForTimeout(50)
  assert.ok(remoteHits >= 1, 'the remote image loads once asked for')
  assert.equal(await frame.locator('body').getAttribute('data-ran'), null)

  // The attachment downloads with its exact bytes.
  await page.click('[data-tab="attachments"]')
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#tab-attachments a:has-text("invoice.pdf")')])
  assert.equal(download.suggestedFilename(), 'invoice.pdf')
  assert.deepEqual(await readFile((await download.path())!), PDF)
  await page.click('[data-tab="envelope"]')
  assert.match((await page.locator('#tab-envelope').textContent())!, /MAIL FROM<shop@example\.test>/)
  await page.click('[data-tab="raw"]')
  await page.locator('#tab-raw', { hasText: 'r=C3=A9initialiser' }).waitFor()

  // Search finds the quoted-printable word by its plain text.
  await page.fill('#query', 'réinitialiser')
  await listLength(1)
  assert.equal(await page.locator('#list li .subject').textContent(), 'Reset your password')
  await page.fill('#query', '')
  await listLength(4)

  // Delete the open message: it leaves the list and the view closes.
  await page.click('#list li:has-text("Reset your password")')
  await page.waitForSelector('#message-pane:not([hidden])')
  await page.click('#m-delete')
  await listLength(3)
  assert.equal(await page.locator('#message-pane').isHidden(), true)
  assert.equal((await c.page('/api/v1/messages')).total, 3)

  // Phone-sized and dark: one column, the message replaces the list, Back returns.
  const phone = await browser.newContext({ viewport: { width: 390, height: 780 }, colorScheme: 'dark', isMobile: true, hasTouch: true })
  const small = await phone.newPage()
  await small.goto(c.ui.url)
  await small.waitForSelector('#list li:nth-child(3)')
  await small.screenshot({ path: join(shots, 'phone-list.png') })
  await small.tap('#list li:first-child')
  await small.waitForSelector('#back', { state: 'visible' })
  assert.equal(await small.locator('#list-pane').isVisible(), false)
  await small.screenshot({ path: join(shots, 'phone-message.png') })
  await small.tap('#back')
  await small.waitForSelector('#list-pane', { state: 'visible' })
  await phone.close()

  assert.deepEqual(pageErrors, [])
})
