// The mqttsn-gw page: polls the companion's JSON passthrough of the status socket every 2 s, keeps
// 10 minutes of counter history in memory for the charts, and follows the live packet trace over a
// WebSocket. Plain JavaScript, no library: the page must work on a site without internet.
'use strict';

const POLL_MS = 2000;
const HISTORY = 300;        // samples: 10 minutes at POLL_MS
const TRACE_ROWS = 500;     // rows kept in the trace table
const $ = (sel) => document.querySelector(sel);

let selected = null;        // the client id whose topics are shown
let allowRequests = false;
const history = [];         // {t, stats}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v; else if (k.startsWith('data-')) e.setAttribute(k, v); else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c == null ? '-' : String(c)));
  return e;
}

async function getJson(path) {
  const r = await fetch(path, {cache: 'no-store'});
  const body = await r.json();
  if (!r.ok || body.error) throw new Error(body.error || ('HTTP ' + r.status));
  return body;
}

function ago(s) {
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min';
  return Math.floor(s / 3600) + ' h';
}

function renderNodes(clients) {
  const tbody = $('#nodes tbody');
  tbody.replaceChildren();
  $('#node-count').textContent = '(' + clients.length + ')';
  if (!selected && clients.length) selected = clients[0].client_id;
  for (const c of clients) {
    const row = el('tr', {'data-client': c.client_id, 'data-state': c.state},
      el('td', {class: 'id'}, c.client_id),
      el('td', {}, el('span', {class: 'pill state-' + c.state}, c.state)),
      el('td', {}, c.link), el('td', {}, c.address), el('td', {}, ago(c.last_seen_s)),
      el('td', {}, c.buffered + ' (' + c.buffered_bytes + ' B)' + (c.buffer_full ? ' full' : '')),
      el('td', {}, c.msgs_up), el('td', {}, c.msgs_down), el('td', {}, c.refused), el('td', {}, c.subs));
    const actions = el('td', {class: 'req'});
    for (const verb of ['kick', 'clear-buffer']) {
      const b = el('button', {class: 'verb-' + verb}, verb === 'kick' ? 'kick' : 'clear buffer');
      b.addEventListener('click', (ev) => { ev.stopPropagation(); request(verb + ' ' + c.client_id); });
      actions.append(b);
    }
    row.append(actions);
    if (c.client_id === selected) row.classList.add('selected');
    row.addEventListener('click', () => { selected = c.client_id; refreshDetail(); markSelected(); });
    tbody.append(row);
  }
}

function markSelected() {
  for (const r of document.querySelectorAll('#nodes tbody tr'))
    r.classList.toggle('selected', r.dataset.client === selected);
}

async function request(text) {
  const out = $('#request-reply');
  out.textContent = text + ' ...';
  try {
    const r = await fetch('/api/request', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                           body: JSON.stringify({request: text})});
    out.textContent = text + ': ' + await r.text();
  } catch (e) {
    out.textContent = text + ': ' + e.message;
  }
}

let lastSubs = {subscriptions: []};
async function refreshDetail() {
  $('#detail-id').textContent = selected || '(select a node)';
  if (!selected) return;
  const topics = await getJson('/api/topics?client=' + encodeURIComponent(selected));
  const tb = $('#topics tbody');
  tb.replaceChildren();
  for (const t of topics.topics)
    tb.append(el('tr', {'data-topic': t.topic}, el('td', {}, t.topic_id), el('td', {}, t.kind),
                    el('td', {}, t.topic), el('td', {}, t.confirmed ? 'yes' : 'no')));
  const sb = $('#subs tbody');
  sb.replaceChildren();
  for (const s of lastSubs.subscriptions) {
    const mine = (s.subscribers || []).find((x) => x.slice(0, x.lastIndexOf(':')) === selected);
    if (mine) sb.append(el('tr', {'data-filter': s.filter}, el('td', {}, s.filter),
                           el('td', {}, mine.slice(mine.lastIndexOf(':') + 1)), el('td', {}, s.upstream)));
  }
}

function renderUpstream(stats) {
  const u = stats.upstream;
  const pill = $('#upstream');
  pill.textContent = 'upstream ' + u.state;
  pill.className = 'pill up-' + u.state;
  $('#version').textContent = stats.version;
  $('#uptime').textContent = 'up ' + ago(Math.floor(stats.uptime_s));
  const dl = $('#upstream-detail');
  dl.replaceChildren();
  const rows = [['state', u.state], ['server', u.server], ['last error', u.last_error || '-'],
                ['queue', u.queue_messages + ' msgs, ' + u.queue_bytes + ' B'], ['in flight', u.inflight],
                ['subscriptions', u.subscriptions], ['sessions', stats.sessions],
                ['downlink buffered', stats.downlink_buffered_bytes + ' B']];
  const nc = u.node_connections;  // null unless nodes have their own broker connections
  if (nc) {
    rows.push(['node connections', nc.open + ' open, ' + nc.waiting + ' waiting, ' + nc.refused_at_limit +
                                       ' refused at the limit']);
  }
  for (const [k, v] of rows) dl.append(el('dt', {}, k), el('dd', {}, v));
}

// Each chart: a label and how to read its value from a stats reply; `rate` charts the per-second
// difference between two samples, the others the value itself.
const CHARTS = [
  {label: 'datagrams in /s', rate: true, get: (s) => s.core.datagrams_in},
  {label: 'datagrams out /s', rate: true, get: (s) => s.core.datagrams_out},
  {label: 'publishes up /s', rate: true, get: (s) => s.core.publishes_up},
  {label: 'publishes down /s', rate: true, get: (s) => s.core.publishes_down},
  {label: 'sessions', get: (s) => s.sessions},
  {label: 'upstream queue (msgs)', get: (s) => s.upstream.queue_messages},
];

function setupCharts() {
  const box = $('#charts');
  for (const c of CHARTS) {
    c.canvas = el('canvas', {width: 400, height: 60});
    c.value = el('span', {}, '');
    box.append(el('div', {class: 'chart'}, el('div', {class: 'label'}, c.label + ': ', c.value), c.canvas));
  }
}

function drawCharts() {
  for (const c of CHARTS) {
    const pts = [];
    for (let i = c.rate ? 1 : 0; i < history.length; i++) {
      const cur = c.get(history[i].stats);
      if (!c.rate) { pts.push(cur); continue; }
      const dt = (history[i].t - history[i - 1].t) / 1000;
      pts.push(dt > 0 ? Math.max(0, (cur - c.get(history[i - 1].stats)) / dt) : 0);
    }
    const g = c.canvas.getContext('2d');
    const w = c.canvas.width, h = c.canvas.height;
    g.clearRect(0, 0, w, h);
    const max = Math.max(1, ...pts) * 1.25;  // headroom: a steady rate is a line, not the top edge
    g.strokeStyle = '#1f3a5a';
    g.lineWidth = 1.5;
    g.beginPath();
    pts.forEach((v, i) => {
      const x = w - (pts.length - 1 - i) * (w / (HISTORY - 1));
      const y = h - 2 - (v / max) * (h - 6);
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
    g.fillStyle = '#888';
    g.fillText((max / 1.25).toFixed(max < 10 ? 1 : 0), 2, 10);
    c.value.textContent = pts.length ? pts[pts.length - 1].toFixed(c.rate ? 1 : 0) : '-';
  }
}

async function poll() {
  try {
    const [clients, stats, subs] = await Promise.all(
      [getJson('/api/clients'), getJson('/api/stats'), getJson('/api/subscriptions')]);
    lastSubs = subs;
    renderNodes(clients.clients);
    renderUpstream(stats);
    history.push({t: Date.now(), stats});
    while (history.length > HISTORY) history.shift();
    drawCharts();
    await refreshDetail();
    setConn('gateway ok', false);
  } catch (e) {
    setConn(e.message, true);
  }
  setTimeout(poll, POLL_MS);
}

function setConn(text, bad) {
  const c = $('#conn');
  c.textContent = text;
  c.className = 'pill ' + (bad ? 'bad' : 'state-active');
}

// ---- live trace
let ws = null;
let paused = false;

function time(ms) {
  const d = new Date(ms);
  return d.toTimeString().slice(0, 8) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

function addTrace(p) {
  if (paused) return;
  const tb = $('#trace tbody');
  tb.prepend(el('tr', {class: 'dir-' + p.dir, 'data-type': p.type},
    el('td', {}, time(p.time_ms)), el('td', {}, p.dir), el('td', {}, p.link), el('td', {}, p.address),
    el('td', {}, p.client_id || ''), el('td', {class: 'type'}, p.type), el('td', {}, p.summary)));
  while (tb.rows.length > TRACE_ROWS) tb.deleteRow(tb.rows.length - 1);
}

function connectTrace() {
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/trace';
  ws = new WebSocket(url, 'trace');
  const status = $('#trace-status');
  ws.onopen = () => { status.textContent = 'live'; ws.send($('#trace-filter').value); };
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.error) status.textContent = m.error;
    else if (m.trace) status.textContent = 'live' + (m.filter ? ' (filter "' + m.filter + '")' : '');
    else if (m.companion_dropped !== undefined) status.textContent = 'live; ' + m.companion_dropped + ' lines dropped (slow page)';
    else {
      if (m.dropped) status.textContent = 'live; ' + m.dropped + ' lines dropped by the gateway';
      addTrace(m);
    }
  };
  ws.onclose = () => { status.textContent = 'trace closed; reconnecting'; setTimeout(connectTrace, 2000); };
}

function setupTrace() {
  let timer = null;
  $('#trace-filter').addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => { if (ws && ws.readyState === 1) ws.send($('#trace-filter').value); }, 300);
  });
  $('#trace-pause').addEventListener('click', (e) => { paused = !paused; e.target.textContent = paused ? 'resume' : 'pause'; });
  $('#trace-clear').addEventListener('click', () => $('#trace tbody').replaceChildren());
  connectTrace();
}

async function main() {
  try {
    allowRequests = (await getJson('/api/config')).allow_requests;
  } catch (e) { /* a page without the companion's config still shows everything read-only */ }
  document.body.classList.toggle('requests', allowRequests);
  setupCharts();
  setupTrace();
  poll();
}

main();
