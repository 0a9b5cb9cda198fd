// The explorer's live toggle: a WebSocket tail of the listing's filters
// (GET /api/audit-logs/stream, docs/live.md), whose events are put at the
// top of the list as they commit. The tail resumes after the newest event
// the page was rendered with, so nothing falls between the page and the
// tail; turned off and on again, or closed by the server, it resumes after
// the last event it received, so nothing is missed and nothing comes twice.
'use strict';

(() => {
  const box = document.getElementById('live');
  if (!box || !('WebSocket' in window)) return;
  const button = document.getElementById('live-toggle');
  const state = document.getElementById('live-state');
  const news = document.getElementById('live-news');
  const rowTemplate = document.getElementById('live-row');
  const tbody = document.querySelector('table.events-table tbody');
  const eventPath = box.dataset.eventPath;
  const time = new Intl.DateTimeFormat(undefined, {
    year: 'numeric', month: 'short', day: 'numeric',
    hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
  });

  let lastSeq = Number(box.dataset.afterSeq) || 0; // 0: from the log's end
  let socket = null;
  let on = false;
  let retry = 0; // reconnections in a row without an answer
  let timer = null;
  let arrived = []; // actions not announced yet
  let announceTimer = null;

  function show(text, live) {
    state.textContent = text;
    box.classList.toggle('on', !!live);
  }

  function url() {
    const u = new URL(box.dataset.stream, location.href);
    u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    if (lastSeq > 0) u.searchParams.set('after_seq', String(lastSeq));
    return u.toString();
  }

  function connect() {
    clearTimeout(timer);
    const ws = new WebSocket(url());
    socket = ws;
    show('Connecting…', false);
    ws.onmessage = (m) => {
      if (ws !== socket) return;
      let msg;
      try { msg = JSON.parse(m.data); } catch (e) { return; }
      if (msg.type === 'ready') {
        retry = 0;
        lastSeq = Math.max(lastSeq, msg.after_seq || 0);
        show('Live: new events appear at the top as they are recorded.', true);
      } else if (msg.type === 'event' && msg.event) {
        if (msg.event.seq <= lastSeq) return; // a resume sends again what came
        lastSeq = msg.event.seq;
        insert(msg.event);
      }
    };
    ws.onclose = (e) => {
      if (ws !== socket) return;
      socket = null;
      if (!on) return;
      switch (e.code) {
        case 4401:
          stop('Stopped: your session ended. Sign in again to go on.');
          return;
        case 4403:
          stop('Stopped: your role no longer allows reading the audit log.');
          return;
        case 4000: // fell behind: resume at once from the last event
          retry = 0;
          box.dataset.overflows = String((Number(box.dataset.overflows) || 0) + 1);
          connect();
          return;
      }
      // Any other end (the server restarting, the network): try again,
      // waiting longer each time, up to 30 seconds.
      const wait = Math.min(30, 2 ** retry) * 1000;
      retry++;
      show('Reconnecting…', false);
      timer = setTimeout(connect, wait);
    };
  }

  function stop(why) {
    on = false;
    clearTimeout(timer);
    if (socket) {
      const ws = socket;
      socket = null;
      ws.close(1000);
    }
    button.setAttribute('aria-pressed', 'false');
    show(why, false);
  }

  // insert puts an event at the top of the list, as the server renders a
  // row, with text only (never HTML from the event).
  function insert(ev) {
    const tr = rowTemplate.content.firstElementChild.cloneNode(true);
    const cells = tr.children;
    const t = cells[0].querySelector('time');
    const d = new Date(ev.created_at);
    t.setAttribute('datetime', ev.created_at);
    t.title = ev.created_at.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
    t.textContent = Number.isNaN(d.getTime()) ? ev.created_at : time.format(d);
    const a = cells[1].querySelector('a');
    a.href = eventPath + ev.id;
    a.textContent = ev.action;
    const actor = ev.actor || {};
    if (actor.name || actor.email) {
      cells[2].textContent = actor.name || actor.email;
    } else if (actor.id) {
      cells[2].append(span('mono', actor.id));
    } else {
      cells[2].append(span('muted', 'unknown'));
    }
    if (actor.type && actor.type !== 'user') cells[2].append(' ', span('tag', actor.type));
    if (ev.resource_type) {
      cells[3].textContent = ev.resource_type;
      if (ev.resource_id) cells[3].append(' ', span('muted', ev.resource_id));
    } else {
      cells[3].append(span('muted none', '—'));
    }
    cells[4].append(ev.ip_address ? span('mono', ev.ip_address) : span('muted none', '—'));
    if (ev.outcome === 'success') cells[5].append(span('tag ok', 'success'));
    else if (ev.outcome === 'failure') cells[5].append(span('tag bad', 'failure'));
    else cells[5].append(span('muted none', '—'));
    tbody.prepend(tr);
    const wrap = tbody.closest('.table-wrap');
    if (wrap.hidden) {
      wrap.hidden = false;
      const empty = document.querySelector('.empty');
      if (empty) empty.hidden = true;
    }
    arrived.push(ev.action);
    // Announce a burst once, politely, rather than each row.
    clearTimeout(announceTimer);
    announceTimer = setTimeout(announce, 1000);
  }

  function announce() {
    const n = arrived.length;
    if (n === 0) return;
    news.textContent = n === 1 ? 'New event: ' + arrived[0] + '.' : n + ' new events, the latest ' + arrived[n - 1] + '.';
    arrived = [];
  }

  function span(cls, text) {
    const s = document.createElement('span');
    s.className = cls;
    s.textContent = text;
    return s;
  }

  button.addEventListener('click', () => {
    if (on) {
      stop('Paused: turn it on again to catch up from where it stopped.');
      return;
    }
    on = true;
    retry = 0;
    button.setAttribute('aria-pressed', 'true');
    connect();
  });
  box.hidden = false;
})();
