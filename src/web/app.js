// chartcoder workbench: paste or open a note, code it, review the suggestions against their
// evidence, record decisions, export the confirmed codes.
//
// Offsets from the API are Unicode scalar (code point) offsets: the note is sliced as
// `Array.from(text)`, never with UTF-16 string indices.
'use strict';

(() => {
  const TOKEN_KEY = 'chartcoder.token';
  const CODER_KEY = 'chartcoder.coder';

  const $ = (id) => document.getElementById(id);
  const el = {
    docId: $('doc-id'), coder: $('coder'), setting: $('setting'), codeset: $('codeset'),
    tokenBtn: $('token-btn'), helpBtn: $('help-btn'), file: $('file'), editBtn: $('edit-btn'),
    codeBtn: $('code-btn'), status: $('status'), note: $('note'), view: $('note-view'),
    popover: $('popover'), list: $('suggestions'), count: $('count'), addForm: $('add-form'),
    addCode: $('add-code'), confirmed: $('confirmed'), confirmedCount: $('confirmed-count'),
    exportCsv: $('export-csv'), exportJson: $('export-json'), tokenDialog: $('token-dialog'),
    tokenForm: $('token-form'), tokenInput: $('token-input'), tokenReason: $('token-reason'),
    tokenCancel: $('token-cancel'), helpDialog: $('help-dialog'), helpClose: $('help-close'),
  };

  const state = {
    token: sessionStorage.getItem(TOKEN_KEY) || '',
    authRequired: false,
    codeSet: {},
    text: '', // the note as sent (offsets index it)
    chars: [], // Array.from(text)
    suggestions: [],
    selected: -1,
    // code -> {code, system, title, decision, evidence, coder, at}
    decisions: new Map(),
    busy: false,
  };

  // ---- API -------------------------------------------------------------------------------

  class ApiFailure extends Error {
    constructor(status, code, message) {
      super(message || `HTTP ${status}`);
      this.status = status;
      this.code = code || 'http_' + status;
    }
  }

  async function api(method, path, body, retried) {
    const headers = { Accept: 'application/json' };
    if (state.token) headers.Authorization = 'Bearer ' + state.token;
    const init = { method, headers };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new ApiFailure(0, 'network', 'cannot reach the server');
    }
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (res.status === 401 && !retried) {
      const ok = await askToken(state.token ? 'The server refused this token.' : 'This server requires a bearer token.');
      if (ok) return api(method, path, body, true);
    }
    if (!res.ok) {
      const err = (data && data.error) || {};
      throw new ApiFailure(res.status, err.code, err.message);
    }
    return data;
  }

  // ---- token dialog ----------------------------------------------------------------------

  let tokenWaiter = null;
  function askToken(reason) {
    el.tokenReason.textContent = reason;
    el.tokenInput.value = '';
    if (!el.tokenDialog.open) el.tokenDialog.showModal();
    el.tokenInput.focus();
    return new Promise((resolve) => { tokenWaiter = resolve; });
  }
  function closeToken(ok) {
    if (el.tokenDialog.open) el.tokenDialog.close();
    if (tokenWaiter) { const w = tokenWaiter; tokenWaiter = null; w(ok); }
  }
  el.tokenForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = el.tokenInput.value.trim();
    if (!t) return;
    state.token = t;
    sessionStorage.setItem(TOKEN_KEY, t);
    closeToken(true);
  });
  el.tokenCancel.addEventListener('click', () => closeToken(false));
  el.tokenDialog.addEventListener('cancel', () => closeToken(false));
  el.tokenBtn.addEventListener('click', () => askToken('Enter a bearer token for this server.'));

  // ---- status ----------------------------------------------------------------------------

  function setStatus(text, kind) {
    el.status.textContent = text;
    el.status.className = 'status' + (kind ? ' ' + kind : '');
  }
  function fail(e) {
    const msg = e instanceof ApiFailure ? `${e.message} (${e.code})` : String(e);
    setStatus(msg, 'error');
  }

  // ---- note ------------------------------------------------------------------------------

  function newDocId() {
    const d = new Date();
    const pad = (n) => String(n).padStart(2, '0');
    return `note-${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}-${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
  }

  el.file.addEventListener('change', () => {
    const f = el.file.files && el.file.files[0];
    if (!f) return;
    const reader = new FileReader();
    reader.onload = () => {
      // A textarea turns CRLF into LF anyway: do it first so offsets match what is sent.
      el.note.value = String(reader.result).replace(/\r\n?/g, '\n');
      el.docId.value = f.name.replace(/\.[^.]*$/, '') || newDocId();
      showEditor();
      setStatus(`Opened ${f.name}`);
    };
    reader.onerror = () => setStatus('Cannot read that file', 'error');
    reader.readAsText(f);
    el.file.value = '';
  });

  function showEditor() {
    el.view.hidden = true;
    el.note.hidden = false;
    el.editBtn.hidden = true;
    hidePopover();
    el.note.focus();
  }
  function showView() {
    el.note.hidden = true;
    el.view.hidden = false;
    el.editBtn.hidden = false;
  }
  el.editBtn.addEventListener('click', showEditor);

  async function codeIt() {
    if (state.busy) return;
    const text = el.note.value;
    if (!text.trim()) { setStatus('Paste or open a note first', 'error'); el.note.focus(); return; }
    if (!el.docId.value.trim()) el.docId.value = newDocId();
    state.busy = true;
    el.codeBtn.disabled = true;
    setStatus('Coding…');
    const started = performance.now();
    try {
      const coding = await api('POST', '/v1/suggest', {
        id: el.docId.value.trim(),
        text,
        setting: el.setting.value,
      });
      state.text = text;
      state.chars = Array.from(text);
      state.suggestions = coding.suggestions || [];
      state.selected = state.suggestions.length ? 0 : -1;
      state.decisions = new Map();
      if (coding.code_set) showCodeSet(coding.code_set);
      renderNote();
      renderSuggestions();
      showView();
      const ms = Math.round(performance.now() - started);
      setStatus(`${state.suggestions.length} suggestion${state.suggestions.length === 1 ? '' : 's'} in ${ms} ms`, 'ok');
      await loadHistory();
    } catch (e) {
      fail(e);
    } finally {
      state.busy = false;
      el.codeBtn.disabled = false;
    }
  }
  el.codeBtn.addEventListener('click', codeIt);

  // ---- highlighting ----------------------------------------------------------------------

  // Splits the note at every evidence boundary; each piece covered by evidence becomes a
  // <mark> listing the suggestions it supports.
  function renderNote() {
    const chars = state.chars;
    const spans = [];
    let mismatches = 0;
    state.suggestions.forEach((s, si) => {
      (s.evidence || []).forEach((e) => {
        if (!(e.start >= 0 && e.end <= chars.length && e.start < e.end)) { mismatches++; return; }
        if (chars.slice(e.start, e.end).join('') !== e.text) mismatches++;
        spans.push({ start: e.start, end: e.end, si });
      });
    });
    if (mismatches) console.warn(`chartcoder: ${mismatches} evidence span(s) do not match the note`);
    el.view.dataset.mismatches = String(mismatches);
    const cuts = new Set([0, chars.length]);
    for (const sp of spans) { cuts.add(sp.start); cuts.add(sp.end); }
    const points = Array.from(cuts).sort((a, b) => a - b);
    const frag = document.createDocumentFragment();
    for (let i = 0; i + 1 < points.length; i++) {
      const a = points[i];
      const b = points[i + 1];
      const piece = chars.slice(a, b).join('');
      const covering = [];
      for (const sp of spans) if (sp.start <= a && sp.end >= b && !covering.includes(sp.si)) covering.push(sp.si);
      if (!covering.length) { frag.append(document.createTextNode(piece)); continue; }
      const m = document.createElement('mark');
      m.className = 'ev' + (covering.length > 1 ? ' multi' : '');
      m.dataset.start = String(a);
      m.dataset.end = String(b);
      m.dataset.sugg = covering.join(' ');
      m.title = covering.map((si) => state.suggestions[si].code).join(', ');
      m.textContent = piece;
      frag.append(m);
    }
    el.view.replaceChildren(frag);
    highlight(state.selected);
  }

  function marksOf(si) {
    return Array.from(el.view.querySelectorAll('mark.ev')).filter((m) => m.dataset.sugg.split(' ').includes(String(si)));
  }

  function highlight(si, scroll) {
    for (const m of el.view.querySelectorAll('mark.active')) m.classList.remove('active');
    if (si < 0) return;
    const marks = marksOf(si);
    for (const m of marks) m.classList.add('active');
    if (scroll && marks.length) marks[0].scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }

  el.view.addEventListener('click', (ev) => {
    const m = ev.target.closest('mark.ev');
    if (!m) { hidePopover(); return; }
    showPopover(m);
  });

  function showPopover(mark) {
    const ids = mark.dataset.sugg.split(' ').map(Number);
    el.popover.replaceChildren();
    const head = document.createElement('div');
    head.className = 'pop-head';
    const piece = state.chars.slice(Number(mark.dataset.start), Number(mark.dataset.end)).join('').trim();
    head.textContent = `${ids.length} code${ids.length === 1 ? '' : 's'} for “${piece}”`;
    el.popover.append(head);
    for (const si of ids) {
      const s = state.suggestions[si];
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'pop-code';
      const code = document.createElement('span');
      code.className = 'code';
      code.textContent = s.code;
      const title = document.createElement('span');
      title.textContent = s.title;
      b.append(code, title, badge(s.assertion));
      b.addEventListener('click', () => { hidePopover(); select(si, true); });
      el.popover.append(b);
    }
    const pane = el.popover.parentElement.getBoundingClientRect();
    const r = mark.getBoundingClientRect();
    el.popover.hidden = false;
    const left = Math.max(8, Math.min(r.left - pane.left, pane.width - el.popover.offsetWidth - 8));
    el.popover.style.left = left + 'px';
    el.popover.style.top = (r.bottom - pane.top + 6) + 'px';
    const first = el.popover.querySelector('button');
    if (first) first.focus();
  }
  function hidePopover() { el.popover.hidden = true; }

  // ---- suggestions -----------------------------------------------------------------------

  function badge(assertion) {
    const b = document.createElement('span');
    b.className = 'badge a-' + (assertion || 'present');
    b.textContent = assertion || 'present';
    return b;
  }

  function renderSuggestions() {
    el.list.replaceChildren();
    el.count.textContent = state.suggestions.length ? String(state.suggestions.length) : '';
    if (!state.suggestions.length) {
      const li = document.createElement('li');
      li.className = 'empty';
      li.textContent = state.text ? 'No codes found in this note.' : 'No suggestions yet.';
      el.list.append(li);
    }
    state.suggestions.forEach((s, si) => el.list.append(suggestionItem(s, si)));
    applySelection(false);
    renderConfirmed();
  }

  function suggestionItem(s, si) {
    const li = document.createElement('li');
    li.className = 'sugg';
    li.tabIndex = -1;
    li.dataset.index = String(si);
    li.dataset.code = s.code;
    li.setAttribute('aria-label', `${s.code} ${s.title}`);

    const top = document.createElement('div');
    top.className = 'row';
    const code = document.createElement('span');
    code.className = 'code';
    code.textContent = s.code;
    const sys = document.createElement('span');
    sys.className = 'system';
    sys.textContent = s.system === 'icd10pcs' ? 'PCS' : 'CM';
    const score = document.createElement('span');
    score.className = 'score';
    score.title = 'score';
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.style.setProperty('--score', String(Math.max(0, Math.min(1, s.score))));
    const num = document.createElement('span');
    num.textContent = s.score.toFixed(2);
    score.append(bar, num);
    top.append(code, sys, badge(s.assertion), score);

    const title = document.createElement('div');
    title.className = 'title';
    title.textContent = s.title;

    const ev = document.createElement('ul');
    ev.className = 'evidence';
    for (const e of s.evidence || []) {
      const item = document.createElement('li');
      item.dataset.start = String(e.start);
      item.dataset.end = String(e.end);
      const q = document.createElement('q');
      q.textContent = e.text;
      const sec = document.createElement('span');
      sec.className = 'section';
      sec.textContent = (e.section || '').replace(/_/g, ' ');
      item.append(q, sec);
      ev.append(item);
    }

    li.append(top, title, ev);

    if (s.rules && s.rules.length) {
      const rules = document.createElement('ul');
      rules.className = 'rules';
      const SHOWN = 3;
      s.rules.forEach((r, ri) => {
        const item = document.createElement('li');
        if (ri >= SHOWN) item.hidden = true;
        const kind = document.createElement('span');
        kind.className = 'rule-kind';
        kind.textContent = r.kind.replace(/_/g, ' ');
        const msg = document.createElement('span');
        msg.textContent = r.message + (r.codes && r.codes.length ? ` [${r.codes.slice(0, 8).join(', ')}${r.codes.length > 8 ? ', …' : ''}]` : '');
        item.append(kind, msg);
        rules.append(item);
      });
      if (s.rules.length > SHOWN) {
        const more = document.createElement('button');
        more.type = 'button';
        more.className = 'more';
        more.textContent = `+${s.rules.length - SHOWN} more notes`;
        more.addEventListener('click', (e) => {
          e.stopPropagation();
          for (const x of rules.querySelectorAll('li[hidden]')) x.hidden = false;
          more.remove();
        });
        rules.append(more);
      }
      li.append(rules);
    }

    const actions = document.createElement('div');
    actions.className = 'actions';
    const accept = document.createElement('button');
    accept.type = 'button';
    accept.className = 'accept';
    accept.textContent = 'Accept';
    accept.title = 'Accept (a)';
    accept.addEventListener('click', (e) => { e.stopPropagation(); select(si, false); decide(si, 'accept'); });
    const reject = document.createElement('button');
    reject.type = 'button';
    reject.className = 'reject';
    reject.textContent = 'Reject';
    reject.title = 'Reject (r)';
    reject.addEventListener('click', (e) => { e.stopPropagation(); select(si, false); decide(si, 'reject'); });
    const decision = document.createElement('span');
    decision.className = 'decision';
    actions.append(accept, reject, decision);
    li.append(actions);

    li.addEventListener('mouseenter', () => highlight(si, false));
    li.addEventListener('mouseleave', () => highlight(state.selected, false));
    li.addEventListener('click', () => select(si, true));
    paintDecision(li, s.code);
    return li;
  }

  function paintDecision(li, code) {
    const d = state.decisions.get(code);
    li.classList.toggle('accepted', !!d && d.decision === 'accept');
    li.classList.toggle('rejected', !!d && d.decision === 'reject');
    const label = li.querySelector('.decision');
    if (label) label.textContent = d ? (d.decision === 'accept' ? '✓ accepted' : d.decision === 'reject' ? '✗ rejected' : '+ added') : '';
  }

  function items() { return Array.from(el.list.querySelectorAll('li.sugg')); }

  function applySelection(focus) {
    items().forEach((li, i) => {
      const on = i === state.selected;
      li.classList.toggle('selected', on);
      li.setAttribute('aria-selected', on ? 'true' : 'false');
      if (on && focus) { li.focus({ preventScroll: true }); li.scrollIntoView({ block: 'nearest' }); }
    });
    highlight(state.selected, focus);
  }

  function select(si, focus) {
    if (si < 0 || si >= state.suggestions.length) return;
    state.selected = si;
    applySelection(focus);
  }

  function requireNames() {
    if (!el.docId.value.trim()) { el.docId.value = newDocId(); }
    if (!el.coder.value.trim()) {
      setStatus('Enter your name as coder first', 'error');
      el.coder.focus();
      return false;
    }
    localStorage.setItem(CODER_KEY, el.coder.value.trim());
    return true;
  }

  async function decide(si, decision) {
    const s = state.suggestions[si];
    if (!s || !requireNames()) return;
    try {
      const record = await api('POST', '/v1/feedback', {
        document_id: el.docId.value.trim(),
        code: s.code,
        decision,
        evidence: (s.evidence || []).map((e) => ({ start: e.start, end: e.end })),
        coder: el.coder.value.trim(),
      });
      state.decisions.set(s.code, {
        code: record.code, system: s.system, title: s.title, decision,
        evidence: record.evidence, coder: record.coder, at: record.at,
      });
      const li = items()[si];
      if (li) paintDecision(li, s.code);
      renderConfirmed();
      setStatus(`${decision === 'accept' ? 'Accepted' : 'Rejected'} ${s.code}`, 'ok');
    } catch (e) {
      fail(e);
    }
  }

  el.addForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const typed = el.addCode.value.trim();
    if (!typed) { el.addCode.focus(); return; }
    if (!requireNames()) return;
    try {
      const record = await api('POST', '/v1/feedback', {
        document_id: el.docId.value.trim(),
        code: typed,
        decision: 'add',
        evidence: null,
        coder: el.coder.value.trim(),
      });
      let title = '';
      let system = 'icd10cm';
      try {
        const info = await api('GET', '/v1/codes/' + encodeURIComponent(record.code));
        title = info.title;
        system = info.system;
      } catch (e) { /* the title is a nicety */ }
      state.decisions.set(record.code, {
        code: record.code, system, title, decision: 'add', evidence: null, coder: record.coder, at: record.at,
      });
      el.addCode.value = '';
      renderConfirmed();
      const li = items().find((x) => x.dataset.code === record.code);
      if (li) paintDecision(li, record.code);
      setStatus(`Added ${record.code}`, 'ok');
    } catch (e) {
      fail(e);
      el.addCode.focus();
    }
  });

  async function loadHistory() {
    const id = el.docId.value.trim();
    if (!id) return;
    try {
      const h = await api('GET', '/v1/feedback?document_id=' + encodeURIComponent(id));
      const bySuggestion = new Map(state.suggestions.map((s) => [s.code, s]));
      for (const r of h.history || []) {
        const s = bySuggestion.get(r.code);
        state.decisions.set(r.code, {
          code: r.code, system: s ? s.system : '', title: s ? s.title : '', decision: r.decision,
          evidence: r.evidence, coder: r.coder, at: r.at,
        });
      }
      items().forEach((li) => paintDecision(li, li.dataset.code));
      renderConfirmed();
    } catch (e) { /* history is a nicety */ }
  }

  // ---- confirmed codes and export ---------------------------------------------------------

  function confirmedCodes() {
    return Array.from(state.decisions.values()).filter((d) => d.decision === 'accept' || d.decision === 'add');
  }

  function renderConfirmed() {
    const list = confirmedCodes();
    el.confirmedCount.textContent = list.length ? String(list.length) : '';
    el.confirmed.replaceChildren();
    if (!list.length) {
      const li = document.createElement('li');
      li.className = 'empty';
      li.textContent = 'Accept or add codes to confirm them.';
      el.confirmed.append(li);
    }
    for (const d of list) {
      const li = document.createElement('li');
      const code = document.createElement('span');
      code.className = 'code';
      code.textContent = d.code;
      const title = document.createElement('span');
      title.className = 'ctitle';
      title.textContent = d.title || '';
      const how = document.createElement('span');
      how.className = 'how';
      how.textContent = d.decision === 'add' ? 'added' : 'accepted';
      li.append(code, title, how);
      el.confirmed.append(li);
    }
    el.exportCsv.disabled = el.exportJson.disabled = !list.length;
  }

  function spansText(evidence) {
    return Array.isArray(evidence) ? evidence.map((e) => `${e.start}-${e.end}`).join(';') : '';
  }

  function csvCell(v) {
    const s = String(v == null ? '' : v);
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  function download(name, type, content) {
    const url = URL.createObjectURL(new Blob([content], { type }));
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  function fileStem() {
    return (el.docId.value.trim() || 'note').replace(/[^A-Za-z0-9._-]+/g, '_');
  }

  el.exportCsv.addEventListener('click', () => {
    const doc = el.docId.value.trim();
    const rows = [['document_id', 'code', 'system', 'title', 'decision', 'coder', 'evidence', 'at']];
    for (const d of confirmedCodes()) rows.push([doc, d.code, d.system, d.title, d.decision, d.coder, spansText(d.evidence), d.at]);
    download(`${fileStem()}-codes.csv`, 'text/csv', rows.map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n');
  });

  el.exportJson.addEventListener('click', () => {
    const out = {
      document_id: el.docId.value.trim(),
      code_set: state.codeSet,
      codes: confirmedCodes().map((d) => ({
        code: d.code, system: d.system, title: d.title, decision: d.decision,
        coder: d.coder, evidence: d.evidence, at: d.at,
      })),
    };
    download(`${fileStem()}-codes.json`, 'application/json', JSON.stringify(out, null, 2) + '\n');
  });

  // ---- keyboard --------------------------------------------------------------------------

  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') { hidePopover(); return; }
    const t = ev.target;
    const typing = t instanceof HTMLElement && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); codeIt(); return; }
    if (typing || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (el.tokenDialog.open || el.helpDialog.open) return;
    const n = state.suggestions.length;
    switch (ev.key) {
      case 'j': case 'ArrowDown':
        if (!n) return;
        ev.preventDefault();
        select(Math.min(n - 1, state.selected + 1), true);
        break;
      case 'k': case 'ArrowUp':
        if (!n) return;
        ev.preventDefault();
        select(Math.max(0, state.selected - 1), true);
        break;
      case 'a':
        if (state.selected >= 0) { ev.preventDefault(); decide(state.selected, 'accept'); }
        break;
      case 'r':
        if (state.selected >= 0) { ev.preventDefault(); decide(state.selected, 'reject'); }
        break;
      case '+':
        ev.preventDefault();
        el.addCode.focus();
        break;
      case 'e':
        if (!el.view.hidden) { ev.preventDefault(); showEditor(); }
        break;
      case '?':
        ev.preventDefault();
        el.helpDialog.showModal();
        break;
      default:
    }
  });

  el.helpBtn.addEventListener('click', () => el.helpDialog.showModal());
  el.helpClose.addEventListener('click', () => el.helpDialog.close());

  // ---- start -----------------------------------------------------------------------------

  function showCodeSet(codeSet) {
    state.codeSet = codeSet || {};
    const parts = Object.entries(state.codeSet).map(([k, v]) => `${k === 'icd10cm' ? 'ICD-10-CM' : k === 'icd10pcs' ? 'ICD-10-PCS' : k} FY${v}`);
    el.codeset.textContent = parts.join(' · ');
  }

  async function start() {
    el.coder.value = localStorage.getItem(CODER_KEY) || '';
    el.docId.value = newDocId();
    renderConfirmed();
    try {
      const res = await fetch('/readyz', { headers: { Accept: 'application/json' } });
      const ready = await res.json();
      if (!res.ok) { setStatus('The server is not ready', 'error'); return; }
      showCodeSet(ready.code_set);
      state.authRequired = !!ready.auth_required;
      el.tokenBtn.hidden = !state.authRequired;
      if (state.authRequired && !state.token) await askToken('This server requires a bearer token.');
    } catch (e) {
      setStatus('Cannot reach the server', 'error');
    }
    el.note.focus();
  }

  start();
})();
