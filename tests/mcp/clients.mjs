// Real MCP clients from npm driving lore (tests/cli/mcp_clients.sh runs this
// from <build dir>/mcp-node, where tests/mcp/setup.sh installed the pinned
// packages). Every check prints one line: "ok <label>" or "FAIL <label>: why";
// the exit code is 1 when any check failed.
//
//   node clients.mjs run  --client sdk|v2 [--mode legacy|auto|pin]
//                         (--http URL [--key K] | --stdio LORE [--env K=V]... [--arg A]...)
//                         --see EXT,EXT --sources SRC:N,SRC:N [--hidden ID,ID] [--invalid]
//                         [--era modern|legacy] [--label L] [--window N,N...]
//                         [--rest BASE [--rest-key K]]
//       connects, lists the tools, calls search/fetch (windows)/list_sources,
//       reads resources, validates every structuredContent with ajv against
//       the tool's outputSchema, and checks visibility: search finds exactly
//       the documents whose external ids are --see; the lore ids in --hidden
//       behave exactly like an id that does not exist. --invalid adds the
//       argument-error checks; --window checks fetch windows of those sizes
//       (bytes; default 16) over the longest visible document;
//       --rest compares list_sources and search with GET /v1/sources and
//       /v1/search for the same key.
//   node clients.mjs denied --client sdk|v2 --http URL [--key K] --status 401|403
//       the client must fail to connect, with that HTTP status.
import { isDeepStrictEqual } from 'node:util';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  StdioClientTransport as V1Stdio,
  getDefaultEnvironment as v1DefaultEnv,
} from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as V1Http } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { Client as V2Client, StreamableHTTPClientTransport as V2Http } from '@modelcontextprotocol/client';
import { StdioClientTransport as V2Stdio, getDefaultEnvironment as v2DefaultEnv } from '@modelcontextprotocol/client/stdio';
import { Ajv2020 } from 'ajv/dist/2020.js';

// ---- arguments ----
const argv = process.argv.slice(2);
const cmd = argv.shift();
const opts = { env: [], arg: [] };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
  const k = a.slice(2);
  if (k === 'invalid') { opts.invalid = true; continue; }
  const v = argv[++i];
  if (v === undefined) throw new Error(`${a} needs a value`);
  if (Array.isArray(opts[k])) opts[k].push(v); else opts[k] = v;
}
const list = (s) => (s ? s.split(',').filter(Boolean) : []);
const label = opts.label ?? `${opts.client}${opts.mode ? '/' + opts.mode : ''} ${opts.http ? 'http' : 'stdio'}`;

// ---- checks ----
let failed = 0;
const ok = (what) => console.log(`ok ${label}: ${what}`);
const fail = (what, why) => {
  failed++;
  console.log(`FAIL ${label}: ${what}: ${String(why).slice(0, 1500)}`);
};
const check = (what, cond, why) => (cond ? ok(what) : fail(what, why ?? 'condition false'));
const show = (v) => JSON.stringify(v)?.slice(0, 800);
const errText = (e) => `${e?.constructor?.name}: ${e?.message} (code ${e?.code})`;

// ---- clients ----
function makeClient() {
  const v1 = opts.client === 'sdk';
  if (!v1 && opts.client !== 'v2') throw new Error('--client sdk|v2');
  const info = { name: 'lore-test-client', version: '1.0.0' };
  let transport;
  if (opts.http) {
    const headers = opts.key ? { Authorization: `Bearer ${opts.key}` } : {};
    transport = v1
      ? new V1Http(new URL(opts.http), { requestInit: { headers } })
      : new V2Http(new URL(opts.http), { requestInit: { headers } });
  } else {
    const env = { ...(v1 ? v1DefaultEnv() : v2DefaultEnv()) };
    for (const kv of opts.env) env[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
    const p = { command: opts.stdio, args: opts.arg, env, stderr: 'pipe' };
    transport = v1 ? new V1Stdio(p) : new V2Stdio(p);
  }
  let client;
  if (v1) {
    client = new V1Client(info, { capabilities: {} });
  } else {
    const mode = opts.mode ?? 'legacy';
    const versionNegotiation =
      mode === 'legacy' ? { mode: 'legacy' }
        : mode === 'auto' ? { mode: 'auto', probe: { timeoutMs: 10000 } }
          : mode === 'pin' ? { mode: { pin: '2026-07-28' } }
            : (() => { throw new Error('--mode legacy|auto|pin'); })();
    client = new V2Client(info, { capabilities: {}, versionNegotiation });
  }
  return { client, transport };
}

// A thrown JSON-RPC error: { code, message, data } or null for a non-error.
async function rpcError(promise) {
  try {
    const r = await promise;
    return { result: r };
  } catch (e) {
    return { code: e?.code, message: String(e?.message ?? e), data: e?.data, e };
  }
}

// ---- the run ----
async function run() {
  const { client, transport } = makeClient();
  let stderr = '';
  if (!opts.http) transport.stderr?.on('data', (d) => { stderr += d; });
  // Errors the client only reports here: a stdout line that is not JSON-RPC,
  // a response to no request, ...
  const errors = [];
  client.onerror = (e) => errors.push(errText(e));
  try {
    await client.connect(transport);
    ok('connect');
  } catch (e) {
    fail('connect', `${errText(e)}${stderr ? '; server stderr: ' + stderr : ''}`);
    return;
  }
  try {
    await scenario(client);
  } catch (e) {
    fail('unexpected exception', `${errText(e)}\n${e?.stack}`);
  }
  check('no errors reported by the client', errors.length === 0, errors.join('; '));
  // The transport ends the server's stdin and waits 2 s before SIGTERM.
  const t0 = Date.now();
  await client.close().catch(() => {});
  if (!opts.http) {
    check('the server exits at the end of stdin', Date.now() - t0 < 1950, `close took ${Date.now() - t0} ms`);
    check('no sanitizer report on stderr', !/Sanitizer|runtime error:/.test(stderr), stderr);
  }
  if (!opts.http && opts.env.some((kv) => /^LORE_LOG_LEVEL=(info|debug)$/.test(kv))) {
    check('server stderr carries the log line', /mcp: serving tenant/.test(stderr), `stderr: ${stderr}`);
  }
}

async function scenario(client) {
  const modern = opts.era === 'modern';
  if (opts.client === 'v2') {
    const era = client.getProtocolEra();
    const ver = client.getNegotiatedProtocolVersion();
    check('protocol era', era === (opts.era ?? 'legacy'), `era=${era} version=${ver}`);
    check('negotiated version', ver === (modern ? '2026-07-28' : '2025-11-25'), `version=${ver}`);
    const sv = client.getServerVersion();
    check('server info', sv?.name === 'lore' && typeof sv?.version === 'string', show(sv));
  } else {
    const sv = client.getServerVersion();
    check('server info', sv?.name === 'lore', show(sv));
  }

  // tools/list
  const { tools } = await client.listTools();
  check('tools/list names and order', isDeepStrictEqual(tools.map((t) => t.name), ['search', 'fetch', 'list_sources']),
    show(tools.map((t) => t.name)));
  const validators = {};
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  for (const t of tools) {
    check(`${t.name}: annotations.readOnlyHint`, t.annotations?.readOnlyHint === true, show(t.annotations));
    check(`${t.name}: inputSchema`, t.inputSchema?.type === 'object' && typeof t.inputSchema.properties === 'object',
      show(t.inputSchema));
    check(`${t.name}: outputSchema`, t.outputSchema?.type === 'object' && Array.isArray(t.outputSchema.required),
      show(t.outputSchema));
    check(`${t.name}: description`, typeof t.description === 'string' && t.description.length > 20, show(t.description));
    try {
      validators[t.name] = ajv.compile(t.outputSchema);
    } catch (e) {
      fail(`${t.name}: outputSchema compiles`, e.message);
    }
  }
  // query or like (more like this), one of them: the tool checks it, the schema requires neither.
  check('search takes query or like', tools[0]?.inputSchema?.properties?.query?.type === 'string' &&
    tools[0]?.inputSchema?.properties?.like?.type === 'string' && tools[0]?.inputSchema?.required === undefined,
  show(tools[0]?.inputSchema));

  // One successful call: validated against the schema, text == structured.
  const call = async (name, args, what) => {
    const r = await client.callTool({ name, arguments: args });
    const sc = r.structuredContent;
    if (r.isError) {
      fail(what, `isError: ${show(r.content)}`);
      return null;
    }
    const v = validators[name];
    if (v && v(sc)) ok(`${what}: structuredContent matches outputSchema`);
    else fail(`${what}: structuredContent matches outputSchema`, `${ajv.errorsText(v?.errors)}; ${show(sc)}`);
    let parsed;
    try {
      parsed = JSON.parse(r.content?.[0]?.text);
    } catch (e) {
      parsed = e.message;
    }
    check(`${what}: content[0] is text with the same JSON`, r.content?.[0]?.type === 'text' && isDeepStrictEqual(parsed, sc),
      show(r.content));
    return sc;
  };
  // One refused call: isError with a message matching re.
  const refused = async (name, args, re, what) => {
    let r;
    try {
      r = await client.callTool({ name, arguments: args });
    } catch (e) {
      fail(what, `threw instead of isError: ${errText(e)}`);
      return null;
    }
    const text = r.content?.[0]?.text ?? '';
    check(what, r.isError === true && re.test(text) && r.structuredContent === undefined, show(r));
    return text;
  };

  // search
  const see = list(opts.see).sort();
  const s = await call('search', { query: 'otters', limit: 50 }, 'search otters');
  const hits = s?.hits ?? [];
  check('search otters: hits found', hits.length === see.length, `${hits.length} hits, want ${see.length}: ${show(hits.map((h) => h.title))}`);
  check('search otters: more is false', s?.more === false, show(s?.more));
  check('search otters: hits best first', hits.every((h, i) => i === 0 || hits[i - 1].score >= h.score), show(hits.map((h) => h.score)));

  // fetch every hit: the external ids are exactly what the caller may see
  const docs = {};
  for (const h of hits) {
    const f = await call('fetch', { id: h.id }, `fetch ${h.id}`);
    if (!f) continue;
    docs[h.id] = f;
    check(`fetch ${h.id}: whole short document`, f.id === h.id && f.offset === 0 && f.next_offset === null &&
      f.total_length === Buffer.byteLength(f.text) && f.title === h.title && f.source === h.source, show(f));
  }
  const seen = Object.values(docs).map((d) => d.external_id).sort();
  check('visible documents (search + fetch)', isDeepStrictEqual(seen, see), `saw ${show(seen)}, want ${show(see)}`);

  // fetch windows over the longest document
  const longest = Object.values(docs).sort((a, b) => b.total_length - a.total_length)[0];
  if (longest) {
    for (const step of (opts.window ?? '16').split(',').map(Number)) {
      let offset = 0, text = '', n = 0, good = true, why = '';
      for (;;) {
        const w = await call('fetch', { id: longest.id, offset, length: step }, `fetch window ${n} of ${step} bytes (offset ${offset})`);
        if (!w) { good = false; break; }
        const bytes = Buffer.byteLength(w.text);
        // at most step bytes, or one whole character when step is shorter
        if (w.offset !== offset || bytes > Math.max(step, 4) || bytes === 0 || w.total_length !== longest.total_length) {
          good = false;
          why = `window at ${offset}: ${show(w)}`;
          break;
        }
        text += w.text;
        n++;
        if (w.next_offset === null) break;
        if (w.next_offset !== offset + bytes) { good = false; why = `next_offset ${w.next_offset} after ${offset}+${bytes}`; break; }
        offset = w.next_offset;
        if (n > 10000) { good = false; why = 'too many windows'; break; }
      }
      check(`fetch windows of ${step} bytes rebuild the text`, good && text === longest.text, why || `${show(text)} vs ${show(longest.text)}`);
      if (!opts.window)
        check('fetch windows: count', n === Math.ceil(longest.total_length / step), `${n} windows for ${longest.total_length} bytes`);
    }
    // an offset inside a multi-byte character starts at that character
    const buf = Buffer.from(longest.text);
    const mid = buf.findIndex((b) => (b & 0xc0) === 0x80);
    if (mid > 0) {
      const w = await call('fetch', { id: longest.id, offset: mid, length: 8 }, 'fetch from inside a character');
      let start = mid - 1;
      while ((buf[start] & 0xc0) === 0x80) start--;
      check('fetch from inside a character starts at the character', w?.offset === start &&
        longest.text.startsWith(w.text, buf.subarray(0, start).toString().length), `offset ${mid} gave ${show(w)}`);
    }
    const end = await call('fetch', { id: longest.id, offset: longest.total_length }, 'fetch at the end');
    check('fetch at the end: empty, next_offset null', end?.text === '' && end?.next_offset === null, show(end));
    await refused('fetch', { id: longest.id, offset: longest.total_length + 1 }, /past the end/, 'fetch offset past the end is isError');
  }

  // list_sources: counts of visible documents only
  const ls = await call('list_sources', {}, 'list_sources');
  const got = Object.fromEntries((ls?.sources ?? []).map((x) => [x.source, x.documents]));
  const want = Object.fromEntries(list(opts.sources).map((x) => [x.split(':')[0], Number(x.split(':')[1])]));
  check('list_sources counts', isDeepStrictEqual(got, want), `got ${show(got)}, want ${show(want)}`);

  // the same answers as the REST API for the same key
  if (opts.rest) {
    const get = async (path) => {
      const r = await fetch(`${opts.rest}${path}`, { headers: { Authorization: `Bearer ${opts['rest-key'] ?? opts.key}` } });
      return r.json();
    };
    const bySource = (a) => [...(a ?? [])].sort((x, y) => x.source.localeCompare(y.source));
    const rs = await get('/v1/sources');
    check('list_sources equals GET /v1/sources', isDeepStrictEqual(bySource(ls?.sources), bySource(rs.sources)),
      `mcp ${show(ls?.sources)} rest ${show(rs)}`);
    const rh = await get('/v1/search?q=otters&limit=50');
    const restIds = (rh.hits ?? []).map((h) => h.id).sort();
    check('search hits equal GET /v1/search', isDeepStrictEqual(hits.map((h) => h.id).sort(), restIds),
      `mcp ${show(hits.map((h) => h.id))} rest ${show(rh)}`);
  }

  // resources
  const rl = await client.listResources();
  const uris = rl.resources.map((r) => r.uri).sort();
  const wantUris = Object.keys(docs).map((id) => `lore://doc/${id}`).sort();
  check('resources/list', isDeepStrictEqual(uris, wantUris), `got ${show(uris)}, want ${show(wantUris)}`);
  if (longest) {
    const rr = await rpcError(client.readResource({ uri: `lore://doc/${longest.id}` }));
    check('resources/read', rr.result?.contents?.[0]?.text === longest.text &&
      rr.result.contents[0].uri === `lore://doc/${longest.id}`, show(rr.result ?? rr.message));
  }

  // hidden documents look exactly like missing ones
  const nf = 'ffffffffffffffff';
  const missingText = await refused('fetch', { id: nf }, /no document with id/, 'fetch of a nonexistent id is isError');
  // Resource not found: -32602 in 2026-07-28, -32002 before; the v2 client
  // reports both as its ResourceNotFoundError (-32602 with data.uri).
  const nfCode = modern || opts.client === 'v2' ? -32602 : -32002;
  const missingRead = await rpcError(client.readResource({ uri: `lore://doc/${nf}` }));
  check('resources/read of a nonexistent id fails', missingRead.code === nfCode && missingRead.data?.uri === `lore://doc/${nf}`,
    `code ${missingRead.code}: ${missingRead.message} ${show(missingRead.data)}`);
  for (const id of list(opts.hidden)) {
    const t = await refused('fetch', { id }, /no document with id/, `fetch of hidden ${id} is isError`);
    check(`fetch of hidden ${id}: same text as a nonexistent id`, t !== null && missingText !== null &&
      t.replaceAll(id, 'ID') === missingText.replaceAll(nf, 'ID'), `${t} vs ${missingText}`);
    check(`search does not return hidden ${id}`, !hits.some((h) => h.id === id), show(hits.map((h) => h.id)));
    check(`resources/list does not list hidden ${id}`, !uris.includes(`lore://doc/${id}`), show(uris));
    const r = await rpcError(client.readResource({ uri: `lore://doc/${id}` }));
    check(`resources/read of hidden ${id}: same error as a nonexistent id`,
      r.code === nfCode && r.message === missingRead.message && r.data?.uri === `lore://doc/${id}`,
      `${r.code} ${r.message} ${show(r.data)} vs ${missingRead.code} ${missingRead.message}`);
  }

  // filters (a document without updated_at counts as updated when indexed, as in /v1/search)
  const filtered = async (args, keep, what) => {
    const r = await client.callTool({ name: 'search', arguments: { query: 'otters', limit: 50, ...args } });
    const got = (r.structuredContent?.hits ?? []).map((h) => h.id).sort();
    const want = hits.filter(keep).map((h) => h.id).sort();
    check(what, !r.isError && isDeepStrictEqual(got, want), `got ${show(got)}, want ${show(want)}: ${show(r.content)}`);
  };
  // (indexed just now: the current time stands in for a missing updated_at)
  const now = new Date().toISOString();
  const upd = (h) => h.updated_at ?? now;
  await filtered({ updated_after: '2026-01-01' }, (h) => upd(h) >= '2026-01-01', 'search updated_after a date');
  await filtered({ updated_after: '2026-03-01T10:00:01Z' }, (h) => upd(h) >= '2026-03-01T10:00:01Z', 'search updated_after a time');
  await filtered({ updated_before: '2026-03-01' }, (h) => upd(h) < '2026-03-02', 'search updated_before a date (the whole day)');
  await filtered({ updated_before: '2025-06-01T00:00:00Z', updated_after: '2025-06-01' }, (h) => upd(h).startsWith('2025-06-01T00:00:00'),
    'search updated window of one instant');
  await filtered({ author: 'Ann' }, (h) => h.author === 'Ann', 'search author');
  await filtered({ sources: ['wiki', 'github'] }, (h) => ['wiki', 'github'].includes(h.source), 'search sources');

  if (opts.invalid) await invalid(refused, client);
}

async function invalid(refused, client) {
  await refused('search', {}, /query is required/, 'search without query');
  await refused('search', { query: '' }, /query is required/, 'search with an empty query');
  await refused('search', { query: 'otters', limit: 0 }, /limit must be an integer from 1 to 50/, 'search limit 0');
  await refused('search', { query: 'otters', limit: 51 }, /limit must be an integer from 1 to 50/, 'search limit 51');
  await refused('search', { query: 'otters', limit: 'ten' }, /limit must be an integer/, 'search limit as a string');
  await refused('search', { query: 'otters', colour: 'red' }, /search has no argument 'colour'; it takes: query, limit/, 'search unknown argument');
  await refused('search', { query: 'otters', updated_after: 'last tuesday' }, /updated_after must be an ISO 8601 date.*last tuesday/, 'search bad updated_after');
  await refused('search', { query: 'otters', sources: 'wiki' }, /sources must be an array/, 'search sources not an array');
  await refused('fetch', {}, /id is required/, 'fetch without id');
  await refused('fetch', { id: 'x', length: 0 }, /length must be an integer from 1 to 200000/, 'fetch length 0');
  await refused('fetch', { id: 'x', offset: -1 }, /offset must be an integer from 0/, 'fetch offset -1');
  await refused('fetch', { id: 'nope-no-such-doc' }, /no document with id 'nope-no-such-doc'; ids come from search hits/, 'fetch unknown id');
  await refused('list_sources', { all: true }, /list_sources has no argument 'all'/, 'list_sources unknown argument');
  // an unknown tool is a protocol error, not a tool result
  const u = await rpcError(client.callTool({ name: 'no_such_tool', arguments: {} }));
  const isProto = opts.client === 'sdk' ? u.e instanceof McpError : u.e?.constructor?.name === 'ProtocolError';
  check('unknown tool: JSON-RPC error -32602', isProto && u.code === -32602 && /no_such_tool/.test(u.message),
    u.result ? `got a result: ${show(u.result)}` : `${u.e?.constructor?.name} ${u.code} ${u.message}`);
}

async function denied() {
  const { client, transport } = makeClient();
  const want = Number(opts.status);
  try {
    await client.connect(transport);
    fail(`connect refused with ${want}`, 'connected');
    await client.close().catch(() => {});
  } catch (e) {
    // v1: StreamableHTTPError with code = HTTP status; v2: SdkHttpError with
    // data.status, or InsufficientScopeError (403 insufficient_scope).
    const status = typeof e?.code === 'number' ? e.code
      : e?.data?.status ?? (e?.constructor?.name === 'InsufficientScopeError' ? 403 : undefined);
    const text = `${errText(e)} ${show(e?.data)}`;
    check(`connect refused with ${want}`, status === want, text);
    console.error(`# ${label}: ${text}`);
  }
}

if (cmd === 'run') await run();
else if (cmd === 'denied') await denied();
else {
  console.error('usage: clients.mjs run|denied ...');
  process.exit(2);
}
process.exitCode = failed ? 1 : 0;
