#!/usr/bin/env node
// Helper of bench/semantic_scifact.sh: SciFact through `lore serve` with an
// embedding provider. Node 18 or later, no dependencies.
//
//   node bench/semantic_eval.mjs subset --data DIR --docs N --out FILE
//       writes N documents of DIR/corpus.jsonl to FILE: every document judged
//       in DIR/qrels/test.tsv first, then the corpus in order until N (all of
//       it when N is 0 or larger than the corpus); prints "result docs N"
//   node bench/semantic_eval.mjs rate --embed URL --corpus FILE [--count N]
//       [--batch B] [--conns C]
//       the provider alone: the first N texts (title + "\n\n" + text, as lore
//       embeds a chunk) in batches of B, C requests in flight
//   node bench/semantic_eval.mjs ingest --url URL --corpus FILE [--batch B]
//       [--conns C]
//       POST /v1/documents batches (closed loop, C connections), then polls
//       until no job is ready or leased and GET /metrics shows no chunk
//       waiting for an embedding: documents/s to searchable by meaning
//   node bench/semantic_eval.mjs eval --url URL --data DIR --mode M [--label L]
//       every query of DIR/queries.jsonl judged in DIR/qrels/test.tsv through
//       GET /v1/search (mode M, limit 10, literal, no snippets), one at a time:
//       nDCG@10 (BEIR's: gain = grade, log2 discount, a hit whose id equals
//       the query id dropped), Recall@10, latency p50/p99 (wall clock of the
//       request, nearest rank)
//
// The API key comes from the environment (BENCH_KEY). Results are printed as
// "result NAME VALUE" lines. Exit 1 when a request fails.
import fs from "node:fs";
import http from "node:http";
import { performance } from "node:perf_hooks";

const argv = process.argv.slice(2);
const cmd = argv.shift();
const opt = { batch: 100, conns: 2, count: 256, docs: 0, label: "" };
for (let i = 0; i < argv.length; i += 2) {
  const k = argv[i].replace(/^--/, "");
  const v = argv[i + 1];
  opt[k] = /^(batch|conns|count|docs)$/.test(k) ? Number(v) : v;
}
const key = process.env.BENCH_KEY || "";
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const result = (name, value) => console.log(`result ${name} ${value}`);
const die = (msg) => {
  console.error(`semantic_eval: ${msg}`);
  process.exit(1);
};

function request(method, url, body, auth = true) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers = {};
    if (auth && key) headers.authorization = `Bearer ${key}`;
    if (data) {
      headers["content-type"] = "application/json";
      headers["content-length"] = data.length;
    }
    const req = http.request(
      { method, hostname: u.hostname, port: u.port, path: u.pathname + u.search, headers, agent },
      (res) => {
        const parts = [];
        res.on("data", (c) => parts.push(c));
        res.on("end", () => resolve({ status: res.statusCode, text: Buffer.concat(parts).toString() }));
      },
    );
    req.setTimeout(600000, () => req.destroy(new Error(`${method} ${url}: timed out`)));
    req.on("error", reject);
    if (data) req.write(data);
    req.end();
  });
}

function readJsonl(file) {
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

function readQrels(dir) {
  const q = new Map();
  const lines = fs.readFileSync(`${dir}/qrels/test.tsv`, "utf8").split("\n");
  for (const line of lines.slice(1)) {
    const [qid, did, grade] = line.trim().split("\t");
    if (!qid || grade === undefined) continue;
    if (!q.has(qid)) q.set(qid, new Map());
    q.get(qid).set(did, Number(grade));
  }
  return q;
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];

async function subset() {
  const corpus = readJsonl(`${opt.data}/corpus.jsonl`);
  const judged = new Set();
  for (const m of readQrels(opt.data).values()) for (const d of m.keys()) judged.add(d);
  const n = opt.docs > 0 && opt.docs < corpus.length ? opt.docs : corpus.length;
  const out = corpus.filter((d) => judged.has(String(d._id)));
  for (const d of corpus) {
    if (out.length >= n) break;
    if (!judged.has(String(d._id))) out.push(d);
  }
  fs.writeFileSync(opt.out, out.map((d) => JSON.stringify(d)).join("\n") + "\n");
  result("docs", out.length);
  result("judged_docs", judged.size);
  result("corpus_docs", corpus.length);
}

const embedText = (d) => (d.title ? `${d.title}\n\n` : "") + d.text;

async function rate() {
  const texts = readJsonl(opt.corpus).slice(0, opt.count).map(embedText);
  // One request first, outside the clock: the model's first calls are slow
  // (TensorFlow.js prepares its kernels), and lore's server met them earlier.
  const warm = await request("POST", `${opt.embed}/embeddings`, { model: "use-lite", input: texts.slice(0, 4) }, false);
  if (warm.status !== 200) die(`the provider answered ${warm.status}: ${warm.text.slice(0, 200)}`);
  let next = 0;
  const t0 = performance.now();
  async function worker() {
    while (next < texts.length) {
      const input = texts.slice(next, next + opt.batch);
      next += opt.batch;
      const r = await request("POST", `${opt.embed}/embeddings`, { model: "use-lite", input }, false);
      if (r.status !== 200) die(`the provider answered ${r.status}: ${r.text.slice(0, 200)}`);
    }
  }
  await Promise.all(Array.from({ length: opt.conns }, worker));
  const s = (performance.now() - t0) / 1000;
  result("provider_texts", texts.length);
  result("provider_s", s.toFixed(2));
  result("provider_texts_per_s", (texts.length / s).toFixed(2));
}

async function metric(name) {
  const r = await request("GET", `${opt.url}/metrics`, undefined, false);
  let sum = 0,
    n = 0;
  for (const line of r.text.split("\n"))
    if (line.startsWith(name + "{") || line.startsWith(name + " ")) {
      sum += Number(line.trim().split(/\s+/).pop());
      n++;
    }
  return n ? sum : null;
}

async function jobsBusy() {
  for (const state of ["ready", "leased"]) {
    const r = await request("GET", `${opt.url}/v1/jobs?state=${state}&limit=1`);
    if (r.status !== 200) die(`GET /v1/jobs: ${r.status} ${r.text.slice(0, 200)}`);
    if (JSON.parse(r.text).jobs.length) return true;
  }
  return false;
}

async function ingest() {
  const docs = readJsonl(opt.corpus).map((d) => ({
    id: String(d._id),
    source: "scifact",
    title: d.title || undefined,
    text: d.text,
  }));
  let next = 0;
  const t0 = performance.now();
  async function worker() {
    while (next < docs.length) {
      const batch = docs.slice(next, next + opt.batch);
      next += opt.batch;
      const r = await request("POST", `${opt.url}/v1/documents`, { documents: batch });
      if (r.status !== 202 && r.status !== 200) die(`POST /v1/documents: ${r.status} ${r.text.slice(0, 300)}`);
    }
  }
  await Promise.all(Array.from({ length: opt.conns }, worker));
  const accepted = (performance.now() - t0) / 1000;
  // Drained: no job ready or leased and no chunk pending, for 6 s on end
  // (the server caches its backlog figure for 5 s and lists only tenants
  // that have a backlog, so "no line" is 0); the time is the window's start.
  let pending = 0,
    maxPending = 0,
    polls = 0,
    since = null;
  for (;;) {
    const busy = await jobsBusy();
    pending = (await metric("lore_embed_pending_chunks")) ?? 0;
    maxPending = Math.max(maxPending, pending);
    const now = performance.now();
    if (busy || pending > 0) since = null;
    else if (since === null) since = now;
    else if (now - since >= 6000) break;
    if (++polls % 60 === 0)
      process.stderr.write(`  ${((now - t0) / 1000).toFixed(0)} s: ${pending} chunks waiting for an embedding\n`);
    await new Promise((r) => setTimeout(r, 500));
  }
  if (maxPending === 0) die("GET /metrics never showed a chunk waiting for an embedding (lore_embed_pending_chunks)");
  const done = (since - t0) / 1000;
  const chunks = await metric("lore_embed_requests_total");
  result("documents", docs.length);
  result("accepted_s", accepted.toFixed(2));
  result("max_pending_chunks", maxPending);
  result("embedded_s", done.toFixed(2));
  result("docs_per_s_embedded", (docs.length / done).toFixed(2));
  if (chunks !== null) result("embed_requests", chunks);
  const tokens = await metric("lore_embed_tokens_total");
  if (tokens !== null) result("embed_tokens", tokens);
}

async function evaluate() {
  const qrels = readQrels(opt.data);
  const queries = readJsonl(`${opt.data}/queries.jsonl`).filter((q) => qrels.has(String(q._id)));
  const mode = opt.mode;
  let ndcg = 0,
    recall = 0,
    empty = 0;
  const lat = [];
  for (const q of queries) {
    const judged = qrels.get(String(q._id));
    const params = new URLSearchParams({ q: q.text, mode, limit: "10", literal: "true", snippets: "false" });
    const t = performance.now();
    const r = await request("GET", `${opt.url}/v1/search?${params}`);
    lat.push(performance.now() - t);
    if (r.status !== 200) die(`GET /v1/search (${mode}): ${r.status} ${r.text.slice(0, 300)}`);
    const body = JSON.parse(r.text);
    if (body.mode !== undefined && body.mode !== mode) die(`asked for mode ${mode}, the answer says ${body.mode}`);
    if (body.semantic_error) die(`semantic_error: ${body.semantic_error}`);
    const hits = body.hits.map((h) => h.external_id).filter((id) => id !== String(q._id));
    if (!hits.length) empty++;
    let dcg = 0;
    hits.slice(0, 10).forEach((id, i) => (dcg += (judged.get(id) || 0) / Math.log2(i + 2)));
    const ideal = [...judged.values()].sort((a, b) => b - a).slice(0, 10);
    let idcg = 0;
    ideal.forEach((g, i) => (idcg += g / Math.log2(i + 2)));
    ndcg += idcg > 0 ? dcg / idcg : 0;
    const rel = [...judged].filter(([, g]) => g > 0).map(([d]) => d);
    recall += rel.length ? hits.slice(0, 10).filter((d) => rel.includes(d)).length / rel.length : 0;
  }
  lat.sort((a, b) => a - b);
  const label = opt.label || mode;
  result(`${label}_queries`, queries.length);
  result(`${label}_ndcg10`, (ndcg / queries.length).toFixed(4));
  result(`${label}_recall10`, (recall / queries.length).toFixed(4));
  result(`${label}_no_hit`, empty);
  result(`${label}_p50_ms`, pct(lat, 50).toFixed(2));
  result(`${label}_p99_ms`, pct(lat, 99).toFixed(2));
}

const cmds = { subset, rate, ingest, eval: evaluate };
if (!cmds[cmd]) die("usage: semantic_eval.mjs subset|rate|ingest|eval [options] (see the header)");
await cmds[cmd]();
