// The status page: one self-contained HTML document (no CDN, no build step) that refreshes
// itself from /status.json. Every chat text and name goes in through textContent, never as HTML.
// Narrow screens: tables scroll inside their own box, long words break; the page never scrolls sideways.

const CSS = `
*{box-sizing:border-box}
body{font:15px/1.4 system-ui,sans-serif;margin:0;padding:12px;color:#1b1f24;background:#f6f7f9;overflow-wrap:break-word}
h1{font-size:1.3em;margin:0 0 4px}h2{font-size:1.1em;margin:18px 0 6px}
#meta{color:#57606a;font-size:.9em}
.box{overflow-x:auto;background:#fff;border:1px solid #d0d7de;border-radius:6px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{background:#f0f2f4;font-weight:600}
td.long{overflow-wrap:anywhere;min-width:7em}
.nowrap{white-space:nowrap}
.state{font-weight:600;white-space:nowrap}
.good{color:#1a7f37}.bad{color:#cf222e}.warn{color:#9a6700}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.qr{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:10px;margin:8px 0}
.qr img{display:block;width:220px;max-width:100%;height:auto;image-rendering:pixelated}
.muted{color:#57606a}
@media (max-width:600px){
  table,tbody,tr,td{display:block;width:auto}
  tr:first-child{display:none}
  tr{border-bottom:1px solid #d0d7de;padding:4px 0}
  td{border:0;padding:1px 8px;text-align:left!important;min-width:0!important;white-space:normal}
  td:empty{display:none}
  td[data-label]::before{content:attr(data-label) ": ";color:#57606a;font-weight:400}
}
`;

const SCRIPT = `
"use strict";
const GOOD = ["online", "joined"], WARN = ["starting", "joining", "relogin", "login-required", "reconnecting"];
function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined && text !== null) e.textContent = String(text); if (cls) e.className = cls; return e; }
function stateCell(s) { return el("td", s, "state " + (GOOD.includes(s) ? "good" : WARN.includes(s) ? "warn" : "bad")); }
function ago(iso) { if (!iso) return "—"; const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000)); return s < 90 ? s + " s ago" : s < 5400 ? Math.round(s / 60) + " min ago" : Math.round(s / 3600) + " h ago"; }
function table(id, head, rows) {
  const t = document.getElementById(id); t.replaceChildren();
  const tr = el("tr"); for (const h of head) tr.append(el("th", h)); t.append(tr);
  if (rows.length === 0) { const r = el("tr"); const td = el("td", "none", "muted"); td.colSpan = head.length; r.append(td); t.append(r); }
  for (const cells of rows) {
    const r = el("tr");
    cells.forEach((c, i) => { const td = c instanceof Node ? c : el("td", c); if (td.textContent !== "") td.dataset.label = head[i]; r.append(td); });
    t.append(r);
  }
}
function num(n) { return el("td", n, "num"); }
function long(s) { return el("td", s, "long"); }
function clock(iso) { return el("td", new Date(iso).toTimeString().slice(0, 8), "nowrap"); }
function render(s) {
  document.getElementById("overall").textContent = s.ok ? "healthy" : "degraded";
  document.getElementById("overall").className = "state " + (s.ok ? "good" : "bad");
  document.getElementById("updated").textContent = new Date(s.generated_at).toTimeString().slice(0, 8);
  const nets = Object.entries(s.networks);
  table("networks", ["network", "type", "state", "detail", "last event"], nets.map(([id, n]) => [id, n.type, stateCell(n.state), long(n.detail || ""), el("td", ago(n.last_event), "nowrap")]));
  table("rooms", ["room", "state", "last message seen"], Object.entries(s.rooms).map(([r, x]) => [long(r), stateCell(x.state), el("td", ago(x.last_seen), "nowrap")]));
  const rows = [];
  for (const b of s.bridges) {
    b.targets.forEach((t, i) => rows.push([long(i === 0 ? b.room : ""), i === 0 ? num(b.relayed_last_hour.to_xmpp) : el("td"), i === 0 ? num(b.relayed_last_hour.to_network) : el("td"), long(t.target), num(t.pending), el("td", t.dead_letters, "num" + (t.dead_letters ? " bad" : ""))]));
  }
  table("bridges", ["bridge (room)", "to XMPP /h", "to networks /h", "target", "outbox", "dead letters"], rows);
  table("recent", ["time", "from", "to", "sender", "text"], s.recent.map((r) => [clock(r.at), r.from, long(r.to), r.sender, long(r.text)]));
  const qrs = document.getElementById("qrs"); const want = nets.filter(([, n]) => n.qr);
  const have = new Map([...qrs.children].map((c) => [c.dataset.network, c]));
  for (const [id, c] of have) if (!want.some(([w]) => w === id)) c.remove();
  for (const [id, n] of want) {
    if (have.has(id)) continue;
    const box = el("div", undefined, "qr"); box.dataset.network = id;
    box.append(el("p", "Scan with the mobile QQ app to log " + id + " in:"));
    const img = el("img"); img.alt = "login QR code of " + id; img.src = n.qr + "?t=" + Date.now(); box.append(img); qrs.append(box);
  }
}
async function refresh() {
  try {
    const res = await fetch("status.json", { cache: "no-store", credentials: "same-origin" });
    if (!res.ok) throw new Error("HTTP " + res.status);
    render(await res.json());
    document.getElementById("error").textContent = "";
  } catch (err) { document.getElementById("error").textContent = "cannot refresh: " + err.message; }
}
refresh(); setInterval(refresh, 3000);
`;

export const STATUS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pollbridge status</title>
<style>${CSS}</style></head>
<body>
<h1>pollbridge <span id="overall" class="state">…</span></h1>
<div id="meta">updated <span id="updated">never</span> · refreshes every 3 s <span id="error" class="bad"></span></div>
<div id="qrs"></div>
<h2>Networks</h2><div class="box"><table id="networks"></table></div>
<h2>Rooms</h2><div class="box"><table id="rooms"></table></div>
<h2>Bridges</h2><div class="box"><table id="bridges"></table></div>
<h2>Last relays</h2><div class="box"><table id="recent"></table></div>
<script>${SCRIPT}</script>
</body></html>
`;
