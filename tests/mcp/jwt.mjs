// A stand-in OAuth authorization server and an MCP client for
// tests/cli/mcp_jwt.sh (lore's JWT resource-server mode).
//
//   node jwt.mjs serve ISSUER AUDIENCE
//       Generates an RSA-2048 key (kid "rsa-1") and an EC P-256 key (kid
//       "ec-1"), plus a third RSA key ("stranger") that is NOT published.
//       Serves on 127.0.0.1:<free port> and prints "port N" once listening:
//         GET  /jwks   the key set {"keys":[rsa-1, ec-1]} (public parts)
//         GET  /stats  {"jwks_fetches": n}
//         POST /mint   body {alg, key?, kid?, claims?, exp_in?, tamper?}
//                      answers the compact token as text/plain.
//           alg     "RS256" | "ES256" | "none" (empty signature) |
//                   "none-sig" (alg none, with a non-empty fake signature)
//           key     "rsa" | "ec" | "stranger" (default: the one alg needs)
//           kid     header kid (default: the key's own; null = none)
//           claims  merged over {iss: ISSUER, aud: AUDIENCE, sub: "user-1",
//                   iat: now, exp: now + exp_in}; a null value removes one
//           exp_in  seconds from now (default 600; negative = expired)
//           tamper  flip one byte in the middle of the signature
//
//   node jwt.mjs client URL TOKEN [--modern] [--query Q]
//       A real MCP client with `Authorization: Bearer TOKEN`: the v1 SDK
//       (@modelcontextprotocol/sdk, initialize, 2025-11-25), or with
//       --modern the v2 client pinned to 2026-07-28. Lists tools, calls
//       search {query: Q (default "otters")}, and prints one JSON line
//       {"era":..., "tools":[names], "hits":[hit titles], "isError":bool}.
//       Exit 1 with "ERROR: ..." on stderr on any failure.
import http from 'node:http';
import crypto from 'node:crypto';

const b64u = (buf) => Buffer.from(buf).toString('base64url');

async function serve(issuer, audience) {
  const jose = await import('jose');
  const rsa = await jose.generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const ec = await jose.generateKeyPair('ES256', { extractable: true });
  const stranger = await jose.generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const pub = async (k, kid, alg) => ({ ...(await jose.exportJWK(k.publicKey)), kid, alg, use: 'sig' });
  const jwks = { keys: [await pub(rsa, 'rsa-1', 'RS256'), await pub(ec, 'ec-1', 'ES256')] };
  const keys = {
    rsa: { pair: rsa, kid: 'rsa-1' },
    ec: { pair: ec, kid: 'ec-1' },
    stranger: { pair: stranger, kid: 'stranger-1' },
  };
  let fetches = 0;

  async function mint(req) {
    const now = Math.floor(Date.now() / 1000);
    const alg = req.alg || 'RS256';
    const claims = { iss: issuer, aud: audience, sub: 'user-1', iat: now, exp: now + (req.exp_in ?? 600) };
    for (const [k, v] of Object.entries(req.claims || {})) {
      if (v === null) delete claims[k];
      else claims[k] = v;
    }
    if (alg === 'none' || alg === 'none-sig') {
      const h = b64u(JSON.stringify({ alg: 'none', typ: 'JWT' }));
      const p = b64u(JSON.stringify(claims));
      return `${h}.${p}.${alg === 'none' ? '' : b64u(crypto.randomBytes(64))}`;
    }
    const k = keys[req.key || (alg === 'ES256' ? 'ec' : 'rsa')];
    const header = { alg, typ: 'at+jwt' };
    const kid = req.kid === undefined ? k.kid : req.kid;
    if (kid !== null) header.kid = kid;
    let tok = await new jose.SignJWT(claims).setProtectedHeader(header).sign(k.pair.privateKey);
    if (req.tamper) {
      const [h, p, s] = tok.split('.');
      const sig = Buffer.from(s, 'base64url');
      sig[sig.length >> 1] ^= 0x01;
      tok = `${h}.${p}.${b64u(sig)}`;
    }
    return tok;
  }

  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      try {
        if (req.method === 'GET' && req.url === '/jwks') {
          fetches++;
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify(jwks));
        } else if (req.method === 'GET' && req.url === '/stats') {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ jwks_fetches: fetches }));
        } else if (req.method === 'POST' && req.url === '/mint') {
          const tok = await mint(JSON.parse(body || '{}'));
          res.writeHead(200, { 'Content-Type': 'text/plain' });
          res.end(tok);
        } else {
          res.writeHead(404);
          res.end();
        }
      } catch (e) {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(String(e && e.stack || e));
      }
    });
  });
  srv.listen(0, '127.0.0.1', () => {
    process.stdout.write(`port ${srv.address().port}\n`);
  });
  const stop = () => srv.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function client(url, token, modern, query) {
  const headers = { Authorization: `Bearer ${token}` };
  let c, transport, era;
  if (modern) {
    const v2 = await import('@modelcontextprotocol/client');
    transport = new v2.StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
    c = new v2.Client({ name: 'lore-jwt-test', version: '0.0.1' },
      { capabilities: {}, versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await c.connect(transport);
    era = `${c.getProtocolEra()} ${c.getNegotiatedProtocolVersion()}`;
  } else {
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
    transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
    c = new Client({ name: 'lore-jwt-test', version: '0.0.1' }, { capabilities: {} });
    await c.connect(transport);
    era = `legacy ${transport.protocolVersion || ''}`.trim();
  }
  const { tools } = await c.listTools();
  const r = await c.callTool({ name: 'search', arguments: { query } });
  const hits = (r.structuredContent && r.structuredContent.hits || []).map((h) => h.title);
  await c.close();
  process.stdout.write(JSON.stringify({ era, tools: tools.map((t) => t.name), hits, isError: !!r.isError }) + '\n');
}

const [mode, ...rest] = process.argv.slice(2);
try {
  if (mode === 'serve') {
    await serve(rest[0], rest[1]);
  } else if (mode === 'client') {
    const modern = rest.includes('--modern');
    const qi = rest.indexOf('--query');
    await client(rest[0], rest[1], modern, qi >= 0 ? rest[qi + 1] : 'otters');
  } else {
    console.error('usage: jwt.mjs serve ISSUER AUDIENCE | client URL TOKEN [--modern] [--query Q]');
    process.exit(2);
  }
} catch (e) {
  console.error(`ERROR: ${e && e.stack || e}${e && e.code !== undefined ? ` (code ${e.code})` : ''}`);
  process.exit(1);
}
