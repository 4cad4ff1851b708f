// Search: as you type (debounced), with the query syntax, source facets,
// a date range, the mode switch when the server has semantic search, and
// paging. The URL carries the whole search, so it can be shared.
import { api, session } from './api.js';
import { announce, clear, debounce, errorBox, fmtDate, h, iso, isoTitle, marked } from './dom.js';

const LIMIT = 10;
let sources = null; // [{source, documents}], loaded once per session
let sourcesOf = null; // the key they were loaded for: another key may see others
let modeSupported = null; // null: not asked yet; false: the server refused mode=
let seq = 0;
let ctl = null;

function paramsFromUrl(p) {
  return {
    q: p.get('q') || '',
    sources: p.getAll('source'),
    since: p.get('since') || '',
    until: p.get('until') || '',
    mode: p.get('mode') || '',
    cursor: p.get('cursor') || '',
    prev: p.getAll('prev'),
  };
}

function urlOf(s) {
  const p = new URLSearchParams();
  if (s.q) p.set('q', s.q);
  for (const x of s.sources) p.append('source', x);
  if (s.since) p.set('since', s.since);
  if (s.until) p.set('until', s.until);
  if (s.mode) p.set('mode', s.mode);
  if (s.cursor) p.set('cursor', s.cursor);
  for (const x of s.prev) p.append('prev', x);
  const qs = p.toString();
  return qs ? `/?${qs}` : '/';
}

function apiQuery(s) {
  const p = new URLSearchParams({ q: s.q, limit: String(LIMIT) });
  for (const x of s.sources) p.append('source', x);
  if (s.since) p.set('since', s.since);
  if (s.until) p.set('until', s.until);
  if (s.mode && modeSupported !== false) p.set('mode', s.mode);
  if (s.cursor) p.set('cursor', s.cursor);
  return `/v1/search?${p}`;
}

export async function show(main, ctx) {
  const s = paramsFromUrl(ctx.params);
  document.title = s.q ? isoTitle(s.q, ' · lore') : 'Search · lore';
  const input = h('input', {
    id: 'q', type: 'search', name: 'q', value: s.q, autocomplete: 'off',
    'aria-describedby': 'syntax', 'aria-controls': 'results', placeholder: 'Search…',
  });
  const since = h('input', { id: 'since', type: 'date', value: s.since });
  const until = h('input', { id: 'until', type: 'date', value: s.until });
  const facets = h('fieldset', { class: 'facets' }, h('legend', null, 'Sources'));
  const modeBox = h('div', { class: 'mode', hidden: true });
  const results = h('div', { id: 'results', 'aria-live': 'polite' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Result pages' });
  const syntax = h('details', { id: 'syntax', class: 'syntax' },
    h('summary', null, 'Query syntax'),
    h('dl', null,
      h('dt', null, 'parental leave'), h('dd', null, 'any of the words, ranked'),
      h('dt', null, '"parental leave"'), h('dd', null, 'the exact phrase'),
      h('dt', null, '-draft'), h('dd', null, 'leave out results with the word'),
      h('dt', null, 'title:handbook'), h('dd', null, 'the word must be in the title'),
      h('dt', null, 'source:wiki, -source:slack'), h('dd', null, 'only / not that source'),
      h('dt', null, 'author:ann'), h('dd', null, 'only documents by that author')),
    h('p', { class: 'muted' }, 'Keys: / focuses the search box; ↓ and ↑ move through results; Enter opens one.'));

  const state = s;
  const run = async (push) => {
    if (!ctl || ctl.input !== input) return; // the view was left (a debounced call)
    const url = urlOf(state);
    if (push === 'push') history.pushState(null, '', url);
    else history.replaceState(null, '', url);
    document.title = state.q ? isoTitle(state.q, ' · lore') : 'Search · lore';
    await search(state, results, pager, ctx);
  };
  const typed = debounce(() => run('replace'), 200);
  const reset = () => { state.cursor = ''; state.prev = []; };
  input.addEventListener('input', () => { state.q = input.value; reset(); typed(); });
  since.addEventListener('change', () => { state.since = since.value; reset(); run('push'); });
  until.addEventListener('change', () => { state.until = until.value; reset(); run('push'); });
  pager.addEventListener('click', ev => {
    const b = ev.target.closest('button[data-cursor]');
    if (!b) return;
    if (b.dataset.dir === 'next') { state.prev.push(state.cursor || '-'); state.cursor = b.dataset.cursor; }
    else { const c = state.prev.pop(); state.cursor = c === '-' ? '' : c || ''; }
    run('push').then(() => input.scrollIntoView({ block: 'nearest' }));
  });

  const form = h('form', { role: 'search', class: 'searchform', 'aria-label': 'Search documents' },
    h('label', { for: 'q', class: 'sr-only' }, 'Search'), input, modeBox);
  form.addEventListener('submit', ev => { ev.preventDefault(); reset(); run('push'); });
  const dates = h('fieldset', { class: 'dates' }, h('legend', null, 'Updated'),
    h('label', { for: 'since' }, 'from'), since, h('label', { for: 'until' }, 'to'), until);
  clear(main,
    h('h1', { class: 'sr-only' }, 'Search'),
    form,
    h('div', { class: 'searchlayout' },
      h('aside', { class: 'filters', 'aria-label': 'Filters' }, facets, dates, syntax),
      h('section', { class: 'hits', 'aria-label': 'Results' }, results, pager)));
  input.focus();
  ctl = { input, results };

  loadFacets(facets, state, () => { reset(); run('push'); });
  setupMode(modeBox, state, () => { reset(); run('push'); });
  if (state.q) await search(state, results, pager, ctx);
  else clear(results, h('p', { class: 'muted' }, 'Type to search.'));
}

export function leave() { ctl = null; }

async function loadFacets(box, state, changed) {
  try {
    const key = session && session.key_id;
    if (!sources || sourcesOf !== key) {
      sources = null;
      sources = (await api('GET', '/v1/sources')).sources || [];
      sourcesOf = key;
    }
  } catch (e) {
    box.append(errorBox(e));
    return;
  }
  if (!sources.length) box.append(h('p', { class: 'muted' }, 'No documents yet.'));
  sources.forEach((x, i) => {
    const id = `src-${i}`;
    const cb = h('input', { type: 'checkbox', id, value: x.source, checked: state.sources.includes(x.source) });
    cb.addEventListener('change', () => {
      state.sources = [...box.querySelectorAll('input:checked')].map(c => c.value);
      changed();
    });
    box.append(h('div', { class: 'facet' }, cb,
      h('label', { for: id }, iso(x.source), ' ', h('span', { class: 'count' }, String(x.documents)))));
  });
}

function setupMode(box, state, changed) {
  const semantic = session && session.features && session.features.semantic;
  if (!semantic || modeSupported === false) return;
  const sel = h('select', { id: 'mode', 'aria-label': 'Search mode' },
    ['hybrid', 'lexical', 'semantic'].map(m => h('option', { value: m, selected: (state.mode || 'hybrid') === m }, m)));
  sel.addEventListener('change', () => { state.mode = sel.value === 'hybrid' ? '' : sel.value; changed(); });
  clear(box, h('label', { for: 'mode' }, 'Mode'), sel);
  box.hidden = false;
}

async function search(state, results, pager, ctx) {
  const mine = ++seq;
  clear(pager);
  if (!state.q.trim()) { clear(results, h('p', { class: 'muted' }, 'Type to search.')); return; }
  results.setAttribute('aria-busy', 'true');
  let data;
  try {
    data = await api('GET', apiQuery(state));
  } catch (e) {
    if (mine !== seq) return;
    if (e.status === 400 && e.problem && e.problem.pointer === '/mode' && modeSupported !== false) {
      modeSupported = false; // this server has no search modes: hide the switch, search again
      const m = document.querySelector('.mode');
      if (m) { m.hidden = true; m.replaceChildren(); }
      return search(state, results, pager, ctx);
    }
    results.removeAttribute('aria-busy');
    clear(results, errorBox(e));
    return;
  }
  if (mine !== seq || !results.isConnected) return;
  results.removeAttribute('aria-busy');
  const hits = data.hits || [];
  const list = h('ol', { class: 'hitlist', start: String(state.prev.length * LIMIT + 1) });
  hits.forEach((x, i) => list.append(hitItem(x, i, state)));
  const notes = [];
  if (data.notice) notes.push(h('p', { class: 'notice' }, data.notice));
  if (data.semantic_error) notes.push(h('p', { class: 'notice' }, `Semantic search failed, lexical results shown: ${data.semantic_error}`));
  if (data.dropped_terms && data.dropped_terms.length)
    notes.push(h('p', { class: 'notice' }, `Not searched (too many words): ${data.dropped_terms.join(' ')}`));
  const summary = hits.length ? `${hits.length} result${hits.length > 1 ? 's' : ''}${data.next_cursor ? ' on this page' : ''} in ${Math.round(data.took_ms * 10) / 10} ms${data.mode ? ` · ${data.mode}` : ''}` : 'No results.';
  clear(results, notes, h('p', { class: 'muted summary' }, summary), hits.length ? list : null);
  announce(summary);
  if (state.prev.length) pager.append(h('button', { type: 'button', 'data-cursor': '', 'data-dir': 'prev' }, '← Previous'));
  if (data.next_cursor) pager.append(h('button', { type: 'button', 'data-cursor': data.next_cursor, 'data-dir': 'next' }, 'Next →'));
  list.addEventListener('keydown', ev => keyNav(ev, list));
}

function hitItem(x, i, state) {
  const p = new URLSearchParams({ view: 'doc', id: x.id, q: state.q });
  if (state.mode && modeSupported !== false) p.set('mode', state.mode);
  if (x.chunk_id !== undefined) p.set('chunk', String(x.chunk_id));
  const meta = [x.source, x.author, fmtDate(x.updated_at), x.section].filter(Boolean)
    .flatMap((m, k) => k ? [' · ', iso(m)] : [iso(m)]);
  return h('li', { class: 'hit' },
    h('a', { href: `/?${p}`, class: 'hit-title', 'data-index': String(i) }, iso(x.title || x.external_id || x.id)),
    h('div', { class: 'hit-meta muted' }, meta),
    x.snippet ? h('p', { class: 'snippet' }, marked(x.snippet, x.highlights)) : null);
}

function keyNav(ev, list) {
  const links = [...list.querySelectorAll('a.hit-title')];
  const i = links.indexOf(document.activeElement);
  if (ev.key === 'ArrowDown' && i < links.length - 1) { ev.preventDefault(); links[i + 1].focus(); }
  if (ev.key === 'ArrowUp') {
    ev.preventDefault();
    if (i > 0) links[i - 1].focus(); else if (ctl) ctl.input.focus();
  }
}

document.addEventListener('keydown', ev => {
  if (!ctl) return;
  const t = ev.target;
  const typing = t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT');
  if (ev.key === '/' && !typing) { ev.preventDefault(); ctl.input.focus(); ctl.input.select(); }
  if (ev.key === 'ArrowDown' && t === ctl.input) {
    const first = ctl.results.querySelector('a.hit-title');
    if (first) { ev.preventDefault(); first.focus(); }
  }
  if (ev.key === 'Escape' && t !== ctl.input) ctl.input.focus();
});
