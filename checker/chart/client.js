// The chart's drawing and navigation, run in the browser (inlined into every page by checker/chart/page.ts).
// Time flows down: one row per event, one column (lifeline) per server, an arrow per message from the row of
// its send to the row of its receive. No network access: everything it needs is in the page.
(function () {
  'use strict';
  const NS = 'http://www.w3.org/2000/svg';
  const COL = 190;
  const LEFT = 46;
  const BASE_ROW = 28;
  const FAULTS = new Set(['ConnectionLost', 'LeaderStepDown', 'LearnerTimeout']);
  const STARTS = new Set(['Restart', 'ServerStart']);
  let data = null;
  let zoom = 1;
  let selected = -1;
  let snaps = [];
  let onSelect = null;

  function el(tag, attrs, parent, text) {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function h(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  const rowH = () => BASE_ROW * zoom;
  const colOf = (sid) => data.servers.findIndex((s) => s.sid === sid);
  const x = (sid) => LEFT + (colOf(sid) + 0.5) * COL;
  const y = (i) => 10 + (i + 1) * rowH();

  // Every server's variables after each event: snaps[i + 1] is after event i, snaps[0] the start. A server's
  // object is copied only when the event changes it.
  function buildSnaps() {
    const start = {};
    for (const s of data.servers) start[s.sid] = Object.assign({}, data.init[String(s.sid)] || {});
    snaps = [start];
    let cur = start;
    data.events.forEach((e) => {
      const next = Object.assign({}, cur);
      const touched = new Set();
      for (const c of e.changes) {
        if (!touched.has(c.sid)) { next[c.sid] = Object.assign({}, next[c.sid] || {}); touched.add(c.sid); }
        next[c.sid][c.name] = c.value;
      }
      if (e.processEnds) { next[e.sid] = Object.assign({}, next[e.sid], { online: 'false' }); }
      if (STARTS.has(e.action) && !e.changes.some((c) => c.sid === e.sid && c.name === 'online')) next[e.sid] = Object.assign({}, next[e.sid], { online: 'true' });
      snaps.push(next);
      cur = next;
    });
  }

  /** What the last state does to the verdict's property, for the end of the chart and the last step's panel. */
  function verdictText(v) {
    const what = v.kind === 'invariant' ? 'violates ' : v.kind === 'liveness' ? 'never reaches (a lasso: a loop or a dead end) ' : 'witnesses ';
    return what + v.property + (v.message ? ': ' + v.message : '');
  }

  function roleOf(vars) {
    if (vars.online === 'false') return 'down';
    return vars.state || 'other';
  }
  function epochOf(vars) {
    return vars.currentEpoch !== undefined ? vars.currentEpoch : '?';
  }

  // Bands: for each server, runs of rows with the same role and epoch.
  function bands() {
    const out = [];
    for (const s of data.servers) {
      let startRow = -1;
      let key = null;
      let role = null;
      let epoch = null;
      for (let i = -1; i < data.events.length; i++) {
        const v = snaps[i + 1][s.sid] || {};
        const r = roleOf(v);
        const ep = epochOf(v);
        const k = r + '|' + ep;
        if (k !== key) {
          if (key !== null) out.push({ sid: s.sid, from: startRow, to: i, role, epoch });
          key = k; role = r; epoch = ep; startRow = i;
        }
      }
      out.push({ sid: s.sid, from: startRow, to: data.events.length, role, epoch });
    }
    return out;
  }

  function render(newData, opts) {
    data = newData;
    onSelect = (opts && opts.onSelect) || null;
    buildSnaps();
    draw();
    const keep = opts && typeof opts.select === 'number' ? opts.select : -1;
    select(Math.min(keep, data.events.length - 1), false);
  }

  function draw() {
    const chart = document.getElementById('chart');
    const heads = document.getElementById('heads');
    const svg = document.getElementById('svg');
    const n = data.events.length;
    const width = LEFT + data.servers.length * COL + 140;
    const height = y(n) + rowH() * 1.5 + 16;
    heads.style.width = width + 'px';
    heads.textContent = '';
    for (const s of data.servers) {
      const d = h('div', { 'data-sid': String(s.sid), class: 'head' }, 'server ' + s.sid + (s.role === 'observer' ? ' (observer)' : ''));
      d.style.left = (x(s.sid) - COL / 2) + 'px';
      d.style.width = COL + 'px';
      heads.appendChild(d);
    }
    svg.setAttribute('width', width);
    svg.setAttribute('height', height);
    svg.textContent = '';
    const defs = el('defs', {}, svg);
    const marker = el('marker', { id: 'head', viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '8', markerHeight: '8', markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' }, defs);
    el('path', { d: 'M0,0 L10,5 L0,10 z', fill: 'context-stroke' }, marker);
    const rows = el('g', { id: 'rows' }, svg);
    // Rows of broken invariants and of the divergence, and the selection.
    data.events.forEach((e, i) => {
      if (e.broken && e.broken.length > 0) el('rect', { class: 'rowbroken', x: 0, y: y(i) - rowH() / 2, width, height: rowH() }, rows);
    });
    if (data.divergence && data.divergence.at !== null) {
      const hgt = Math.max(6, rowH());
      el('rect', { class: 'rowdiv', id: 'divrow', x: 0, y: y(data.divergence.at) - hgt / 2, width, height: hgt }, rows);
      el('path', { class: 'divmark', d: 'M2,' + (y(data.divergence.at) - 7) + ' l12,7 l-12,7 z' }, rows);
    }
    el('rect', { class: 'rowsel', id: 'rowsel', x: 0, y: -100, width, height: rowH() }, rows);
    const gb = el('g', { id: 'bands' }, svg);
    for (const b of bands()) {
      const top = b.from < 0 ? 10 : y(b.from);
      const bottom = b.to >= n ? y(n) : y(b.to);
      const r = el('rect', { class: 'band band-' + (['LOOKING', 'FOLLOWING', 'LEADING', 'OBSERVING', 'down'].includes(b.role) ? b.role : 'other'), x: x(b.sid) - 8, y: top, width: 16, height: Math.max(1, bottom - top), 'data-sid': b.sid, 'data-role': b.role, 'data-epoch': b.epoch }, gb);
      el('title', {}, r, 'server ' + b.sid + ': ' + (b.role === 'down' ? 'down' : b.role + (b.epoch === '?' ? '' : ', epoch ' + b.epoch)));
      if (rowH() >= 14 && bottom - top > 24 && b.role !== 'down') el('text', { class: 'muted', x: x(b.sid) - 11, y: top + 12, 'text-anchor': 'end' }, gb, b.role.slice(0, 4) + (b.epoch === '?' ? '' : ' e' + b.epoch));
    }
    const gl = el('g', { id: 'lifelines' }, svg);
    for (const s of data.servers) el('line', { class: 'lifeline', 'data-sid': s.sid, x1: x(s.sid), x2: x(s.sid), y1: 10, y2: y(n) }, gl);
    drawArrows(el('g', { id: 'arrows' }, svg), n);
    drawEvents(el('g', { id: 'events' }, svg));
    if (rowH() >= 12) {
      const gn = el('g', { id: 'rownums' }, svg);
      data.events.forEach((_, i) => el('text', { class: 'muted', x: 4, y: y(i) + 4 }, gn, String(i + 1)));
    }
    const end = document.getElementById('end');
    end.textContent = '';
    end.style.width = width + 'px';
    if (data.verdict) {
      const text = verdictText(data.verdict);
      const v = h('div', { class: 'box bad', id: 'verdict', 'data-property': data.verdict.property });
      v.appendChild(h('strong', {}, 'The last state ' + text));
      end.appendChild(v);
    }
    if (data.divergence) {
      const v = h('div', { class: 'box div', id: 'divergence-end' });
      v.appendChild(h('strong', {}, 'DIVERGENCE: ' + data.divergence.headline));
      end.appendChild(v);
    }
    chart.onclick = (ev) => {
      const rect = svg.getBoundingClientRect();
      const i = Math.round((ev.clientY - rect.top - 10) / rowH()) - 1;
      if (i >= 0 && i < n) select(i, false);
    };
  }

  function drawArrows(g, n) {
    for (const a of data.arrows) {
      const x1 = x(a.from);
      const x2 = x(a.to);
      const y1 = a.sentAt < 0 ? 10 : y(a.sentAt);
      const cls = 'arrow' + (a.type === 'NOTIFICATION' ? ' election' : '') + (a.lost ? ' lost' : '') + (a.recvAt === null && !a.lost ? ' inflight' : '');
      let p;
      if (a.recvAt !== null) {
        const y2 = y(a.recvAt);
        if (a.from === a.to) p = el('path', { d: 'M' + x1 + ',' + y1 + ' C' + (x1 + 40) + ',' + y1 + ' ' + (x1 + 40) + ',' + y2 + ' ' + (x1 + 6) + ',' + y2, class: cls, 'marker-end': 'url(#head)' }, g);
        else p = el('line', { x1, y1, x2: x2 + (x2 > x1 ? -6 : 6), y2, class: cls, 'marker-end': 'url(#head)' }, g);
        if (rowH() >= 14 && a.from !== a.to) {
          const t = el('text', { class: 'muted', x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 3, 'text-anchor': 'middle' }, g, a.type);
          t.setAttribute('data-arrow', a.id);
        }
      } else if (a.lost) {
        const ex = x1 + (x2 - x1) * 0.55;
        const ey = y1 + rowH() * 0.8;
        p = el('line', { x1, y1, x2: ex, y2: ey, class: cls }, g);
        el('path', { class: 'lostmark', d: 'M' + (ex - 5) + ',' + (ey - 5) + ' l10,10 m0,-10 l-10,10' }, g);
      } else {
        // Not received by the end: sent near the end, toward its receiver below the last row; sent long
        // before, a short stub (a line across thousands of rows would hide the others).
        const near = n - a.sentAt <= 30;
        const dx = a.from === a.to ? 30 : (x2 - x1) * (near ? 0.85 : 0.35);
        p = el('line', { x1, y1, x2: x1 + dx, y2: near ? y(n) + rowH() : y1 + rowH(), class: cls, 'marker-end': 'url(#head)' }, g);
      }
      p.setAttribute('data-id', a.id);
      p.setAttribute('data-type', a.type);
      el('title', {}, p, a.text + (a.lost ? ' (lost)' : a.recvAt === null ? ' (not received by the end)' : ''));
    }
  }

  function drawEvents(g) {
    data.events.forEach((e, i) => {
      const cx = x(e.sid);
      const cy = y(i);
      let m;
      if (e.action === 'Crash') {
        m = el('path', { class: 'crash', d: 'M' + (cx - 6) + ',' + (cy - 6) + ' l12,12 m0,-12 l-12,12' }, g);
      } else if (STARTS.has(e.action)) {
        m = el('path', { class: 'start', d: 'M' + (cx - 7) + ',' + (cy + 6) + ' l7,-12 l7,12 z' }, g);
      } else if (FAULTS.has(e.action)) {
        m = el('path', { class: 'fault', d: 'M' + cx + ',' + (cy - 7) + ' l7,7 l-7,7 l-7,-7 z' }, g);
      } else {
        m = el('circle', { class: 'ev', cx, cy, r: 3.5 }, g);
      }
      m.setAttribute('data-i', i);
      m.setAttribute('data-action', e.action);
      el('title', {}, m, (i + 1) + '. ' + e.action + ' server ' + e.sid + (e.params ? ' (' + e.params + ')' : ''));
      if (e.processEnds) el('path', { class: 'crash', d: 'M' + (cx - 6) + ',' + (cy + 4) + ' l12,12 m0,-12 l-12,12' }, g);
      if (rowH() >= 14) el('text', { x: cx + 10, y: cy + 4 }, g, e.action + (e.params ? ' ' + e.params : '')).setAttribute('data-i', i);
      if (data.divergence && data.divergence.at === i) el('text', { class: 'divmark', id: 'divmark', x: cx - 12, y: cy + 4, 'text-anchor': 'end' }, g, '⚠');
    });
  }

  function select(i, scroll) {
    selected = i;
    const sel = document.getElementById('rowsel');
    if (sel) sel.setAttribute('y', i < 0 ? -100 : y(i) - rowH() / 2);
    for (const old of document.querySelectorAll('.arrow.hl')) old.classList.remove('hl');
    if (i >= 0) {
      for (const a of data.arrows) if (a.sentAt === i || a.recvAt === i) {
        const p = document.querySelector('.arrow[data-id="' + CSS.escape(a.id) + '"]');
        if (p) p.classList.add('hl');
      }
    }
    panel(i);
    if (scroll && i >= 0) {
      const chart = document.getElementById('chart');
      const top = y(i);
      if (top < chart.scrollTop + 40 || top > chart.scrollTop + chart.clientHeight - 40) chart.scrollTop = top - chart.clientHeight / 2;
    }
    if (onSelect) onSelect(i);
  }

  function panel(i) {
    const p = document.getElementById('panel');
    p.textContent = '';
    const add = (e) => { p.appendChild(e); return e; };
    const n = data.events.length;
    if (i < 0) {
      add(h('h2', {}, 'Start (' + n + ' events)'));
      add(h('p', {}, 'Click a row or press ↓ / j to step; the panel shows the step, what it changed, and every server after it.'));
    } else {
      const e = data.events[i];
      add(h('h2', { id: 'step-title' }, 'Step ' + (i + 1) + ' of ' + n + ': ' + e.action + ' by server ' + e.sid));
      if (e.params) add(h('div', { class: 'mono' }, e.params));
      if (e.where) add(h('div', { class: 'mono', title: e.where }, e.where.split('/').pop() + (e.time ? ' · ' + new Date(e.time).toISOString() : '')));
      if (e.recv) add(h('div', { class: 'mono' }, 'recv ' + e.recv.text));
      for (const m of e.send) add(h('div', { class: 'mono' }, 'send ' + m.text));
      if (e.processEnds) add(h('div', { class: 'box bad' }, "server " + e.sid + "'s process ends here (its log file ends; the next start is a ServerStart)"));
      if (e.broken && e.broken.length > 0) add(h('div', { class: 'box bad', id: 'broken' }, 'Does not hold after this step: ' + e.broken.join(', ')));
    }
    if (data.divergence && (data.divergence.at === i || (i === n - 1 && data.divergence.at === null))) {
      const d = data.divergence;
      const b = add(h('div', { class: 'box div', id: 'divergence' }));
      b.appendChild(h('strong', {}, 'Divergence: ' + d.headline));
      b.appendChild(h('div', {}, 'Steps the spec allowed there:'));
      const ul = h('ul', {});
      for (const s of d.enabled) ul.appendChild(h('li', { class: 'mono' }, s));
      if (d.enabled.length === 0) ul.appendChild(h('li', {}, 'none'));
      b.appendChild(ul);
      for (const l of d.nearest) b.appendChild(h('div', { class: 'mono' }, l));
      b.appendChild(h('div', { class: 'mono' }, 'logged after it: ' + d.logged));
      for (const sid in d.specState) b.appendChild(h('div', { class: 'mono' }, 'spec, server ' + sid + ' before it: ' + d.specState[sid]));
    }
    if (data.verdict && i === n - 1) {
      add(h('div', { class: 'box bad' }, 'The last state ' + verdictText(data.verdict)));
    }
    add(h('h2', {}, i < 0 ? 'Servers at the start' : 'Servers after this step'));
    const after = snaps[i + 1];
    const changed = new Set(i < 0 ? [] : data.events[i].changes.map((c) => c.sid + '.' + c.name));
    for (const s of data.servers) {
      const v = after[s.sid] || {};
      const box = add(h('div', { class: 'box server', 'data-sid': String(s.sid) }));
      box.appendChild(h('strong', {}, 'server ' + s.sid + ': ' + (v.online === 'false' ? 'down' : (v.state || '?')) + (epochOf(v) === '?' ? '' : ', epoch ' + epochOf(v)) + (v.zabState ? ', ' + v.zabState : '')));
      const t = h('table', {});
      const show = ['history', 'delivered', 'lastZxid', 'pendingLog'].filter((k) => v[k] !== undefined);
      for (const k of show) {
        const tr = t.insertRow();
        if (changed.has(s.sid + '.' + k)) tr.className = 'changed';
        tr.insertCell().textContent = k === 'history' ? 'log' : k === 'delivered' ? 'committed' : k;
        tr.insertCell().textContent = v[k];
        tr.setAttribute('data-var', k);
      }
      box.appendChild(t);
      const det = h('details', {});
      det.appendChild(h('summary', {}, 'all variables'));
      const all = h('table', {});
      for (const k of Object.keys(v)) {
        const tr = all.insertRow();
        if (changed.has(s.sid + '.' + k)) tr.className = 'changed';
        tr.insertCell().textContent = k;
        tr.insertCell().textContent = v[k];
      }
      det.appendChild(all);
      box.appendChild(det);
    }
    if (i >= 0) {
      const e = data.events[i];
      if (e.changes.length > 0) {
        add(h('h2', {}, 'Changed'));
        const t = add(h('table', { id: 'diff' }));
        for (const c of e.changes) {
          const before = (snaps[i][c.sid] || {})[c.name];
          const tr = t.insertRow();
          tr.insertCell().textContent = 's' + c.sid + ' ' + c.name;
          tr.insertCell().textContent = (before === undefined ? '—' : before) + ' → ' + c.value;
        }
      }
    }
  }

  function firstTrouble() {
    if (data.divergence && data.divergence.at !== null) return data.divergence.at;
    const b = data.events.findIndex((e) => e.broken && e.broken.length > 0);
    return b >= 0 ? b : data.events.length - 1;
  }

  // Jump to a row, zooming in first when the rows are too thin to read.
  function jump(i) {
    if (rowH() < 14) { selected = i; setZoom(1); }
    select(i, true);
  }

  function setZoom(z) {
    const chart = document.getElementById('chart');
    const mid = (chart.scrollTop + chart.clientHeight / 2) / rowH();
    zoom = Math.max(0.1, Math.min(3, z));
    draw();
    select(selected, false);
    chart.scrollTop = mid * rowH() - chart.clientHeight / 2;
  }
  function fit() {
    const chart = document.getElementById('chart');
    setZoom((chart.clientHeight - 120) / ((data.events.length + 2) * BASE_ROW));
  }

  function key(ev) {
    if (!data || (ev.target && (ev.target.tagName === 'INPUT' || ev.target.tagName === 'TEXTAREA'))) return false;
    const n = data.events.length;
    const go = (i) => select(Math.max(-1, Math.min(n - 1, i)), true);
    switch (ev.key) {
      case 'ArrowDown': case 'j': go(selected + 1); break;
      case 'ArrowUp': case 'k': go(selected - 1); break;
      case 'PageDown': go(selected + 20); break;
      case 'PageUp': go(selected - 20); break;
      case 'Home': go(-1); break;
      case 'End': go(n - 1); break;
      case 'd': jump(firstTrouble()); break;
      case '+': case '=': setZoom(zoom * 1.25); break;
      case '-': setZoom(zoom / 1.25); break;
      case '0': setZoom(1); break;
      case 'f': fit(); break;
      default: return false;
    }
    ev.preventDefault();
    return true;
  }

  function wire() {
    document.addEventListener('keydown', key);
    const b = (id, f) => { const e = document.getElementById(id); if (e) e.onclick = f; };
    b('zoom-in', () => setZoom(zoom * 1.25));
    b('zoom-out', () => setZoom(zoom / 1.25));
    b('zoom-fit', fit);
    b('jump-trouble', () => jump(firstTrouble()));
    b('jump-end', () => select(data.events.length - 1, true));
  }

  window.ZabChart = { render, select, wire, selected: () => selected };
  const embedded = document.getElementById('chart-data');
  if (embedded) {
    wire();
    render(JSON.parse(embedded.textContent));
    if (data.events.length > 400) fit();
  }
})();
