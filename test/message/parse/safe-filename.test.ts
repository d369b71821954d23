import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { safeFilename } from '../../../src/message/index.ts'

const cases: [string | undefined, string][] = [
  ['report.pdf', 'report.pdf'],
  ['../../etc/passwd', '_.._etc_passwd'],
  ['..\\..\\windows\\win.ini', '_.._windows_win.ini'],
  ['C:\\boot.ini', 'C__boot.ini'],
  ['a\u0000b\r\nc.txt', 'a_b__c.txt'],
  ['evil\u202Etxt.exe', 'evil_txt.exe'],
  ['CON', '_CON'],
  ['nul.txt', '_nul.txt'],
  ['com1.tar.gz', '_com1.tar.gz'],
  ['.htaccess', 'htaccess'],
  ['name. . .', 'name'],
  ['  spaced   out  .txt', 'spaced out .txt'],
  ['what?*<>|".txt', 'what______.txt'],
  ['', 'attachment'],
  [undefined, 'attachment'],
  ['...', 'attachment'],
  ['Résumé.pdf', 'Résumé.pdf'],
]

for (const [input, expected] of cases) {
  test(`safeFilename(${JSON.stringify(input)}) is ${JSON.stringify(expected)}`, () => {
    assert.equal(safeFilename(input), expected)
  })
}

test('a long name is cut to 200 UTF-8 bytes, keeping its extension and whole characters', () => {
  const name = safeFilename(`${'日'.repeat(100)}.jpeg`)
  assert.ok(Buffer.byteLength(name) <= 200)
  assert.ok(name.endsWith('日.jpeg'))
})

test('property: the result is never empty, has no separator, control character or leading dot, and fits 200 bytes', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (input) => {
      const name = safeFilename(input)
      assert.ok(name.length > 0)
      assert.doesNotMatch(name, /[/\\\x00-\x1f\x7f]|^\.|[. ]$/)
      assert.ok(Buffer.byteLength(name) <= 200)
      assert.notEqual(name, '.')
      assert.notEqual(name, '..')
    }),
    { numRuns: 500 },
  )
})
