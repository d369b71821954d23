/** The page's style sheet: light and dark from the system setting, one column on a phone. */
export const uiStyle = String.raw`
:root { --bg: #fff; --fg: #1b1f24; --muted: #5f6b7a; --line: #d9dee4; --hover: #f1f4f8; --sel: #dbe8ff; --accent: #2457c5; --danger: #b42318; --bar: #f6f8fa; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #16191d; --fg: #e6e9ed; --muted: #9aa4b1; --line: #2d333b; --hover: #1f242a; --sel: #23395f; --accent: #7aa7ff; --danger: #ff7b72; --bar: #1c2025; }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
html, body { height: 100%; margin: 0; }
body { background: var(--bg); color: var(--fg); font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; display: flex; flex-direction: column; }
button, .button { font: inherit; color: var(--fg); background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 4px 10px; cursor: pointer; text-decoration: none; white-space: nowrap; }
button:hover, .button:hover { background: var(--hover); }
button.danger { color: var(--danger); }
button:disabled { opacity: .45; cursor: default; }
.bar { display: flex; gap: 8px; align-items: center; padding: 8px 12px; background: var(--bar); border-bottom: 1px solid var(--line); flex-wrap: wrap; }
.bar h1 { font-size: 16px; margin: 0 8px 0 0; }
#search { flex: 1 1 240px; }
#query { width: 100%; font: inherit; padding: 5px 8px; border-radius: 6px; border: 1px solid var(--line); background: var(--bg); color: var(--fg); }
#stats { color: var(--muted); }
main { flex: 1; display: flex; min-height: 0; }
#list-pane { width: 42%; min-width: 320px; border-right: 1px solid var(--line); display: flex; flex-direction: column; min-height: 0; }
#list { list-style: none; margin: 0; padding: 0; overflow: auto; flex: 1; outline: none; }
#list li { padding: 8px 12px; border-bottom: 1px solid var(--line); cursor: pointer; display: grid; grid-template-columns: 1fr auto; gap: 2px 8px; }
#list li:hover { background: var(--hover); }
#list li.selected { background: var(--sel); }
#list li .from { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
#list li .time, #list li .meta { color: var(--muted); font-size: 12px; text-align: right; white-space: nowrap; }
#list li .subject, #list li .to { grid-column: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
#list li .to { color: var(--muted); font-size: 12px; }
#list li.unread .from, #list li.unread .subject { font-weight: 650; }
#list li.unread .from::before { content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%; background: var(--accent); margin-right: 6px; vertical-align: 1px; }
#empty { color: var(--muted); padding: 24px 12px; }
.pager { display: flex; justify-content: space-between; align-items: center; padding: 6px 12px; border-top: 1px solid var(--line); color: var(--muted); }
#placeholder { flex: 1; align-self: center; text-align: center; color: var(--muted); padding: 24px; }
main.reading #placeholder { display: none; }
.clip { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; background: currentColor;
  -webkit-mask: url("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24' fill='none' stroke='black' stroke-width='2.2' stroke-linecap='round'%3E%3Cpath d='M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l9-9a3.7 3.7 0 0 1 5.2 5.2l-9 9a1.8 1.8 0 0 1-2.6-2.6l8.3-8.3'/%3E%3C/svg%3E") center / contain no-repeat;
  mask: url("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24' fill='none' stroke='black' stroke-width='2.2' stroke-linecap='round'%3E%3Cpath d='M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l9-9a3.7 3.7 0 0 1 5.2 5.2l-9 9a1.8 1.8 0 0 1-2.6-2.6l8.3-8.3'/%3E%3C/svg%3E") center / contain no-repeat; }
#message-pane { flex: 1; display: flex; flex-direction: column; min-width: 0; min-height: 0; }
.message-head { padding: 10px 16px 0; border-bottom: 1px solid var(--line); }
.message-head h2 { font-size: 18px; margin: 4px 0 6px; overflow-wrap: anywhere; }
.back { display: none; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0 0 8px; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
.actions { display: flex; gap: 6px; flex-wrap: wrap; margin-bottom: 8px; }
.tabs { display: flex; gap: 2px; overflow-x: auto; }
.tabs button { border: none; border-bottom: 2px solid transparent; border-radius: 0; background: none; padding: 6px 10px; }
.tabs button[aria-selected="true"] { border-bottom-color: var(--accent); color: var(--accent); }
.tab { flex: 1; margin: 0; overflow: auto; min-height: 0; }
pre.tab { padding: 12px 16px; white-space: pre-wrap; overflow-wrap: anywhere; font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, monospace; }
#tab-html { display: flex; flex-direction: column; }
#tab-html[hidden], .tab[hidden] { display: none; }
#frame { flex: 1; width: 100%; border: 0; background: #fff; min-height: 300px; }
.remote-note { margin: 0; padding: 6px 16px; font-size: 12px; color: var(--muted); border-bottom: 1px solid var(--line); }
table.tab { border-collapse: collapse; display: block; padding: 8px 16px; }
table.tab td { padding: 2px 8px 2px 0; vertical-align: top; font: 12px/1.4 ui-monospace, monospace; overflow-wrap: anywhere; }
table.tab td:first-child { color: var(--muted); white-space: nowrap; }
ul.tab { list-style: none; padding: 12px 16px; }
ul.tab li { margin-bottom: 12px; }
ul.tab img { display: block; max-width: 100%; max-height: 240px; margin-top: 6px; border: 1px solid var(--line); }
dl.tab { padding: 12px 16px; align-content: start; }
@media (max-width: 720px) {
  #list-pane { width: 100%; min-width: 0; border-right: 0; }
  main.reading #list-pane { display: none; }
  main:not(.reading) #message-pane, #placeholder { display: none; }
  .back { display: inline-block; }
  .bar h1 { display: none; }
  #read-all { display: none; }
}
`
