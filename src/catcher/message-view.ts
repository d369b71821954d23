import { bareContentId } from './api-json.ts'
import type { ParsedMail } from './parsed-mail.ts'

/**
 * The document the page shows in its sandboxed iframe: the message's HTML with `cid:` references
 * pointed at the message's own parts, and links opening outside the frame. The HTML is not
 * sanitised: the frame's sandbox and the Content-Security-Policy the server sends with it are
 * what keep scripts from running and remote resources from loading.
 */
export function renderMessageHtml(id: string, mail: ParsedMail): string {
  const head = '<!DOCTYPE html><meta charset="utf-8"><base target="_blank">'
  if (!mail.html) return `${head}<pre style="white-space:pre-wrap;font:14px/1.5 ui-monospace,monospace">${escapeHtml(mail.text ?? '')}</pre>`
  const parts = new Map(mail.attachments.map((part, i) => [bareContentId(part).toLowerCase(), i + 1]))
  const html = mail.html.replace(/\bcid:([^"'\s)>]+)/gi, (whole, cid: string) => {
    let key = cid
    try {
      key = decodeURIComponent(cid)
    } catch {
      // keep it as written
    }
    const partId = parts.get(key.toLowerCase())
    return partId === undefined ? whole : `/api/v1/message/${encodeURIComponent(id)}/part/${partId}?inline=1`
  })
  return `${head}${html.replace(/^\s*<!doctype[^>]*>/i, '')}`
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
