'use strict';
/*
 * Baton's dashboard (docs/dashboard.md). One page, no libraries, no build step.
 *
 * Data flow: one GET /api/v1/status draws the page at once; then one EventSource on
 * /api/v1/events/stream?status=1 brings every log event (event "event") and the node's whole
 * status whenever it changes (event "status", about every half second). Everything on screen is
 * a function of the last status plus three small memories of this page: the events seen (the
 * timeline, bounded), the answers to the actions sent from here (bounded), and the VEs each
 * switchover moved (so that a finished move still shows where it went).
 *
 * Rendering is keyed: a node's card, a workload's row and a switchover's panel are made once
 * and then updated in place, so a button under the pointer (or held by a test) stays the same
 * element while the status changes around it. All text goes in through textContent or
 * attributes, never innerHTML: names, reasons and event fields come from the cluster and are
 * shown, never interpreted.
 */

const MAX_EVENTS = 200;
const MAX_ANSWERS = 30;
const RECONNECT_MIN_MILLIS = 1000;
const RECONNECT_MAX_MILLIS = 15000;
/** A switchover answered by the API but not yet in the status' maintenance list is shown this long. */
const REQUESTED_SWITCHOVER_MILLIS = 30000;
const MIB = 1024 * 1024;

const VERDICTS = ['up', 'suspect', 'network-lost', 'disk-lost', 'down', 'fenced', 'left', 'absent'];

const page = {
  status: null,
  lastSeq: 0,
  source: null,
  reconnectMillis: RECONNECT_MIN_MILLIS,
  reconnectTimer: 0,
  nodeCards: new Map(),
  workloadRows: new Map(),
  deviceRows: new Map(),
  switchoverPanels: new Map(),
  /** node -> epoch millis when a switchover of it was accepted through this page. */
  requestedSwitchovers: new Map(),
  /** node -> Map(workload -> {from, to, mode, done}) of the VEs its switchover moved, as seen here. */
  moved: new Map(),
};

// ---- small DOM helpers

function $(selector) {
  return document.querySelector(selector);
}

/** An element with attributes (class, text, title, hidden, data: {...}, anything else as an attribute) and children. */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) {
      continue;
    }
    if (k === 'text') {
      e.textContent = String(v);
    } else if (k === 'class') {
      e.className = v;
    } else if (k === 'data') {
      for (const [dk, dv] of Object.entries(v)) {
        e.dataset[dk] = String(dv);
      }
    } else if (k === 'hidden') {
      e.hidden = true;
    } else if (k === 'onclick') {
      e.addEventListener('click', v);
    } else {
      e.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of children) {
    if (c !== null && c !== undefined) {
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }
  return e;
}

/** Sets text only when it changed, so that unchanged parts of the page are not touched. */
function setText(e, text) {
  const t = text === null || text === undefined ? '' : String(text);
  if (e.textContent !== t) {
    e.textContent = t;
  }
}

function setAttr(e, name, value) {
  if (value === null || value === undefined || value === false) {
    if (e.hasAttribute(name)) {
      e.removeAttribute(name);
    }
  } else {
    const v = value === true ? '' : String(value);
    if (e.getAttribute(name) !== v) {
      e.setAttribute(name, v);
    }
  }
}

function setData(e, key, value) {
  const v = value === null || value === undefined ? '' : String(value);
  if (e.dataset[key] !== v) {
    e.dataset[key] = v;
  }
}

function show(e, visible) {
  if (e.hidden === visible) {
    e.hidden = !visible;
  }
}

function mib(bytes) {
  return (bytes / MIB).toFixed(bytes < 10 * MIB ? 1 : 0) + ' MiB';
}

function ago(millis) {
  if (millis === undefined || millis === null) {
    return '';
  }
  if (millis < 1000) {
    return millis + ' ms ago';
  }
  if (millis < 120000) {
    return (millis / 1000).toFixed(1) + ' s ago';
  }
  return Math.round(millis / 60000) + ' min ago';
}

function clock(isoOrMillis) {
  const d = new Date(isoOrMillis);
  return Number.isNaN(d.getTime()) ? String(isoOrMillis)
    : d.toLocaleTimeString([], {hour12: false}) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

// ---- the status: one function per part of the page

function render(s) {
  page.status = s;
  setText($('#cluster'), s.cluster || '');
  setText($('#served-by'), 'served by ' + (s.node || '?'));
  const c = s.coordinator || {};
  setText($('#coordinator'), c.holder ? 'coordinator ' + c.holder + ' (generation ' + c.generation + ')' : 'no coordinator');
  setData($('#coordinator'), 'holder', c.holder || '');
  document.title = 'Baton · ' + (s.cluster || '') + ' · ' + (s.node || '');
  renderNodes(s);
  renderWorkloads(s);
  renderSwitchovers(s);
  renderDisk(s);
  renderFenceDevices(s);
}

function list(s, key) {
  return Array.isArray(s[key]) ? s[key] : [];
}

function renderNodes(s) {
  const box = $('#nodes');
  const holder = (s.coordinator || {}).holder;
  const standby = new Set(list(s, 'standby'));
  const maintenance = new Set(list(s, 'maintenance'));
  const runs = new Map();
  for (const w of list(s, 'workloads')) {
    if (w.owner && w.desired === 'running') {
      runs.set(w.owner, (runs.get(w.owner) || []).concat(w.name));
    }
  }
  for (const n of list(s, 'nodes')) {
    if (!n.name) {
      continue;
    }
    let card = page.nodeCards.get(n.name);
    if (!card) {
      card = nodeCard(n.name);
      page.nodeCards.set(n.name, card);
      box.append(card.root);
    }
    const verdict = VERDICTS.includes(n.verdict) ? n.verdict : 'unknown';
    const evidence = n.evidence || '';
    setData(card.root, 'verdict', verdict);
    setData(card.root, 'coordinator', n.name === holder);
    setData(card.root, 'standby', standby.has(n.name));
    setData(card.root, 'maintenance', maintenance.has(n.name));
    setAttr(card.root, 'title', n.name + ': ' + n.verdict + (evidence ? ' — ' + evidence : ''));
    setText(card.verdict, n.verdict || '?');
    setAttr(card.verdict, 'title', evidence);
    setData(card.verdict, 'verdict', verdict);
    setText(card.evidence, evidence);
    setAttr(card.evidence, 'title', evidence);
    show(card.coordinator, n.name === holder);
    show(card.self, n.name === s.node);
    const mode = maintenance.has(n.name) ? 'maintenance' : standby.has(n.name) ? 'standby' : '';
    setText(card.mode, mode);
    show(card.mode, mode !== '');
    setText(card.disk, n.disk || '');
    setText(card.heartbeat, n.name === s.node ? 'this node' : n.heartbeatAgeMillis === undefined ? 'none heard'
      : ago(n.heartbeatAgeMillis));
    setText(card.fencing, n.fencing || '');
    // A node watches the others' fence devices, not its own: its own path is on the other nodes' pages.
    setText(card.fencePath, !n.fencePath && n.name === s.node ? 'watched by the others'
      : (n.fencePath || 'unknown') + (n.fencePathReason ? ': ' + n.fencePathReason : ''));
    setData(card.fencePath, 'path', n.fencePath || 'unknown');
    const r = runs.get(n.name) || [];
    setText(card.runs, r.length ? r.join(', ') : 'nothing');
    show(card.buttons.switchover, !maintenance.has(n.name));
    show(card.buttons.resume, maintenance.has(n.name));
    // In maintenance the node is kept empty by its switchover, which Resume ends; standby is another matter.
    show(card.buttons.standby, !standby.has(n.name) && !maintenance.has(n.name));
    show(card.buttons.unstandby, standby.has(n.name) && !maintenance.has(n.name));
  }
}

function nodeCard(name) {
  const part = (field, tag = 'dd') => el(tag, {data: {field}});
  const parts = {
    verdict: el('span', {class: 'badge verdict', data: {field: 'verdict'}}),
    coordinator: el('span', {class: 'badge coordinator', data: {field: 'coordinator'}, text: '★ coordinator', hidden: true}),
    self: el('span', {class: 'badge self', text: 'this page', title: 'the node serving this page', hidden: true}),
    mode: el('span', {class: 'badge mode', data: {field: 'mode'}, hidden: true}),
    evidence: el('p', {class: 'evidence', data: {field: 'evidence'}}),
    disk: part('disk'),
    heartbeat: part('heartbeat'),
    fencing: part('fencing'),
    fencePath: part('fencePath'),
    runs: part('runs'),
  };
  const button = (action, label, cls) => el('button', {type: 'button', class: cls || '', data: {node: name, action},
    onclick: () => nodeAction(name, action)}, label);
  parts.buttons = {
    switchover: button('switchover', 'Switchover'),
    resume: button('resume', 'Resume'),
    standby: button('standby', 'Standby'),
    unstandby: button('unstandby', 'Unstandby'),
    fence: button('fence', 'Fence', 'danger'),
  };
  parts.root = el('article', {class: 'node-card', id: 'node-' + name, data: {node: name}, 'aria-label': 'node ' + name},
    el('header', {}, el('h3', {text: name}), parts.verdict, parts.coordinator, parts.mode, parts.self),
    parts.evidence,
    el('dl', {class: 'facts small'},
      el('dt', {text: 'Disk slot'}), parts.disk,
      el('dt', {text: 'Heartbeat'}), parts.heartbeat,
      el('dt', {text: 'Fencing'}), parts.fencing,
      el('dt', {text: 'Fence path'}), parts.fencePath,
      el('dt', {text: 'Runs'}), parts.runs),
    el('div', {class: 'actions'}, ...Object.values(parts.buttons)));
  return parts;
}

/** A workload's state in a word (data-state) and in a phrase. */
function workloadState(w) {
  if (w.migrating) {
    return ['migrating', 'migrating ' + w.migrating + ' to ' + (w.next || '?')];
  }
  if (w.next) {
    return ['moving', 'moving cold to ' + w.next];
  }
  const desired = w.desired || 'unknown';
  let phrase = desired;
  if (w.owner && w.here && w.owner === (page.status || {}).node && w.here !== desired) {
    phrase += ' (here: ' + w.here + ')';
  }
  if (w.restarting) {
    phrase += ', restarting';
  }
  return [desired, phrase];
}

function renderWorkloads(s) {
  const body = $('#workloads tbody');
  const workloads = list(s, 'workloads');
  show($('#workloads-empty'), workloads.length === 0);
  const nodes = list(s, 'nodes').map(n => n.name).filter(Boolean);
  for (const w of workloads) {
    let row = page.workloadRows.get(w.name);
    if (!row) {
      row = workloadRow(w.name, w.kind);
      page.workloadRows.set(w.name, row);
      body.append(row.root);
    }
    const [word, phrase] = workloadState(w);
    setData(row.root, 'owner', w.owner || '');
    setData(row.root, 'state', word);
    setText(row.kind, w.kind || '');
    setText(row.owner, w.owner || '—');
    setText(row.stateBadge, word);
    setData(row.stateBadge, 'state', word);
    setText(row.stateText, phrase === word ? '' : phrase);
    const progress = migrationProgress(w);
    show(row.progressBox, progress !== null);
    if (progress) {
      applyProgress(row.progress, row.progressText, progress);
    }
    const notes = [w.hold, w.problem, w.lastFailureHere].filter(Boolean).join('; ');
    setText(row.reason, (w.reason || '') + (notes ? ' — ' + notes : ''));
    setAttr(row.reason, 'title', w.reason || '');
    show(row.buttons.migrate, w.kind === 've' && w.desired === 'running' && !w.migrating && !w.next);
    show(row.buttons.relocate, w.desired === 'running' && !w.migrating && !w.next);
    show(row.buttons.start, w.desired !== 'running');
    show(row.buttons.stop, w.desired === 'running');
    row.nodes = nodes;
  }
}

function workloadRow(name, kind) {
  const parts = {
    kind: el('td', {data: {field: 'kind'}}),
    owner: el('td', {data: {field: 'owner'}}),
    stateBadge: el('span', {class: 'badge state', data: {field: 'state'}}),
    stateText: el('span', {class: 'state-text'}),
    progress: el('progress', {data: {progress: name}, 'aria-label': 'migration of ' + name}),
    progressText: el('span', {class: 'progress-text small'}),
    reason: el('td', {class: 'reason', data: {field: 'reason'}}),
  };
  parts.progressBox = el('div', {class: 'progress-box', hidden: true}, parts.progress, parts.progressText);
  const button = (action, label) => el('button', {type: 'button', data: {workload: name, action},
    onclick: () => workloadAction(name, action)}, label);
  parts.buttons = {
    migrate: button('migrate', 'Migrate…'),
    relocate: button('relocate', 'Relocate…'),
    start: button('start', 'Start'),
    stop: button('stop', 'Stop'),
  };
  parts.root = el('tr', {id: 'workload-' + name, data: {workload: name, kind: kind || ''}},
    el('th', {scope: 'row', text: name}), parts.kind, parts.owner,
    el('td', {data: {field: 'state-cell'}}, parts.stateBadge, ' ', parts.stateText, parts.progressBox),
    parts.reason,
    el('td', {}, el('div', {class: 'actions'}, ...Object.values(parts.buttons))));
  return parts;
}

/**
 * How far a migration is, from QEMU's figures where this node takes part (migrationHere), else
 * as a node that takes part reported them (migrationRemote), else unknown (an indeterminate bar)
 * while the record says it migrates; null when nothing moves.
 */
function migrationProgress(w) {
  const m = w.migrationHere || w.migrationRemote;
  if (m && m.totalBytes > 0) {
    const done = Math.max(0, Math.min(m.totalBytes, m.totalBytes - (m.remainingBytes || 0)));
    return {value: done, max: m.totalBytes, text: (m.phase ? m.phase + ': ' : '') + mib(m.transferredBytes || 0) + ' sent, '
        + mib(m.remainingBytes || 0) + ' left of ' + mib(m.totalBytes)
        + (m.bytesPerSecond ? ', ' + mib(m.bytesPerSecond) + '/s' : '')};
  }
  if (w.migrating || m) {
    const phase = m && m.phase ? m.phase : (m ? m.role : '');
    return {value: null, max: 1, text: (phase ? phase + ': ' : '') + 'migrating ' + (w.migrating || (m && m.mode) || '')
        + ' to ' + (w.next || (m && m.peer) || '?')};
  }
  return null;
}

function applyProgress(bar, text, p) {
  setAttr(bar, 'max', p.max);
  if (p.value === null) {
    setAttr(bar, 'value', null); // indeterminate
  } else {
    setAttr(bar, 'value', p.value);
  }
  setText(text, p.text);
}

/**
 * One panel per node in maintenance (or whose switchover this page just asked for): the VEs on
 * their way off it with a bar each, then "done: nothing runs on NODE any more" when no workload
 * runs there, or "not moved" with the reason when the coordinator gave up on one.
 */
function renderSwitchovers(s) {
  const now = Date.now();
  const maintenance = new Set(list(s, 'maintenance'));
  for (const [node, at] of page.requestedSwitchovers) {
    if (maintenance.has(node) || now - at > REQUESTED_SWITCHOVER_MILLIS) {
      page.requestedSwitchovers.delete(node);
    }
  }
  const shown = new Set([...maintenance, ...page.requestedSwitchovers.keys()]);
  for (const [node, panel] of page.switchoverPanels) {
    if (!shown.has(node)) {
      panel.root.remove();
      page.switchoverPanels.delete(node);
      page.moved.delete(node);
    }
  }
  show($('#switchovers'), shown.size > 0);
  const workloads = list(s, 'workloads');
  for (const node of shown) {
    let panel = page.switchoverPanels.get(node);
    if (!panel) {
      panel = switchoverPanel(node);
      page.switchoverPanels.set(node, panel);
      $('#switchover-list').append(panel.root);
    }
    const moved = page.moved.get(node) || new Map();
    page.moved.set(node, moved);
    let busy = 0;
    const stayed = [];
    for (const w of workloads) {
      const leaving = w.owner === node && (w.migrating || w.next);
      const onNode = w.owner === node && w.desired === 'running';
      if (leaving) {
        moved.set(w.name, {from: node, to: w.next || '?', mode: w.migrating || 'cold', done: false, w});
      } else if (moved.has(w.name) && w.owner !== node) {
        Object.assign(moved.get(w.name), {to: w.owner || '?', done: true, w});
      }
      if (leaving) {
        busy++;
      } else if (onNode) {
        if (w.hold || /^migration to node .* (failed|called off)/.test(w.reason || '')) {
          stayed.push(w.name + ': ' + (w.hold || w.reason));
        } else {
          busy++; // not begun yet: the coordinator moves a few at a time
        }
      }
    }
    for (const [name, m] of moved) {
      let line = panel.lines.get(name);
      if (!line) {
        line = migrationLine(name);
        panel.lines.set(name, line);
        panel.list.append(line.root);
      }
      setData(line.root, 'done', m.done);
      setText(line.label, name + ': ' + m.from + ' → ' + m.to + (m.mode === 'cold' ? ' (cold)' : ' (' + m.mode + ')'));
      if (m.done) {
        applyProgress(line.bar, line.text, {value: 1, max: 1, text: 'now on ' + m.to});
      } else {
        const p = migrationProgress(m.w) || {value: null, max: 1, text: 'moving cold'};
        applyProgress(line.bar, line.text, p);
      }
    }
    const requestedOnly = !maintenance.has(node);
    let state;
    let summary;
    if (requestedOnly) {
      state = 'requested';
      summary = 'switchover of ' + node + ' accepted; waiting for the coordinator to begin';
    } else if (busy > 0) {
      state = 'moving';
      summary = 'moving ' + busy + ' workload' + (busy === 1 ? '' : 's') + ' off ' + node + '…';
    } else if (stayed.length > 0) {
      state = 'stuck';
      summary = 'not moved: ' + stayed.join('; ');
    } else {
      state = 'done';
      summary = 'done: nothing runs on ' + node + ' any more; Resume ends its maintenance';
    }
    setData(panel.root, 'state', state);
    setText(panel.summary, summary);
    show(panel.resume, state === 'done' || state === 'stuck');
  }
}

function switchoverPanel(node) {
  const parts = {
    summary: el('p', {class: 'summary', data: {field: 'summary'}}),
    list: el('ul', {class: 'migrations'}),
    lines: new Map(),
    resume: el('button', {type: 'button', data: {node, action: 'resume'}, onclick: () => nodeAction(node, 'resume'), hidden: true},
      'Resume ' + node),
  };
  parts.root = el('div', {class: 'switchover', id: 'switchover-' + node, data: {switchover: node}},
    el('h3', {text: 'Switchover of ' + node}), parts.summary, parts.list, parts.resume);
  return parts;
}

function migrationLine(name) {
  const parts = {
    label: el('span', {class: 'label'}),
    bar: el('progress', {data: {migration: name}, 'aria-label': 'migration of ' + name}),
    text: el('span', {class: 'progress-text small'}),
  };
  parts.root = el('li', {data: {migration: name}}, parts.label, parts.bar, parts.text);
  return parts;
}

function renderDisk(s) {
  const d = s.quorumDisk || {};
  const box = $('#disk');
  const rows = [
    ['primary', 'Primary copy', d.primary || 'unknown'],
    ['shadow', 'Shadow copy', d.shadow || 'unknown'],
    ['repairs', 'Repairs', d.repairs === undefined ? '' : String(d.repairs)],
  ];
  if (d.io) {
    rows.push(['cycle', 'Last cycle', (d.io.cycleLatencyLastMicros / 1000).toFixed(1) + ' ms (max recently '
      + (d.io.cycleLatencyRecentMaxMicros / 1000).toFixed(1) + ' ms)']);
  }
  rows.push(['phase', 'This node', s.phase || '']);
  for (const [key, label, value] of rows) {
    let dd = box.querySelector('dd[data-field="' + key + '"]');
    if (!dd) {
      dd = el('dd', {data: {field: key}});
      box.append(el('dt', {text: label}), dd);
    }
    setText(dd, value);
    if (key === 'primary' || key === 'shadow') {
      setData(dd, 'health', value);
    }
  }
}

function renderFenceDevices(s) {
  const body = $('#fence-devices tbody');
  const devices = list(s, 'fenceDevices');
  show($('#fence-empty'), devices.length === 0);
  show($('#fence-devices'), devices.length > 0);
  for (const d of devices) {
    let row = page.deviceRows.get(d.name);
    if (!row) {
      row = {state: el('td', {data: {field: 'state'}}, el('span', {class: 'badge'})), nodes: el('td'), last: el('td'),
        reason: el('td', {class: 'reason'})};
      row.root = el('tr', {data: {device: d.name}}, el('th', {scope: 'row', text: d.name}), row.state, row.nodes, row.last, row.reason);
      page.deviceRows.set(d.name, row);
      body.append(row.root);
    }
    const badge = row.state.firstChild;
    setText(badge, d.state || 'unknown');
    setData(badge, 'health', d.state || 'unknown');
    setData(row.root, 'state', d.state || 'unknown');
    setText(row.nodes, (d.nodes || []).join(', '));
    setText(row.last, d.lastResultAgoMillis === undefined ? 'not yet' : ago(d.lastResultAgoMillis)
      + (d.consecutiveFailures ? ', ' + d.consecutiveFailures + ' failed in a row' : ''));
    setText(row.reason, d.reason || '');
    setAttr(row.reason, 'title', d.reason || '');
  }
}

// ---- the event timeline

function addEvent(e) {
  if (typeof e.seq !== 'number' || e.seq <= page.lastSeq) {
    return; // seen already (a reconnect replays from Last-Event-ID)
  }
  page.lastSeq = e.seq;
  const level = ['info', 'warn', 'error'].includes(e.level) ? e.level : 'info';
  const fields = Object.entries(e.fields || {}).map(([k, v]) => k + '=' + v).join(' ');
  const item = el('li', {class: 'event level-' + level, data: {seq: e.seq, type: e.type || '', level}},
    el('time', {datetime: e.time || '', text: clock(e.time)}),
    el('span', {class: 'ev-node', text: e.node || ''}),
    el('span', {class: 'ev-level', text: level}),
    el('span', {class: 'ev-type', text: e.type || ''}),
    el('span', {class: 'ev-fields', text: fields, title: fields}));
  const box = $('#events');
  box.prepend(item);
  while (box.childElementCount > MAX_EVENTS) {
    box.lastElementChild.remove();
  }
}

// ---- live updates

function setConnection(state, text) {
  const c = $('#connection');
  setData(c, 'state', state);
  setText(c, text);
}

function connect() {
  clearTimeout(page.reconnectTimer);
  if (page.source) {
    page.source.close();
  }
  // The first connection asks for the last events kept; a new one (after the browser gave up)
  // for those after the last one shown. The browser's own retries send Last-Event-ID.
  const since = Math.max(0, page.lastSeq);
  const source = new EventSource('/api/v1/events/stream?status=1&since=' + since);
  page.source = source;
  source.addEventListener('open', () => {
    page.reconnectMillis = RECONNECT_MIN_MILLIS;
    setConnection('live', 'live');
  });
  source.addEventListener('event', m => addEvent(JSON.parse(m.data)));
  source.addEventListener('status', m => render(JSON.parse(m.data)));
  source.addEventListener('overflow', () => setConnection('reconnecting', 'too slow for the events; reconnecting…'));
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) {
      // The browser gave up (an error status, e.g. 401 or 503): try again ourselves, backing off.
      setConnection('offline', 'disconnected; retrying in ' + Math.round(page.reconnectMillis / 1000) + ' s');
      page.reconnectTimer = setTimeout(() => checkThenConnect(), page.reconnectMillis);
      page.reconnectMillis = Math.min(RECONNECT_MAX_MILLIS, page.reconnectMillis * 2);
    } else {
      setConnection('reconnecting', 'reconnecting…');
    }
  });
}

/** Before a new stream: a plain GET says whether the token is still good (a stream's 401 cannot be told apart). */
async function checkThenConnect() {
  try {
    const r = await fetch('/api/v1/status', {credentials: 'same-origin', cache: 'no-store'});
    if (r.status === 401) {
      if (page.source) {
        page.source.close();
      }
      setConnection('unauthorized', 'signed out: open /?token=TOKEN again');
      return;
    }
    if (r.ok) {
      render(await r.json());
    }
  } catch (e) {
    // The node does not answer; the stream's retry says so.
  }
  connect();
}

async function start() {
  const dialog = $('#confirm-dialog');
  $('#confirm-cancel').addEventListener('click', () => dialog.close('cancel'));
  try {
    const r = await fetch('/api/v1/status', {credentials: 'same-origin', cache: 'no-store'});
    if (r.ok) {
      const s = await r.json();
      render(s);
      // Show the last events kept, up to the timeline's size.
      const last = (s.api && s.api.lastEventSeq) || 0;
      page.lastSeq = Math.max(0, last - MAX_EVENTS);
    } else if (r.status === 401) {
      setConnection('unauthorized', 'signed out: open /?token=TOKEN again');
      return;
    }
  } catch (e) {
    setConnection('offline', 'the node does not answer');
  }
  connect();
}

// ---- actions

/**
 * Asks for confirmation in the page's dialog. fields: [{name, label, type: select|checkbox|text,
 * options: [[value, label]], value}]. Resolves to the fields' values, or null when cancelled.
 */
function confirmAction(title, text, fields, danger) {
  const dialog = $('#confirm-dialog');
  if (dialog.open) {
    return Promise.resolve(null); // one question at a time: a second click while it is open asks nothing
  }
  setText($('#confirm-title'), title);
  setText($('#confirm-text'), text);
  const box = $('#confirm-fields');
  box.replaceChildren();
  const inputs = {};
  for (const f of fields || []) {
    const id = 'confirm-field-' + f.name;
    let input;
    if (f.type === 'select') {
      input = el('select', {id, name: f.name, data: {field: f.name}},
        ...f.options.map(([v, l]) => el('option', {value: v, text: l, selected: v === f.value})));
    } else if (f.type === 'checkbox') {
      input = el('input', {id, name: f.name, type: 'checkbox', data: {field: f.name}, checked: !!f.value});
    } else {
      input = el('input', {id, name: f.name, type: 'text', size: 40, data: {field: f.name}, value: f.value || ''});
    }
    inputs[f.name] = input;
    box.append(f.type === 'checkbox' ? el('label', {for: id, class: 'check'}, input, ' ' + f.label)
      : el('label', {for: id}, f.label + ' ', input));
  }
  const ok = $('#confirm-ok');
  ok.className = danger ? 'danger' : 'primary';
  dialog.returnValue = '';
  return new Promise(resolve => {
    dialog.addEventListener('close', () => {
      if (dialog.returnValue !== 'confirm') {
        resolve(null);
        return;
      }
      const values = {};
      for (const [name, input] of Object.entries(inputs)) {
        values[name] = input.type === 'checkbox' ? input.checked : input.value;
      }
      resolve(values);
    }, {once: true});
    dialog.showModal();
    ok.focus();
  });
}

function otherNodes(except) {
  return list(page.status || {}, 'nodes').map(n => n.name).filter(n => n && n !== except);
}

async function nodeAction(node, action) {
  let values;
  let body = {};
  switch (action) {
    case 'switchover':
      values = await confirmAction('Switch ' + node + ' over?',
        'Every VE on ' + node + ' migrates to another node while it runs; its services move cold. '
        + node + ' then stays in maintenance until it is resumed.',
        [{name: 'mode', label: 'Mode', type: 'select', value: 'live', options: [['live', 'live (pre-copy)'],
          ['checkpoint', 'checkpoint (through a file on shared storage)']]}]);
      body = values && {mode: values.mode};
      break;
    case 'resume':
      values = await confirmAction('Resume ' + node + '?', 'Ends the maintenance of ' + node + ': workloads may be placed on it again.',
        [{name: 'switchBack', label: 'switch back: its VEs migrate back to it', type: 'checkbox', value: false}]);
      body = values && {switchBack: values.switchBack};
      break;
    case 'standby':
      values = await confirmAction('Put ' + node + ' in standby?', 'Its workloads move to other nodes (cold) and nothing is placed on it.', []);
      break;
    case 'unstandby':
      values = await confirmAction('Take ' + node + ' out of standby?', 'Workloads may be placed on it again.', []);
      break;
    case 'fence':
      values = await confirmAction('Fence ' + node + '?', 'The coordinator powers ' + node + ' off through its fence devices. '
        + 'Everything running on it stops at once.', [{name: 'reason', label: 'Reason', type: 'text', value: 'fenced from the dashboard'}],
      true);
      body = values && {reason: values.reason || 'fenced from the dashboard'};
      break;
    default:
      return;
  }
  if (values === null) {
    return;
  }
  const answer = await send(action + ' ' + node, '/api/v1/nodes/' + encodeURIComponent(node) + '/' + action, body || {});
  if (action === 'switchover' && answer && (answer.status === 'done' || answer.status === 'pending')) {
    page.requestedSwitchovers.set(node, Date.now());
    if (page.status) {
      renderSwitchovers(page.status);
    }
  }
}

async function workloadAction(name, action) {
  const s = page.status || {};
  const w = list(s, 'workloads').find(x => x.name === name) || {};
  const targets = [['', 'the best node (the coordinator chooses)'], ...otherNodes(w.owner).map(n => [n, n])];
  let values;
  let body = {};
  switch (action) {
    case 'migrate':
      values = await confirmAction('Migrate ' + name + '?', name + ' moves off ' + (w.owner || '?') + ' while it runs.',
        [{name: 'to', label: 'To', type: 'select', value: '', options: targets},
          {name: 'mode', label: 'Mode', type: 'select', value: 'live', options: [['live', 'live'], ['checkpoint', 'checkpoint']]}]);
      body = values && Object.assign({mode: values.mode}, values.to ? {to: values.to} : {});
      break;
    case 'relocate':
      values = await confirmAction('Relocate ' + name + '?', name + ' stops on ' + (w.owner || '?') + ', then starts on the new node.',
        [{name: 'to', label: 'To', type: 'select', value: '', options: targets}]);
      body = values && (values.to ? {to: values.to} : {});
      break;
    case 'start':
      values = await confirmAction('Start ' + name + '?', 'The coordinator places ' + name + ' on the best node.', []);
      break;
    case 'stop':
      values = await confirmAction('Stop ' + name + '?', name + ' stops and stays stopped until it is started.', [], true);
      break;
    default:
      return;
  }
  if (values === null) {
    return;
  }
  await send(action + ' ' + name, '/api/v1/workloads/' + encodeURIComponent(name) + '/' + action, body || {});
}

/** POSTs an action and shows its answer (done, pending, refused, or the error and its fix); returns the answer's JSON. */
async function send(what, url, body) {
  const item = el('li', {class: 'answer', data: {request: what, status: 'sending'}},
    el('time', {text: clock(Date.now())}), el('b', {text: what}), el('span', {class: 'answer-text', text: 'sending…'}));
  const box = $('#answers');
  box.prepend(item);
  show($('#answers-empty'), false);
  while (box.childElementCount > MAX_ANSWERS) {
    box.lastElementChild.remove();
  }
  const text = item.querySelector('.answer-text');
  try {
    const r = await fetch(url, {method: 'POST', credentials: 'same-origin', cache: 'no-store',
      headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
    let json = {};
    try {
      json = await r.json();
    } catch (e) {
      json = {error: 'HTTP ' + r.status + ' without a JSON answer'};
    }
    let status;
    let line;
    if (json.error) {
      status = 'error';
      line = 'error ' + r.status + ': ' + json.error + (json.fix ? ' (fix: ' + json.fix + ')' : '');
    } else {
      status = json.status || (r.ok ? 'done' : 'error');
      line = status + (json.answer ? ': ' + json.answer : '');
    }
    setData(item, 'status', status);
    setData(item, 'http', r.status);
    setText(text, line);
    return json;
  } catch (e) {
    setData(item, 'status', 'error');
    setText(text, 'not sent: ' + e.message);
    return null;
  }
}

start();
