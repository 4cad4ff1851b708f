// A tiny HTTP proxy for tests/cli/mcp_conformance.sh: the conformance
// harness cannot send an Authorization header, and lore's /mcp needs one.
//
//   node auth-proxy.mjs TARGET_PORT TOKEN
//
// Listens on 127.0.0.1:<free port> (prints "port N" once listening) and
// forwards every request to 127.0.0.1:TARGET_PORT as it came: the method,
// the path, every header (Host and Origin as the client sent them, so the
// DNS-rebinding checks see the client's values), the body; it adds
// `Authorization: Bearer TOKEN` when the request has none. The response
// (status, headers, body) is streamed back as it arrives, so SSE events are
// not held up. Only hop-by-hop headers (RFC 9110 section 7.6.1) are not
// passed on, as a proxy must not.
import http from 'node:http';

const [targetPort, token] = process.argv.slice(2);
if (!targetPort || !token) {
  console.error('usage: auth-proxy.mjs TARGET_PORT TOKEN');
  process.exit(2);
}
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate',
  'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

function pairs(raw) {
  const out = [];
  for (let i = 0; i < raw.length; i += 2)
    if (!HOP.has(raw[i].toLowerCase())) out.push([raw[i], raw[i + 1]]);
  return out;
}

const srv = http.createServer((req, res) => {
  const headers = pairs(req.rawHeaders);
  if (!headers.some(([k]) => k.toLowerCase() === 'authorization'))
    headers.push(['Authorization', `Bearer ${token}`]);
  // A flat [name, value, ...] array keeps names, order and duplicates; Node
  // sends the Host given here instead of making one from host and port.
  const up = http.request({
    host: '127.0.0.1', port: Number(targetPort), method: req.method, path: req.url,
    headers: headers.flat(), setHost: false, agent: false,
  }, (ur) => {
    res.writeHead(ur.statusCode, ur.statusMessage, pairs(ur.rawHeaders).flat());
    res.flushHeaders();
    ur.pipe(res);
  });
  up.on('error', (e) => {
    if (!res.headersSent) {
      res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end(`auth-proxy: ${e.message}\n`);
    } else {
      res.destroy(e);
    }
  });
  req.pipe(up);
});
srv.listen(0, '127.0.0.1', () => process.stdout.write(`port ${srv.address().port}\n`));
const stop = () => srv.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
