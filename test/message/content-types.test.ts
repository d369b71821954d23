import assert from 'node:assert/strict'
import { test } from 'node:test'
import { contentTypeFor } from '../../src/message/content-types.ts'

test('content types come from the file extension, case-insensitively', () => {
  assert.equal(contentTypeFor('photo.JPG'), 'image/jpeg')
  assert.equal(contentTypeFor('dir/sub.dir/report.pdf'), 'application/pdf')
  assert.equal(contentTypeFor('C:\\docs\\sheet.xlsx'), 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
  assert.equal(contentTypeFor('notes.txt'), 'text/plain')
})

test('unknown, missing and prototype-named extensions give application/octet-stream', () => {
  for (const name of ['archive.unknownext', 'README', '.bashrc', 'x.constructor', 'x.__proto__', '']) assert.equal(contentTypeFor(name), 'application/octet-stream')
})
