// DOM helpers. Everything that comes from the server (document titles,
// text, snippets, metadata, errors) goes into the page as text nodes, never
// as HTML: nothing in this page parses a string as markup

// Elements and attributes are from allow-lists: no tag that runs or loads
// anything (script, iframe, object, ...), no event-handler attribute
// (on*: listeners are added with addEventListener), no style (the CSP
// forbids inline style), no src, action or srcdoc; href goes through
// safeUrl (a javascript: or data: URL is dropped). A name outside the lists
// is a programming error and throws, so it is caught by the tests rather
// than quietly turned into an attribute.
const TAGS = new Set(('a article aside bdi button code dd details div dl dt fieldset form h1 h2 h3 input ' +
  'label legend li main mark nav ol option p pre progress section select span strong summary ' +
  'table tbody td th thead tr ul').split(' '));
const ATTRS = new Set(('id class type name value placeholder autocomplete spellcheck required checked ' +
  'selected disabled hidden multiple for href target rel tabindex role scope start max min ' +
  'maxlength title lang').split(' '));

export function allowedAttr(k) {
  return ATTRS.has(k) || /^(aria|data)-[a-z][a-z0-9-]*$/.test(k);
}

export function h(tag, attrs, ...children) {
  if (!TAGS.has(tag)) throw new Error(`h: element <${tag}> is not allowed`);
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'text') { el.textContent = String(v); continue; }
    if (!allowedAttr(k)) throw new Error(`h: attribute ${k} is not allowed`);
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'href') { const u = safeUrl(v); if (u) el.setAttribute('href', u); }
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  if (el.getAttribute('target') === '_blank') el.setAttribute('rel', 'noopener noreferrer');
  append(el, children);
  return el;
}

// A document's own string (title, author, source, field) as an isolated
// run: a right-to-left mark or override inside it reorders that string
// only, never the page's text beside it (the separators, the date).
export function iso(text) {
  return h('bdi', null, text);
}

// A page title made with a document's string: isolated the same way, with
// Unicode's first-strong isolate and pop (no element can go in a title).
export function isoTitle(text, rest) {
  return `\u2068${text}\u2069${rest}`;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// Only http(s) and mailto links, and this site's own paths; anything else
// (javascript:, data:, vbscript:) is dropped. A site path is one slash
// then not a slash or backslash (browsers read "/\evil" as "//evil").
export function safeUrl(u) {
  if (typeof u !== 'string' || !u) return null;
  if (/^\/(?![\/\\])/.test(u)) return u;
  try {
    const p = new URL(u, location.origin);
    return ['http:', 'https:', 'mailto:'].includes(p.protocol) ? p.href : null;
  } catch { return null; }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

// Text with the [start, end) UTF-8 byte ranges wrapped in <mark>.
export function marked(text, ranges) {
  const frag = document.createDocumentFragment();
  if (!text) return frag;
  const bytes = enc.encode(text);
  let at = 0;
  const sorted = (Array.isArray(ranges) ? ranges : [])
    .filter(r => Array.isArray(r) && r[0] >= 0 && r[1] > r[0] && r[1] <= bytes.length)
    .sort((a, b) => a[0] - b[0]);
  for (const [s, e] of sorted) {
    if (s < at) continue;
    if (s > at) frag.append(dec.decode(bytes.subarray(at, s)));
    frag.append(h('mark', null, dec.decode(bytes.subarray(s, e))));
    at = e;
  }
  if (at < bytes.length) frag.append(dec.decode(bytes.subarray(at)));
  return frag;
}

export function fmtDate(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toISOString().slice(0, 10);
}

export function announce(msg) {
  const a = document.getElementById('announce');
  if (a) a.textContent = msg;
}

export function debounce(fn, ms) {
  let t = 0;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

export function errorBox(err) {
  return h('p', { class: 'error', role: 'alert' }, String(err && err.message ? err.message : err));
}
