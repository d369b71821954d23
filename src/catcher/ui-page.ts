// The catcher's page: plain HTML, CSS and JavaScript served from the package (nothing from a
// CDN, no build step). The script avoids template literals so it can live in one here.
import { uiScript } from './ui-script.ts'
import { uiStyle } from './ui-style.ts'

const html = String.raw`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>smtpkit catcher</title>
<link rel="stylesheet" href="/ui.css">
<script src="/ui.js" defer></script>
</head>
<body>
<header class="bar">
  <h1>smtpkit</h1>
  <form id="search" role="search"><input id="query" type="search" placeholder="Search (from:, to:, subject:, is:unread)" aria-label="Search" autocomplete="off"></form>
  <span id="stats" aria-live="polite"></span>
  <button id="read-all" type="button" title="Mark all read">Mark all read</button>
  <button id="delete-all" type="button" class="danger" title="Delete all messages">Delete all</button>
</header>
<main id="main">
  <section id="list-pane" aria-label="Messages">
    <ol id="list" tabindex="0"></ol>
    <p id="empty" hidden>No messages yet. Send mail to this server's SMTP port and it shows up here.</p>
    <nav class="pager"><button id="newer" type="button">&larr; Newer</button><span id="range"></span><button id="older" type="button">Older &rarr;</button></nav>
  </section>
  <p id="placeholder">Select a message to read it. Keys: j/k or &uarr;/&darr; move, Enter opens, Esc goes back, d deletes, / searches, n/p page.</p>
  <section id="message-pane" aria-label="Message" hidden>
    <div class="message-head">
      <button id="back" type="button" class="back" title="Back to the list (Esc)">&larr; Back</button>
      <h2 id="m-subject"></h2>
      <dl id="m-meta"></dl>
      <div class="actions">
        <a id="m-download" class="button" href="#">Download .eml</a>
        <button id="m-unread" type="button">Mark unread</button>
        <button id="m-release" type="button" hidden>Release&hellip;</button>
        <button id="m-delete" type="button" class="danger">Delete</button>
      </div>
      <div class="tabs" role="tablist">
        <button role="tab" data-tab="html">HTML</button>
        <button role="tab" data-tab="text">Text</button>
        <button role="tab" data-tab="headers">Headers</button>
        <button role="tab" data-tab="raw">Raw</button>
        <button role="tab" data-tab="attachments">Attachments</button>
        <button role="tab" data-tab="envelope">Envelope</button>
      </div>
    </div>
    <div id="tab-html" class="tab">
      <p class="remote-note" id="remote-note">Remote images are blocked. <button id="load-remote" type="button">Load remote images</button></p>
      <iframe id="frame" title="Message HTML" sandbox="allow-popups allow-popups-to-escape-sandbox" referrerpolicy="no-referrer"></iframe>
    </div>
    <pre id="tab-text" class="tab"></pre>
    <table id="tab-headers" class="tab"></table>
    <pre id="tab-raw" class="tab"></pre>
    <ul id="tab-attachments" class="tab"></ul>
    <dl id="tab-envelope" class="tab"></dl>
  </section>
</main>
</body>
</html>
`

/** The page's files by path. */
export const pageAssets: ReadonlyMap<string, { readonly type: string; readonly body: string }> = new Map([
  ['/', { type: 'text/html; charset=utf-8', body: html }],
  ['/ui.css', { type: 'text/css; charset=utf-8', body: uiStyle }],
  ['/ui.js', { type: 'text/javascript; charset=utf-8', body: uiScript }],
])
