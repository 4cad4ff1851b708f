// One document: its fields, its full text, and, when opened from a search,
// the passage that matched highlighted and scrolled to. The passage is found
// again from the URL (the query, the search mode and the document id), so
// a shared link shows the same thing.
import { api } from './api.js';
import { clear, errorBox, fmtDate, h, iso, isoTitle, marked, safeUrl } from './dom.js';

export async function show(main, ctx) {
  const id = ctx.params.get('id') || '';
  const q = ctx.params.get('q') || '';
  const mode = ctx.params.get('mode') || '';
  if (!/^[0-9a-f]{16}$/.test(id)) { clear(main, errorBox('This link names no document.')); return; }
  clear(main, h('p', { class: 'muted' }, 'Loading…'));
  let doc, hit = null;
  try {
    doc = await api('GET', `/v1/documents/${id}`);
    if (q) hit = await findHit(q, mode, id);
  } catch (e) {
    clear(main, errorBox(e.status === 404 ? 'No such document (or you may not see it).' : e));
    return;
  }
  document.title = isoTitle(doc.title || doc.external_id, ' · lore');
  const back = q ? h('a', { href: `/?${new URLSearchParams(mode ? { q, mode } : { q })}`, class: 'back' }, '← Back to results') : null;
  // A link only to http(s) and mailto URLs; any other scheme is shown as text.
  const link = !doc.url ? null : safeUrl(doc.url)
    ? h('a', { href: doc.url, rel: 'noopener noreferrer', target: '_blank' }, doc.url) : h('span', null, doc.url);
  const rows = [
    ['Source', doc.source], ['External id', doc.external_id], ['Author', doc.author],
    ['Updated', fmtDate(doc.updated_at)], ['Indexed', fmtDate(doc.indexed_at)],
    ['Access', doc.acl && doc.acl.length ? doc.acl.join(', ') : 'everyone in the tenant'],
    ['Chunks', doc.chunks],
  ].filter(r => r[1] !== null && r[1] !== undefined && r[1] !== '');
  const fields = h('dl', { class: 'fields' },
    rows.map(([k, v]) => [h('dt', null, k), h('dd', null, iso(String(v)))]),
    link ? [h('dt', null, 'Link'), h('dd', null, link)] : null,
    doc.metadata && Object.keys(doc.metadata).length
      ? [h('dt', null, 'Metadata'), h('dd', null, h('code', null, JSON.stringify(doc.metadata)))] : null);
  const text = h('div', { class: 'doctext', tabindex: '0', 'aria-label': 'Document text' });
  const passage = fillText(text, doc.text || '', hit);
  clear(main, back, h('article', { class: 'doc' },
    h('h1', null, iso(doc.title || doc.external_id || doc.id)), fields,
    hit && !passage ? h('p', { class: 'notice' }, 'The matching passage is not in the text shown.') : null,
    text));
  if (passage) {
    passage.scrollIntoView({ block: 'center' });
    passage.focus({ preventScroll: true });
  }
}

// The search hit of this document for q in that mode (its snippet and
// highlights): a semantic hit's passage may share no word with q.
// A link made on a server with semantic search, opened on one without,
// falls back to the server's own mode.
async function findHit(q, mode, id) {
  const p = new URLSearchParams({ q, limit: '100' });
  if (mode) p.set('mode', mode);
  let r;
  try {
    r = await api('GET', `/v1/search?${p}`);
  } catch (e) {
    if (!mode || e.status !== 400 || !e.problem || e.problem.pointer !== '/mode') throw e;
    return findHit(q, '', id);
  }
  return (r.hits || []).find(x => x.id === id) || null;
}

function escapeRe(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }

// Finds the snippet in the text (the snippet is one line: any whitespace
// in the text matches), tolerating a cut word at either end.
function locate(text, snippet) {
  const words = snippet.split(/\s+/).filter(Boolean);
  for (let trim = 0; trim <= 2 && words.length - 2 * trim > 0; trim++) {
    const w = words.slice(trim, words.length - trim);
    if (!w.length) break;
    const m = new RegExp(w.map(escapeRe).join('\\s+')).exec(text);
    if (m) return [m.index, m.index + m[0].length];
  }
  return null;
}

// Puts the text in el with the hit's passage in a <mark>; returns it.
function fillText(el, text, hit) {
  const at = hit && hit.snippet ? locate(text, hit.snippet) : null;
  if (!at) { el.textContent = text; return null; }
  const mark = h('mark', { class: 'passage', id: 'passage', tabindex: '-1' });
  mark.append(marked(text.slice(at[0], at[1]), shifted(text.slice(at[0], at[1]), hit)));
  el.append(text.slice(0, at[0]), mark, text.slice(at[1]));
  return mark;
}

// The hit's highlighted words, found again inside the passage (its own
// whitespace may differ from the snippet's), as byte ranges of it.
function shifted(passage, hit) {
  const enc = new TextEncoder();
  const sb = enc.encode(hit.snippet);
  const dec = new TextDecoder();
  const words = new Set((hit.highlights || []).map(([s, e]) => dec.decode(sb.subarray(s, e)).toLowerCase()));
  const out = [];
  const re = /[\p{L}\p{N}_]+/gu;
  for (let m; (m = re.exec(passage));) {
    if (!words.has(m[0].toLowerCase())) continue;
    const s = enc.encode(passage.slice(0, m.index)).length;
    out.push([s, s + enc.encode(m[0]).length]);
  }
  return out;
}
