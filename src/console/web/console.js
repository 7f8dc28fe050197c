// The Sluice console page. It reads /api/v1/stream (server-sent events, read with fetch so the API
// token can be sent when the admin listener needs it), keeps the last five minutes of per-second
// ticks, and draws the services' traffic splits, live charts (uPlot), the revisions, cold starts
// and recent events. Changes (traffic, roll back, promote) are offered once a token is given.
/* global uPlot */

const HISTORY = 300;
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];

const state = {
  snapshot: null,
  ticks: [],
  events: [],
  token: sessionStorage.getItem('sluice-token') || '',
  authorized: false,
};
const colors = new Map();
const charts = new Map();

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'style') Object.assign(e.style, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k.startsWith('data-')) e.setAttribute(k, String(v));
    else e[k] = v;
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
  return e;
}

function color(key) {
  if (!colors.has(key)) colors.set(key, PALETTE[colors.size % PALETTE.length]);
  return colors.get(key);
}

const shortName = (key) => key.slice(key.indexOf('/') + 1);
const fmt = (v, digits = 1) => (v === null || v === undefined || Number.isNaN(v) ? '–' : Number(v).toFixed(digits));

function headers(extra = {}) {
  return state.token ? { authorization: `Bearer ${state.token}`, ...extra } : extra;
}

// ---- the stream ----

async function connect() {
  for (;;) {
    try {
      const res = await fetch('/api/v1/stream', { headers: headers(), cache: 'no-store' });
      if (res.status === 401) {
        setConn('down', 'needs the API token to read');
        await sleep(2000);
        continue;
      }
      if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
      setConn('live', 'live');
      await readEvents(res.body, handle);
    } catch (err) {
      console.warn('console stream:', err);
    }
    setConn('down', 'reconnecting…');
    await sleep(1000);
  }
}

async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const frame = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let event = 'message';
      let data = '';
      for (const line of frame.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (data) onEvent(event, JSON.parse(data));
    }
  }
}

function handle(event, data) {
  switch (event) {
    case 'hello':
      state.snapshot = data.snapshot;
      state.ticks = data.history.slice(-HISTORY);
      state.events = data.events.slice(-200);
      renderAll();
      break;
    case 'changes':
      if (!state.snapshot) break; // the hello comes first on every stream
      state.snapshot = applyChanges(state.snapshot, data);
      renderServices();
      renderRevisions();
      break;
    case 'tick':
      state.ticks.push(data);
      if (state.ticks.length > HISTORY) state.ticks.shift();
      renderCharts();
      renderRevisions();
      break;
    case 'event':
      state.events.push(data);
      if (state.events.length > 200) state.events.shift();
      renderEvents();
      if (data.type === 'instance-ready') renderColdStarts();
      break;
  }
}

// The server sends what changed, keyed by namespace/name (applyChanges in src/console/snapshot.ts
// is the same, with its tests).
function applyChanges(snap, changes) {
  const key = (v) => `${v.namespace}/${v.name}`;
  const next = { ...snap };
  for (const kind of ['services', 'revisions', 'rollouts']) {
    const ch = changes[kind];
    if (!ch || (ch.set.length === 0 && ch.removed.length === 0)) continue;
    const by = new Map((snap[kind] ?? []).map((v) => [key(v), v]));
    for (const k of ch.removed) by.delete(k);
    for (const v of ch.set) by.set(key(v), v);
    next[kind] = [...by.values()].sort((a, b) => key(a).localeCompare(key(b)));
  }
  return next;
}

function setConn(s, text) {
  const c = $('#conn');
  c.dataset.state = s;
  c.textContent = text;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- rendering ----

function renderAll() {
  renderServices();
  renderRevisions();
  renderCharts();
  renderEvents();
  renderColdStarts();
}

function revisionsOf(svc) {
  return (state.snapshot?.revisions ?? []).filter((r) => r.namespace === svc.namespace && r.service === svc.name);
}

function renderServices() {
  const root = $('#services');
  const services = state.snapshot?.services ?? [];
  if (services.length === 0) {
    root.replaceChildren(el('p', { class: 'empty' }, 'No services yet.'));
    return;
  }
  // Keep inputs the user is typing in: only rebuild cards whose content changed.
  const cards = services.map((svc) => {
    const rollouts = (state.snapshot?.rollouts ?? []).filter((r) => r.namespace === svc.namespace && r.service === svc.name);
    const key = JSON.stringify([svc, state.authorized, revisionsOf(svc).map((r) => [r.name, r.ready]), rollouts]);
    const id = `service-${svc.namespace}-${svc.name}`;
    const old = document.getElementById(id);
    if (old && old.dataset.key === key) return old;
    const card = serviceCard(svc);
    card.id = id;
    card.dataset.key = key;
    return card;
  });
  root.replaceChildren(...cards);
}

function serviceCard(svc) {
  const served = svc.traffic.filter((t) => t.percent > 0);
  const tagsOnly = svc.traffic.filter((t) => t.percent === 0 && t.tag);
  const bar = el(
    'div',
    { class: 'bar', 'data-testid': `traffic-${svc.name}` },
    served.map((t) =>
      el(
        'div',
        {
          class: 'seg',
          'data-revision': t.revisionName,
          'data-percent': t.percent,
          title: `${t.revisionName}${t.tag ? ` (tag ${t.tag})` : ''}: ${t.percent}%`,
          style: { width: `${t.percent}%`, background: color(`${svc.namespace}/${t.revisionName}`) },
        },
        `${t.revisionName}${t.tag ? ` (${t.tag})` : ''} ${t.percent}%`,
      ),
    ),
  );
  const desired = svc.desiredTraffic
    .map((t) => `${t.latestRevision ? '@latest' : (t.revisionName ?? '?')}${t.tag ? ` (${t.tag})` : ''} ${t.percent ?? 0}%`)
    .join(', ');
  const servedText = served.map((t) => `${t.revisionName} ${t.percent}%`).join(', ');
  const rolling = svc.ready !== 'True' && svc.latestCreatedRevision !== svc.latestReadyRevision;
  return el(
    'div',
    { class: 'service', 'data-testid': `service-${svc.name}` },
    el(
      'header',
      {},
      el('span', { class: 'name' }, svc.name),
      el('span', { class: `ready-${svc.ready}` }, svc.ready === 'True' ? 'Ready' : `Not ready${svc.message ? `: ${svc.message}` : ''}`),
      svc.url ? el('a', { class: 'url', href: svc.url, target: '_blank' }, svc.url) : null,
      rolling ? el('span', { class: 'rollout' }, `rolling out ${svc.latestCreatedRevision}`) : null,
    ),
    bar,
    el('div', { class: 'muted' }, `asked: ${desired}`, servedText ? ` · served: ${servedText}` : ''),
    tagsOnly.length ? el('div', {}, 'tags without traffic: ', tagsOnly.map((t) => `${t.tag} → ${t.revisionName}`).join(', ')) : null,
    rolloutLine(svc),
    state.authorized ? trafficEditor(svc) : null,
  );
}

/** A canary Rollout driving this service: its steps, the current one marked, and its message. */
function rolloutLine(svc) {
  const ro = (state.snapshot?.rollouts ?? []).find((r) => r.namespace === svc.namespace && r.service === svc.name);
  if (!ro) return null;
  const steps = ro.steps.map((p, i) =>
    el('span', { class: `step${i === ro.step ? ' current' : i < (ro.step ?? -1) ? ' done' : ''}`, 'data-step': i }, `${p}%`),
  );
  return el(
    'div',
    { class: 'canary', 'data-testid': `rollout-${svc.name}`, 'data-phase': ro.phase ?? '' },
    `canary ${ro.name}: ${ro.phase ?? 'pending'} `,
    ro.canaryRevision ? `${ro.canaryRevision} at ${ro.canaryWeight ?? 0}% · ` : '',
    'steps ',
    steps,
    ro.message ? el('span', { class: 'muted' }, ` — ${ro.message}`) : null,
  );
}

function trafficEditor(svc) {
  const revs = revisionsOf(svc).filter((r) => r.ready === 'True');
  const inputs = new Map();
  const msg = el('span', { class: 'msg' });
  const row = el(
    'div',
    { class: 'edit', 'data-testid': `edit-${svc.name}` },
    revs.map((r) => {
      const input = el('input', { type: 'number', min: 0, max: 100, value: r.percent, 'data-revision': r.name });
      inputs.set(r.name, input);
      return el('label', {}, `${r.name} `, input, '%');
    }),
    el(
      'button',
      {
        onclick: () => {
          const traffic = {};
          for (const [name, input] of inputs) traffic[name] = Number(input.value);
          void act('traffic', { namespace: svc.namespace, service: svc.name, traffic }, msg);
        },
      },
      'Apply split',
    ),
    el('button', { onclick: () => void act('promote', { namespace: svc.namespace, service: svc.name }, msg) }, 'Promote latest'),
    msg,
  );
  return row;
}

async function act(action, body, msg) {
  msg.className = 'msg';
  msg.textContent = 'sending…';
  try {
    const res = await fetch(`/api/v1/actions/${action}`, {
      method: 'POST',
      headers: headers({ 'content-type': 'application/json' }),
      body: JSON.stringify(body),
    });
    const out = await res.json();
    if (!res.ok) throw new Error(out.message || `answered ${res.status}`);
    msg.textContent = out.message;
  } catch (err) {
    msg.className = 'msg bad';
    msg.textContent = String(err.message || err);
  }
}

function latest() {
  return state.ticks.at(-1)?.revisions ?? {};
}

function renderRevisions() {
  const tbody = $('#revisions tbody');
  const live = latest();
  const rows = (state.snapshot?.revisions ?? []).map((r) => {
    const p = live[r.key] ?? {};
    const msg = el('span', { class: 'msg' });
    return el(
      'tr',
      { 'data-revision': r.name },
      el('td', {}, el('span', { class: 'swatch', style: { background: color(r.key) } }), r.name),
      el('td', {}, r.service ?? r.configuration ?? ''),
      el('td', { class: `ready-${r.ready}`, title: r.message ?? '' }, r.ready),
      el('td', { class: 'num' }, `${r.percent}%${r.tags.length ? ` (${r.tags.join(', ')})` : ''}`),
      el('td', { class: 'num', 'data-col': 'instances' }, `${p.readyInstances ?? r.readyInstances}/${p.desired ?? r.desired ?? '–'}`),
      el('td', { class: 'num', 'data-col': 'rps' }, fmt(p.rps)),
      el('td', { class: 'num' }, p.errorRate ? `${fmt(p.errorRate * 100)}%` : fmt(p.errorsPerSecond)),
      el('td', { class: 'num' }, fmt(p.p50Ms)),
      el('td', { class: 'num' }, fmt(p.p99Ms)),
      el('td', { title: r.scaleReason ?? '' }, [r.class?.split('.')[0], r.mode].filter(Boolean).join(' · '), r.scaleReason ? ` — ${r.scaleReason}` : ''),
      el(
        'td',
        {},
        state.authorized && r.service && r.ready === 'True'
          ? el('button', { onclick: () => void act('rollback', { namespace: r.namespace, service: r.service, revision: r.name }, msg) }, 'All traffic here')
          : null,
        msg,
      ),
    );
  });
  tbody.replaceChildren(...rows);
}

function renderEvents() {
  const list = $('#events');
  list.replaceChildren(
    ...state.events
      .slice()
      .reverse()
      .map((e) =>
        el(
          'li',
          { 'data-type': e.type },
          el('time', {}, new Date(e.time).toLocaleTimeString()),
          el('span', { class: 'type' }, e.type),
          e.object ? el('b', {}, `${shortName(e.object)} `) : null,
          e.message,
        ),
      ),
  );
}

function renderColdStarts() {
  const tbody = $('#coldstarts tbody');
  const rows = state.events
    .filter((e) => e.type === 'instance-ready')
    .slice(-20)
    .reverse()
    .map((e) =>
      el(
        'tr',
        {},
        el('td', {}, new Date(e.time).toLocaleTimeString()),
        el('td', {}, shortName(e.object ?? '')),
        el('td', {}, e.fields.instance ?? ''),
        el('td', { class: 'num' }, `${fmt(e.fields.seconds * 1000, 0)} ms`),
      ),
    );
  tbody.replaceChildren(...rows);
}

// ---- charts ----

const CHARTS = [
  { id: 'rps', lines: [{ pick: (p) => p.rps }] },
  { id: 'errors', lines: [{ pick: (p) => p.errorsPerSecond }] },
  {
    id: 'latency',
    lines: [
      { pick: (p) => p.p99Ms, suffix: ' p99' },
      { pick: (p) => p.p50Ms, suffix: ' p50', dash: [5, 4] },
    ],
  },
  { id: 'instances', lines: [{ pick: (p) => p.readyInstances }], markers: true },
];

const IDLE = { rps: 0, errorsPerSecond: 0, errorRate: 0, p50Ms: null, p99Ms: null, concurrency: 0, readyInstances: 0 };

function chartKeys() {
  const keys = new Set();
  for (const t of state.ticks) for (const k of Object.keys(t.revisions)) keys.add(k);
  return [...keys].sort((a, b) => a.localeCompare(b));
}

function renderCharts() {
  const keys = chartKeys();
  const times = state.ticks.map((t) => t.time / 1000);
  for (const spec of CHARTS) {
    const host = document.getElementById(`chart-${spec.id}`);
    const series = [];
    const data = [times];
    for (const k of keys) {
      for (const line of spec.lines) {
        series.push({ label: shortName(k) + (line.suffix ?? ''), stroke: color(k), width: 2, dash: line.dash, spanGaps: true, points: { show: false } });
        // A revision missing from a tick had no requests and no instances in it.
        data.push(state.ticks.map((t) => line.pick(t.revisions[k] ?? IDLE) ?? null));
      }
    }
    const shape = JSON.stringify(series.map((s) => s.label));
    let c = charts.get(spec.id);
    if (!c || c.shape !== shape) {
      c?.plot.destroy();
      const plot = new uPlot(
        {
          width: Math.max(300, host.clientWidth),
          height: 200,
          series: [{}, ...series],
          scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(1, max * 1.1)] } },
          legend: { show: true, live: false },
          hooks: spec.markers ? { draw: [drawDecisions] } : {},
        },
        data,
        host,
      );
      c = { plot, shape };
      charts.set(spec.id, c);
    } else {
      c.plot.setData(data);
    }
    // For people reading the DOM (and the browser tests): what the chart now shows.
    let max = 0;
    for (const s of data.slice(1)) for (const v of s) if (typeof v === 'number' && v > max) max = v;
    host.dataset.points = String(times.length);
    host.dataset.max = String(max);
  }
}

/** Vertical marks on the instances chart where the autoscaler changed a revision's scale. */
function drawDecisions(u) {
  const ctx = u.ctx;
  const [x0, x1] = [u.scales.x.min, u.scales.x.max];
  ctx.save();
  for (const e of state.events) {
    if (e.type !== 'scale' || !e.object) continue;
    const t = e.time / 1000;
    if (t < x0 || t > x1) continue;
    const x = u.valToPos(t, 'x', true);
    ctx.strokeStyle = color(e.object);
    ctx.setLineDash([2, 3]);
    ctx.beginPath();
    ctx.moveTo(x, u.bbox.top);
    ctx.lineTo(x, u.bbox.top + u.bbox.height);
    ctx.stroke();
    ctx.fillStyle = color(e.object);
    ctx.fillText(`${e.fields.from}→${e.fields.to}`, x + 3, u.bbox.top + 12);
  }
  ctx.restore();
}

// ---- token ----

async function checkToken() {
  if (!state.token) {
    state.authorized = false;
  } else {
    const res = await fetch('/api/v1/actions/whoami', { method: 'POST', headers: headers() }).catch(() => undefined);
    state.authorized = !!res?.ok;
  }
  const s = $('#auth-state');
  s.dataset.state = state.authorized ? 'authorized' : 'read-only';
  s.textContent = state.authorized ? 'changes allowed' : state.token ? 'token refused: read-only' : 'read-only';
  renderServices();
  renderRevisions();
}

$('#auth').addEventListener('submit', (e) => {
  e.preventDefault();
  state.token = $('#token').value.trim();
  sessionStorage.setItem('sluice-token', state.token);
  void checkToken();
});

window.addEventListener('resize', () => {
  for (const [id, c] of charts) c.plot.setSize({ width: Math.max(300, document.getElementById(`chart-${id}`).clientWidth), height: 200 });
});

void checkToken();
void connect();
