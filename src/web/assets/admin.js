// Administration (scope admin): keys, jobs, connectors, the tenant's
// figures, and an MCP configuration to paste into an AI client.
import { api, session } from './api.js';
import { announce, clear, errorBox, fmtDate, h } from './dom.js';

const TABS = [
  ['keys', 'Keys', keysTab], ['jobs', 'Jobs', jobsTab], ['connectors', 'Connectors', connectorsTab],
  ['tenant', 'Tenant', tenantTab], ['mcp', 'MCP clients', mcpTab],
];

export async function show(main, ctx) {
  const tab = TABS.find(t => t[0] === ctx.params.get('tab')) || TABS[0];
  document.title = `${tab[1]} · Admin · lore`;
  const nav = h('nav', { class: 'tabs', 'aria-label': 'Administration' }, h('ul', null,
    TABS.map(([id, label]) => h('li', null, h('a', {
      href: `/?view=admin&tab=${id}`, 'aria-current': id === tab[0] ? 'page' : null,
    }, label)))));
  const body = h('section', { class: 'tab', 'aria-labelledby': 'tab-title' },
    h('h2', { id: 'tab-title' }, tab[1]));
  clear(main, h('h1', null, 'Administration'), nav, body);
  try {
    await tab[2](body);
  } catch (e) {
    body.append(errorBox(e));
  }
}

function table(head, rows) {
  return h('div', { class: 'scroll' }, h('table', null,
    h('thead', null, h('tr', null, head.map(x => h('th', { scope: 'col' }, x)))),
    h('tbody', null, rows)));
}

function copyButton(text, label) {
  const b = h('button', { type: 'button' }, label || 'Copy');
  b.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      b.textContent = 'Copied';
      announce('Copied to the clipboard');
    } catch {
      b.textContent = 'Select and copy by hand';
    }
  });
  return b;
}

// ---- keys ----

async function keysTab(body) {
  const out = h('div');
  const list = h('div');
  body.append(createKeyForm(out, () => refreshKeys(list)), out, list);
  await refreshKeys(list);
}

async function refreshKeys(list) {
  const { keys } = await api('GET', '/v1/keys');
  clear(list, table(['Id', 'Name', 'Scopes', 'Principals', 'Created', 'Expires', 'State', ''],
    keys.map(k => {
      const live = !k.revoked_at && !(k.expires_at && new Date(k.expires_at) <= new Date());
      const revoke = live && k.id !== session.key_id
        ? h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke key ${k.id}` }, 'Revoke') : null;
      if (revoke) revoke.addEventListener('click', async () => {
        if (!confirm(`Revoke key ${k.id}? Clients using it stop working at once.`)) return;
        try { await api('DELETE', `/v1/keys/${k.id}`); await refreshKeys(list); announce(`Key ${k.id} revoked`); }
        catch (e) { list.prepend(errorBox(e)); }
      });
      return h('tr', null, h('td', null, h('code', null, k.id)), h('td', null, k.name || ''),
        h('td', null, k.scopes.join(', ')), h('td', null, k.principals.join(', ') || 'all documents'),
        h('td', null, fmtDate(k.created_at)), h('td', null, fmtDate(k.expires_at) || 'never'),
        h('td', null, k.revoked_at ? `revoked ${fmtDate(k.revoked_at)}` : live ? 'live' : 'expired'),
        h('td', null, revoke));
    })));
}

function createKeyForm(out, done) {
  const name = h('input', { id: 'k-name', type: 'text', maxlength: '128' });
  const scopes = ['read', 'write', 'admin'].map(s => h('input', { type: 'checkbox', id: `k-${s}`, value: s, checked: s === 'read' }));
  const principals = h('input', { id: 'k-principals', type: 'text', placeholder: 'user:ann@example.com, group:eng', 'aria-describedby': 'k-principals-help' });
  const expires = h('input', { id: 'k-expires', type: 'date' });
  const form = h('form', { class: 'card', 'aria-labelledby': 'k-title' },
    h('h3', { id: 'k-title' }, 'Create a key'),
    h('div', { class: 'row' }, h('label', { for: 'k-name' }, 'Name'), name),
    h('fieldset', null, h('legend', null, 'Scopes'),
      scopes.map(c => h('span', { class: 'check' }, c, h('label', { for: c.id }, c.value)))),
    h('div', { class: 'row' }, h('label', { for: 'k-principals' }, 'Principals'), principals),
    h('p', { id: 'k-principals-help', class: 'muted' }, 'Comma-separated. A key with principals sees only the documents their ACLs allow; without, it sees every document.'),
    h('div', { class: 'row' }, h('label', { for: 'k-expires' }, 'Expires'), expires),
    h('button', { type: 'submit', class: 'primary' }, 'Create key'));
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    const body = {
      scopes: scopes.filter(c => c.checked).map(c => c.value),
      principals: principals.value.split(',').map(s => s.trim()).filter(Boolean),
    };
    if (name.value.trim()) body.name = name.value.trim();
    if (expires.value) body.expires_at = `${expires.value}T23:59:59Z`;
    try {
      const k = await api('POST', '/v1/keys', { json: body });
      const secret = h('code', { class: 'secret', id: 'new-secret' }, k.key);
      clear(out, h('div', { class: 'card secretbox', role: 'alert' },
        h('p', null, h('strong', null, 'The new key, shown only this once:')),
        h('p', null, secret, ' ', copyButton(k.key))));
      form.reset();
      scopes[0].checked = true;
      await done();
    } catch (e) {
      clear(out, errorBox(e));
    }
  });
  return form;
}

// ---- jobs ----

// Exact counts by state from GET /v1/stats (done jobs are not counted by
// the server: they are purged after job_retention_days).
async function jobsTab(body) {
  const counts = h('dl', { class: 'figures', id: 'job-counts' });
  const dead = h('div');
  body.append(counts, h('h3', null, 'Dead letters'), dead);
  await refreshJobs(counts, dead);
}

function ago(s) {
  if (s === null || s === undefined) return '';
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

async function refreshJobs(counts, dead) {
  const [stats, page] = await Promise.all([api('GET', '/v1/stats'), api('GET', '/v1/jobs?state=dead&limit=100')]);
  const j = stats.jobs;
  clear(counts,
    h('dt', null, 'queued'), h('dd', { 'data-state': 'ready' }, String(j.ready)),
    h('dt', null, 'running'), h('dd', { 'data-state': 'leased' }, String(j.leased)),
    h('dt', null, 'dead'), h('dd', { 'data-state': 'dead' }, String(j.dead)),
    j.oldest_ready_age_s !== null ? [h('dt', null, 'oldest queued'), h('dd', null, ago(j.oldest_ready_age_s))] : null);
  const jobs = page.jobs;
  if (!jobs.length) { clear(dead, h('p', { class: 'muted' }, 'No dead jobs.')); return; }
  clear(dead, j.dead > jobs.length ? h('p', { class: 'muted' }, `The newest ${jobs.length} of ${j.dead}.`) : null,
    table(['Job', 'Kind', 'Attempts', 'Failed', 'Error', ''], jobs.map(x => {
      const retry = h('button', { type: 'button', 'aria-label': `Retry job ${x.id}` }, 'Retry');
      retry.addEventListener('click', async () => {
        try { await api('POST', `/v1/jobs/${x.id}/retry`); announce(`Job ${x.id} queued again`); await refreshJobs(counts, dead); }
        catch (e) { dead.prepend(errorBox(e)); }
      });
      return h('tr', { 'data-job': x.id }, h('td', null, h('code', null, x.id)), h('td', null, x.kind),
        h('td', null, `${x.attempts}/${x.max_attempts}`), h('td', null, fmtDate(x.finished_at)),
        h('td', { class: 'err' }, x.error || ''), h('td', null, retry));
    })));
}

// ---- connectors ----

async function connectorsTab(body) {
  const { connectors } = await api('GET', '/v1/connectors');
  if (!connectors.length) {
    body.append(h('p', { class: 'muted' }, 'No connectors. Create one with `lore connector add` or POST /v1/connectors; its webhook URL shows here.'));
    return;
  }
  body.append(table(['Kind', 'Source', 'Webhook URL', 'Created', 'Secret rotated'], connectors.map(c =>
    h('tr', null, h('td', null, c.kind), h('td', null, c.source),
      h('td', null, h('code', null, c.url || c.path), ' ', copyButton(c.url || c.path)),
      h('td', null, fmtDate(c.created_at)), h('td', null, fmtDate(c.secret_rotated_at) || 'never')))));
}

// ---- tenant ----

function bytes(n) {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let i = 0, v = n;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return i ? `${v.toFixed(1)} ${units[i]}` : `${n} bytes`;
}

async function tenantTab(body) {
  const [st, src, keys, cons] = await Promise.all([
    api('GET', '/v1/stats'), api('GET', '/v1/sources'), api('GET', '/v1/keys'), api('GET', '/v1/connectors')]);
  const live = keys.keys.filter(k => !k.revoked_at && !(k.expires_at && new Date(k.expires_at) <= new Date())).length;
  const fig = (id, label, value) => [h('dt', null, label), h('dd', { 'data-figure': id }, value)];
  const emb = st.embeddings;
  body.append(h('dl', { class: 'figures' },
    fig('tenant', 'Tenant', st.tenant),
    fig('documents', 'Documents', String(st.documents)),
    fig('chunks', 'Chunks', String(st.chunks)),
    fig('disk', 'On disk', bytes(st.disk_bytes)),
    fig('sources', 'Sources', String(st.sources)),
    fig('keys', 'Keys (live)', `${keys.keys.length} (${live})`),
    fig('connectors', 'Connectors', String(cons.connectors.length)),
    fig('semantic', 'Semantic search', emb ? 'configured' : 'not configured'),
    emb ? fig('embeddings', 'Waiting for embeddings', `${emb.pending} chunks${emb.pending ? `, oldest ${ago(emb.oldest_pending_age_s)}` : ''}`) : null,
    fig('jobs', 'Jobs queued / running / dead', `${st.jobs.ready} / ${st.jobs.leased} / ${st.jobs.dead}`)),
  h('h3', null, 'Documents by source'),
  table(['Source', 'Documents', 'Last updated'], src.sources.map(s =>
    h('tr', null, h('td', null, s.source), h('td', null, String(s.documents)), h('td', null, fmtDate(s.last_updated))))));
}

// ---- MCP ----

function mcpUrl() {
  const base = session.features && session.features.public_url ? session.features.public_url : location.origin;
  return `${base}/mcp`;
}

function configs(key) {
  const url = mcpUrl();
  const remote = { url, headers: { Authorization: `Bearer ${key}` } };
  return [
    ['Claude Desktop', 'claude_desktop_config.json (through the mcp-remote bridge)', JSON.stringify({
      mcpServers: { lore: { command: 'npx', args: ['-y', 'mcp-remote', url, '--header', `Authorization:Bearer ${key}`] } },
    }, null, 2)],
    ['Claude Code', 'run in a terminal', `claude mcp add --transport http lore ${url} \\\n  --header "Authorization: Bearer ${key}"`],
    ['Cursor', '~/.cursor/mcp.json or .cursor/mcp.json', JSON.stringify({ mcpServers: { lore: remote } }, null, 2)],
  ];
}

async function mcpTab(body) {
  const out = h('div');
  const render = key => clear(out, configs(key).map(([name, where, text]) => h('section', { class: 'card' },
    h('h3', null, name), h('p', { class: 'muted' }, where), h('pre', null, h('code', null, text)), copyButton(text, `Copy ${name} configuration`))));
  const make = h('button', { type: 'button', class: 'primary' }, 'Create a read key for MCP and fill it in');
  make.addEventListener('click', async () => {
    try {
      const k = await api('POST', '/v1/keys', { json: { name: 'mcp client', scopes: ['read'] } });
      render(k.key);
      announce('A read key was created and filled into the configurations; it is shown only here.');
    } catch (e) { out.prepend(errorBox(e)); }
  });
  body.append(h('p', null, 'lore speaks MCP at ', h('code', null, mcpUrl()),
    '. Paste one of these into your client, with a key of scope read (principals limit what it sees).'), make, out);
  render('lore_...');
}
