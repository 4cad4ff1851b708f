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

const STATES = ['ready', 'leased', 'done', 'dead']; // queued, running, done, dead-lettered

async function jobsTab(body) {
  const counts = h('dl', { class: 'figures' });
  const dead = h('div');
  body.append(counts, h('h3', null, 'Dead letters'), dead);
  await refreshJobs(counts, dead);
}

async function refreshJobs(counts, dead) {
  const pages = await Promise.all(STATES.map(s => api('GET', `/v1/jobs?state=${s}&limit=100`)));
  const label = { ready: 'queued', leased: 'running', done: 'done', dead: 'dead' };
  clear(counts, STATES.map((s, i) => [h('dt', null, label[s]),
    h('dd', null, `${pages[i].jobs.length}${pages[i].next_cursor ? '+' : ''}`)]));
  const jobs = pages[3].jobs;
  if (!jobs.length) { clear(dead, h('p', { class: 'muted' }, 'No dead jobs.')); return; }
  clear(dead, table(['Job', 'Kind', 'Attempts', 'Failed', 'Error', ''], jobs.map(j => {
    const retry = h('button', { type: 'button', 'aria-label': `Retry job ${j.id}` }, 'Retry');
    retry.addEventListener('click', async () => {
      try { await api('POST', `/v1/jobs/${j.id}/retry`); announce(`Job ${j.id} queued again`); await refreshJobs(counts, dead); }
      catch (e) { dead.prepend(errorBox(e)); }
    });
    return h('tr', { 'data-job': j.id }, h('td', null, h('code', null, j.id)), h('td', null, j.kind),
      h('td', null, `${j.attempts}/${j.max_attempts}`), h('td', null, fmtDate(j.finished_at)),
      h('td', { class: 'err' }, j.error || ''), h('td', null, retry));
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

async function tenantTab(body) {
  const [src, keys, cons] = await Promise.all([
    api('GET', '/v1/sources'), api('GET', '/v1/keys'), api('GET', '/v1/connectors')]);
  const docs = src.sources.reduce((n, s) => n + s.documents, 0);
  const live = keys.keys.filter(k => !k.revoked_at).length;
  body.append(h('dl', { class: 'figures' },
    h('dt', null, 'Tenant'), h('dd', null, session.tenant),
    h('dt', null, 'Documents'), h('dd', null, String(docs)),
    h('dt', null, 'Sources'), h('dd', null, String(src.sources.length)),
    h('dt', null, 'Keys (live)'), h('dd', null, `${keys.keys.length} (${live})`),
    h('dt', null, 'Connectors'), h('dd', null, String(cons.connectors.length)),
    h('dt', null, 'Semantic search'), h('dd', null, session.features && session.features.semantic ? 'configured' : 'not configured')),
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
