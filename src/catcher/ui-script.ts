/**
 * The page's script: the list (paged, newest first, live through Server-Sent Events), search,
 * the message view and keyboard navigation. Plain ES2020 for any current browser.
 */
export const uiScript = String.raw`'use strict'
;(function () {
  var PAGE = 50
  var state = { start: 0, query: '', messages: [], total: 0, unread: 0, matched: 0, selected: -1, open: null, tab: 'html', remote: false, release: false }
  var $ = function (id) { return document.getElementById(id) }
  var list = $('list'), main = $('main')

  function api(method, path, body) {
    var init = { method: method, headers: {} }
    if (body !== undefined) { init.headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body) }
    return fetch(path, init).then(function (r) {
      if (!r.ok) return r.json().catch(function () { return {} }).then(function (e) { throw new Error(e.Error || r.statusText) })
      var type = r.headers.get('Content-Type') || ''
      return type.indexOf('json') !== -1 ? r.json() : r.text()
    })
  }
  function el(tag, cls, text) {
    var node = document.createElement(tag)
    if (cls) node.className = cls
    if (text !== undefined) node.textContent = text
    return node
  }
  function who(a) { return a ? (a.Name ? a.Name + ' <' + a.Address + '>' : a.Address) : '' }
  function short(a) { return a ? (a.Name || a.Address) : '(no sender)' }
  function size(n) { return n < 1024 ? n + ' B' : n < 1048576 ? (n / 1024).toFixed(1) + ' kB' : (n / 1048576).toFixed(1) + ' MB' }
  function when(iso) {
    var d = new Date(iso), now = new Date()
    return d.toDateString() === now.toDateString() ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : d.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })
  }

  function load() {
    var path = state.query ? '/api/v1/search?query=' + encodeURIComponent(state.query) + '&' : '/api/v1/messages?'
    return api('GET', path + 'start=' + state.start + '&limit=' + PAGE).then(function (page) {
      // The selection stays on its message when new mail moves the rows.
      var selected = state.messages[state.selected]
      var at = selected ? page.messages.findIndex(function (m) { return m.ID === selected.ID }) : -1
      if (at !== -1) state.selected = at
      state.messages = page.messages
      state.total = page.total
      state.unread = page.unread
      state.matched = page.messages_count
      if (state.selected >= state.messages.length) state.selected = state.messages.length - 1
      render()
    })
  }

  function render() {
    list.textContent = ''
    state.messages.forEach(function (m, i) {
      var li = el('li', (m.Read ? '' : 'unread') + (i === state.selected ? ' selected' : ''))
      li.dataset.id = m.ID
      li.appendChild(el('span', 'from', short(m.From)))
      li.appendChild(el('span', 'time', when(m.Created)))
      li.appendChild(el('span', 'subject', m.Subject || '(no subject)'))
      var meta = el('span', 'meta')
      if (m.Attachments > 0) { var clip = el('span', 'clip'); clip.title = 'has attachments'; meta.appendChild(clip) }
      meta.appendChild(document.createTextNode(size(m.Size)))
      li.appendChild(meta)
      li.appendChild(el('span', 'to', 'To: ' + m.To.map(who).join(', ')))
      li.addEventListener('click', function () { select(i); openMessage(m.ID) })
      list.appendChild(li)
    })
    $('empty').hidden = state.messages.length > 0
    $('stats').textContent = state.total + ' messages, ' + state.unread + ' unread'
    var end = state.start + state.messages.length
    $('range').textContent = state.matched === 0 ? '' : (state.start + 1) + '\u2013' + end + ' of ' + state.matched
    $('newer').disabled = state.start === 0
    $('older').disabled = end >= state.matched
    document.title = (state.unread > 0 ? '(' + state.unread + ') ' : '') + 'smtpkit catcher'
  }

  function select(i) {
    if (i < 0 || i >= state.messages.length) return
    state.selected = i
    Array.prototype.forEach.call(list.children, function (li, j) { li.classList.toggle('selected', j === i) })
    list.children[i].scrollIntoView({ block: 'nearest' })
  }

  function openMessage(id) {
    return api('GET', '/api/v1/message/' + encodeURIComponent(id)).then(function (m) {
      state.open = m
      state.remote = false
      var row = state.messages.find(function (x) { return x.ID === id })
      if (row) row.Read = true
      render()
      $('message-pane').hidden = false
      main.classList.add('reading')
      $('m-subject').textContent = m.Subject || '(no subject)'
      var meta = $('m-meta')
      meta.textContent = ''
      var rows = [['From', who(m.From)], ['To', m.To.map(who).join(', ')], ['Cc', m.Cc.map(who).join(', ')], ['Date', m.Date ? new Date(m.Date).toLocaleString() : ''], ['Received', new Date(m.Created).toLocaleString()], ['Size', size(m.Size)]]
      rows.forEach(function (r) { if (r[1]) { meta.appendChild(el('dt', '', r[0])); meta.appendChild(el('dd', '', r[1])) } })
      $('m-download').href = '/api/v1/message/' + encodeURIComponent(id) + '/raw?dl=1'
      $('m-release').hidden = !state.release
      var count = m.Attachments.length + m.Inline.length
      document.querySelector('[data-tab="attachments"]').textContent = 'Attachments' + (count ? ' (' + count + ')' : '')
      showTab(m.HTML ? (state.tab === 'text' || state.tab === 'html' ? 'html' : state.tab) : (state.tab === 'html' ? 'text' : state.tab))
    }).catch(report)
  }

  function closeMessage() {
    state.open = null
    $('message-pane').hidden = true
    main.classList.remove('reading')
    $('frame').removeAttribute('src')
    list.focus()
  }

  function showTab(tab) {
    var m = state.open
    if (!m) return
    state.tab = tab
    document.querySelectorAll('.tabs button').forEach(function (b) { b.setAttribute('aria-selected', String(b.dataset.tab === tab)) })
    document.querySelectorAll('.tab').forEach(function (t) { t.hidden = t.id !== 'tab-' + tab })
    var base = '/api/v1/message/' + encodeURIComponent(m.ID)
    if (tab === 'html') {
      $('remote-note').hidden = state.remote
      $('frame').src = '/view/' + encodeURIComponent(m.ID) + '.html' + (state.remote ? '?remote=1' : '')
    } else if (tab === 'text') {
      $('tab-text').textContent = m.Text || '(this message has no text part)'
    } else if (tab === 'headers') {
      api('GET', base + '/headers').then(function (headers) {
        var table = $('tab-headers')
        table.textContent = ''
        Object.keys(headers).forEach(function (name) {
          headers[name].forEach(function (value) {
            var tr = el('tr')
            tr.appendChild(el('td', '', name))
            tr.appendChild(el('td', '', value))
            table.appendChild(tr)
          })
        })
      }).catch(report)
    } else if (tab === 'raw') {
      api('GET', base + '/raw').then(function (text) { $('tab-raw').textContent = text }).catch(report)
    } else if (tab === 'attachments') {
      var ul = $('tab-attachments')
      ul.textContent = ''
      var parts = m.Attachments.concat(m.Inline)
      if (parts.length === 0) ul.appendChild(el('li', '', 'No attachments.'))
      parts.forEach(function (p) {
        var li = el('li')
        var a = el('a', '', p.FileName || p.ContentID || ('part ' + p.PartID))
        a.href = base + '/part/' + p.PartID
        a.download = p.FileName || ''
        li.appendChild(a)
        li.appendChild(document.createTextNode(' \u2014 ' + p.ContentType + ', ' + size(p.Size)))
        if (/^image\/(png|jpe?g|gif|webp|avif|bmp)$/i.test(p.ContentType)) {
          var img = el('img')
          img.alt = p.FileName || 'inline image'
          img.src = base + '/part/' + p.PartID + '?inline=1'
          li.appendChild(img)
        }
        ul.appendChild(li)
      })
    } else if (tab === 'envelope') {
      var dl = $('tab-envelope')
      dl.textContent = ''
      var e = m.Envelope
      var rows = e ? [['MAIL FROM', '<' + e.From + '>'], ['RCPT TO', e.To.map(function (t) { return '<' + t + '>' }).join(', ')], ['Client', e.RemoteAddress + (e.Helo ? ' (' + e.Helo + ')' : '')], ['TLS', e.TLS || 'no'], ['AUTH user', e.AuthUser || 'none']] : [['Envelope', 'not recorded for this message']]
      rows.forEach(function (r) { dl.appendChild(el('dt', '', r[0])); dl.appendChild(el('dd', '', r[1])) })
    }
  }

  function report(error) { $('stats').textContent = 'Error: ' + error.message }
  function page(delta) {
    var next = Math.max(0, state.start + delta * PAGE)
    if (next >= state.matched && delta > 0) return
    state.start = next
    state.selected = -1
    load().catch(report)
  }
  function deleteOpen() {
    var m = state.open || state.messages[state.selected]
    if (!m) return
    api('DELETE', '/api/v1/messages', { IDs: [m.ID] }).catch(report)
  }

  document.querySelectorAll('.tabs button').forEach(function (b) { b.addEventListener('click', function () { showTab(b.dataset.tab) }) })
  $('back').addEventListener('click', closeMessage)
  $('newer').addEventListener('click', function () { page(-1) })
  $('older').addEventListener('click', function () { page(1) })
  $('m-delete').addEventListener('click', deleteOpen)
  $('m-unread').addEventListener('click', function () { if (state.open) api('PUT', '/api/v1/messages', { IDs: [state.open.ID], Read: false }).catch(report) })
  $('m-release').addEventListener('click', function () {
    if (!state.open) return
    var to = prompt('Release to (comma-separated; empty for the original recipients):', '')
    if (to === null) return
    var body = to.trim() ? { To: to.split(',').map(function (s) { return s.trim() }).filter(Boolean) } : {}
    api('POST', '/api/v1/message/' + encodeURIComponent(state.open.ID) + '/release', body).then(function (r) { $('stats').textContent = 'Released to ' + r.To.join(', ') }).catch(report)
  })
  $('load-remote').addEventListener('click', function () { state.remote = true; showTab('html') })
  $('read-all').addEventListener('click', function () { api('PUT', '/api/v1/messages', { Read: true }).catch(report) })
  $('delete-all').addEventListener('click', function () { if (confirm('Delete all messages?')) api('DELETE', '/api/v1/messages', {}).catch(report) })
  var timer = 0
  $('query').addEventListener('input', function () {
    clearTimeout(timer)
    timer = setTimeout(function () { state.query = $('query').value.trim(); state.start = 0; state.selected = -1; load().catch(report) }, 200)
  })
  $('search').addEventListener('submit', function (e) { e.preventDefault() })

  document.addEventListener('keydown', function (e) {
    if (e.target instanceof HTMLInputElement || e.ctrlKey || e.metaKey || e.altKey) {
      if (e.key === 'Escape') e.target.blur()
      return
    }
    var k = e.key
    if (k === 'j' || k === 'ArrowDown') select(state.selected + 1)
    else if (k === 'k' || k === 'ArrowUp') select(state.selected - 1)
    else if ((k === 'Enter' || k === 'o') && state.messages[state.selected]) openMessage(state.messages[state.selected].ID)
    else if (k === 'Escape') closeMessage()
    else if (k === 'Delete' || k === 'd') deleteOpen()
    else if (k === '/') $('query').focus()
    else if (k === 'ArrowRight' || k === 'n') page(1)
    else if (k === 'ArrowLeft' || k === 'p') page(-1)
    else return
    e.preventDefault()
  })

  // Live changes refresh the list at most once per REFRESH_MS (a search, which reads bodies,
  // once per SEARCH_REFRESH_MS), with one request in flight: a burst of mail costs a few
  // refreshes, not one per message.
  var REFRESH_MS = 100, SEARCH_REFRESH_MS = 1000
  var refreshing = false, again = false, lastRefresh = 0
  function refresh() {
    if (refreshing) { again = true; return }
    refreshing = true
    var wait = Math.max(0, lastRefresh + (state.query ? SEARCH_REFRESH_MS : REFRESH_MS) - Date.now())
    setTimeout(function () {
      load().catch(report).then(function () {
        lastRefresh = Date.now()
        refreshing = false
        if (again) { again = false; refresh() }
      })
    }, wait)
  }
  var events = new EventSource('/api/v1/events')
  events.addEventListener('new', function (e) {
    refresh()
  })
  events.addEventListener('delete', function (e) {
    var ids = JSON.parse(e.data).IDs
    if (state.open && ids.indexOf(state.open.ID) !== -1) closeMessage()
    refresh()
  })
  events.addEventListener('read', function (e) {
    var data = JSON.parse(e.data)
    state.messages.forEach(function (m) { if (data.IDs.indexOf(m.ID) !== -1) m.Read = data.Read })
    render()
  })
  events.addEventListener('stats', function (e) {
    var s = JSON.parse(e.data)
    state.total = s.Total
    state.unread = s.Unread
    render()
  })

  api('GET', '/api/v1/info').then(function (info) { state.release = info.Release }).catch(report)
  load().catch(report)
})()
`
