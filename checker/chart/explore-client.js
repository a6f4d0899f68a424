// The explorer's side of the page: asks the server (checker/chart/explore.ts) for the path and its enabled
// steps, draws the path with the chart (client.js), and takes a step on a click or a number key.
(function () {
  'use strict';
  let view = null;
  let busy = false;
  const $ = (id) => document.getElementById(id);

  function status(text) { $('status').textContent = text || ''; }

  async function call(method, path, payload) {
    if (busy) return;
    busy = true;
    try {
      const res = await fetch(path, method === 'GET' ? {} : { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload || {}) });
      const v = await res.json();
      if (!res.ok) { status(v.error || 'error ' + res.status); return; }
      show(v);
      status(v.note || '');
    } catch (e) {
      status(String(e));
    } finally {
      busy = false;
    }
  }

  function show(v) {
    view = v;
    window.ZabChart.render(v.chart, { select: v.chart.events.length - 1 });
    const chart = $('chart');
    chart.scrollTop = chart.scrollHeight;
    $('enabled-title').textContent = 'Enabled steps (' + v.enabled.length + ') at depth ' + v.depth;
    const ol = $('enabled');
    ol.textContent = '';
    v.enabled.forEach((s, k) => {
      const li = document.createElement('li');
      li.tabIndex = 0;
      li.dataset.index = String(s.index);
      li.dataset.kind = s.kind;
      li.dataset.sid = String(s.sid);
      const name = document.createElement('strong');
      name.textContent = s.kind;
      li.appendChild(name);
      li.appendChild(document.createTextNode(' server ' + s.sid + (s.params ? ' (' + s.params + ')' : '')));
      if (s.recv) {
        const m = document.createElement('div');
        m.className = 'keys';
        m.textContent = 'recv ' + s.recv;
        li.appendChild(m);
      }
      li.title = k < 9 ? 'press ' + (k + 1) : '';
      li.onclick = () => call('POST', '/api/step', { index: s.index });
      li.onkeydown = (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); li.onclick(); } };
      ol.appendChild(li);
    });
    const ul = $('properties');
    ul.textContent = '';
    for (const p of v.properties) {
      const li = document.createElement('li');
      const bad = p.kind === 'invariant' && !p.holds;
      li.className = bad ? 'inv-bad' : 'inv-ok';
      li.dataset.property = p.name;
      li.dataset.holds = String(p.holds);
      li.textContent = p.name + ': ' + (p.kind === 'invariant' ? (p.holds ? 'holds' : 'VIOLATED' + (p.explain ? ' (' + p.explain + ')' : '')) : p.holds ? 'witnessed here' : 'not here');
      li.title = p.description;
      ul.appendChild(li);
    }
  }

  document.addEventListener('keydown', (e) => {
    if (!view || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.target && e.target.tagName === 'INPUT') return;
    if (/^[1-9]$/.test(e.key)) {
      const s = view.enabled[Number(e.key) - 1];
      if (s) { e.preventDefault(); call('POST', '/api/step', { index: s.index }); }
    } else if (e.key === 'b' || e.key === 'Backspace') {
      e.preventDefault();
      call('POST', '/api/back');
    }
  });
  $('back').onclick = () => call('POST', '/api/back');
  $('reset').onclick = () => call('POST', '/api/reset');
  $('open-btn').onclick = () => $('open').click();
  $('open').onchange = async () => {
    const f = $('open').files[0];
    if (f) call('POST', '/api/open', { text: await f.text(), name: f.name });
  };
  document.body.classList.add('explore');
  window.ZabChart.wire();
  call('GET', '/api/state');
})();
