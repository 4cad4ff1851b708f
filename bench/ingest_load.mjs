#!/usr/bin/env node
// Load generator for bench/ingest.sh: sends documents to `lore serve` over
// HTTP and times them through the job queue. Node 20, no dependencies.
//
//   node bench/ingest_load.mjs bulk    --url URL (--gen N | --corpus FILE) [options]
//   node bench/ingest_load.mjs latency --url URL [--count N] [--rate R] [options]
//
// bulk: batches of --batch documents (POST /v1/documents, {"documents": [...]})
// sent by --conns keep-alive connections, each sending its next batch when the
// previous one is answered (closed loop). The clock starts before the first
// request; "accepted" is the last 202, "done" the first poll after it that
// finds no job ready or leased (GET /v1/jobs?state=ready|leased&limit=1 every
// --poll-ms) and every job of the run done (GET /v1/jobs/ID). Then it checks
// that no job is dead, that the tenant holds the expected number of documents
// (GET /v1/sources) and, for generated documents, that a search for a few
// documents' unique tokens finds them.
//
// latency: --count single-document POSTs at --rate per second on a fixed
// schedule (open loop: a request is sent on time whether or not the previous
// one was answered). From each 202, a search for the document's unique token
// (GET /v1/search?q=TOKEN&limit=1&snippets=false) is repeated every --poll-ms
// until it returns the document: accept->searchable.
//
// The admin key comes from the environment (BENCH_KEY), never the command
// line. Results are printed as "result NAME VALUE" lines (times in seconds or
// milliseconds as named); anything else on stdout is commentary. Exit 1 if
// any request failed or a check did not hold.
import http from "node:http";
import fs from "node:fs";
import { performance } from "node:perf_hooks";

const argv = process.argv.slice(2);
const mode = argv.shift();
const opt = {
    url: "",
    gen: 0,
    corpus: "",
    batch: 100,
    conns: 4,
    prefix: "b",
    count: 200,
    rate: 50,
    "poll-ms": 10,
    "server-pid": 0,
    "search-conns": 16,
    timeout: 600,
};
while (argv.length) {
    const a = argv.shift();
    if (!a.startsWith("--") || !(a.slice(2) in opt)) die(`unknown argument ${a}`);
    const k = a.slice(2);
    const v = argv.shift();
    if (v === undefined) die(`${a} needs a value`);
    opt[k] = typeof opt[k] === "number" ? Number(v) : v;
    if (typeof opt[k] === "number" && !(opt[k] >= 0)) die(`${a}: not a number: ${v}`);
}
const key = process.env.BENCH_KEY || "";
if (!["bulk", "latency"].includes(mode)) die("mode is bulk or latency");
if (!opt.url || !key) die("--url and BENCH_KEY are required");
const base = new URL(opt.url);

function die(msg) {
    console.error(`ingest_load: ${msg}`);
    process.exit(2);
}

function result(name, value) {
    console.log(`result ${name} ${value}`);
}

// ---- HTTP ----

function agent(n) {
    return new http.Agent({ keepAlive: true, maxSockets: n, maxFreeSockets: n });
}

// request(agent, method, path, body) -> {status, body (string), headers}
function request(ag, method, path, body) {
    return new Promise((resolve, reject) => {
        const headers = { Authorization: `Bearer ${key}` };
        if (body) {
            headers["Content-Type"] = "application/json";
            headers["Content-Length"] = body.length;
        }
        const req = http.request(
            { host: base.hostname, port: base.port, method, path, headers, agent: ag },
            (res) => {
                const chunks = [];
                res.on("data", (c) => chunks.push(c));
                res.on("end", () =>
                    resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString(), headers: res.headers }),
                );
                res.on("error", reject);
            },
        );
        req.setTimeout(opt.timeout * 1000, () => req.destroy(new Error(`${method} ${path}: timeout`)));
        req.on("error", reject);
        if (body) req.write(body);
        req.end();
    });
}

async function getJSON(ag, path) {
    const r = await request(ag, "GET", path);
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.body.slice(0, 200)}`);
    return JSON.parse(r.body);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- CPU accounting (Linux /proc) ----

const HZ = 100; // USER_HZ; clock ticks in /proc are always 1/100 s on Linux
function procTicks(pid) {
    if (!pid) return 0;
    const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]); // utime + stime, all threads
}
function machineBusy() {
    const f = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/);
    // user nice system irq softirq steal
    return Number(f[1]) + Number(f[2]) + Number(f[3]) + Number(f[6]) + Number(f[7]) + Number(f[8]);
}
function cpuSnap() {
    return { t: performance.now(), srv: procTicks(opt["server-pid"]), all: machineBusy(), me: process.cpuUsage() };
}
function cpuReport(a, b) {
    const wall = (b.t - a.t) / 1000;
    const srv = (b.srv - a.srv) / HZ;
    const me = (b.me.user - a.me.user + b.me.system - a.me.system) / 1e6;
    const others = Math.max(0, (b.all - a.all) / HZ - srv - me);
    result("server_cpu_s", srv.toFixed(2));
    result("server_cores", (srv / wall).toFixed(2));
    result("client_cpu_s", me.toFixed(2));
    result("other_cores", (others / wall).toFixed(2));
}

// ---- documents ----

// xorshift64*, fixed seeds: the same corpus every run.
function rng(seed) {
    let x = BigInt(seed) | 1n;
    const M = (1n << 64n) - 1n;
    return () => {
        x ^= x >> 12n;
        x ^= (x << 25n) & M;
        x ^= x >> 27n;
        return Number(((x * 0x2545f4914f6cdd1dn) & M) >> 11n) / 2 ** 53;
    };
}

// A token no other document has: "qz", the prefix, the number in base 26 (6
// letters) and a final "x" ("qzbaaaabx"): lower-case letters only, so the
// analyzer keeps it one word, and no English suffix ends in "x", so the
// stemmer leaves it whole (without it "...xpy" and "...xpi" both stem to
// "...xpi").
function token(prefix, i) {
    let s = "";
    for (let k = 0; k < 6; k++) {
        s = String.fromCharCode(97 + (i % 26)) + s;
        i = Math.floor(i / 26);
    }
    return `qz${prefix}${s}x`;
}

const vocab = (() => {
    const r = rng(42);
    const words = [];
    const seen = new Set();
    while (words.length < 20000) {
        const len = 3 + Math.floor(r() * 8);
        let w = "";
        for (let k = 0; k < len; k++) w += String.fromCharCode(97 + Math.floor(r() * 26));
        if (w.startsWith("qz") || seen.has(w)) continue;
        seen.add(w);
        words.push(w);
    }
    return words;
})();

// Zipf-like draw (s = 1) from the vocabulary: inverse of a log-uniform rank.
function word(r) {
    const rank = Math.floor(Math.exp(r() * Math.log(vocab.length + 1))) - 1;
    return vocab[Math.min(rank, vocab.length - 1)];
}

// Small documents: a 3-6 word title, a 20-60 word text holding the unique token.
function genDoc(r, prefix, i) {
    const nt = 3 + Math.floor(r() * 4);
    const nw = 20 + Math.floor(r() * 41);
    const title = [];
    for (let k = 0; k < nt; k++) title.push(word(r));
    const text = [];
    const at = Math.floor(r() * nw);
    for (let k = 0; k < nw; k++) text.push(k === at ? token(prefix, i) : word(r));
    return { id: `${prefix}${i}`, title: title.join(" "), text: text.join(" ") + "." };
}

function loadCorpus(path) {
    const docs = [];
    for (const line of fs.readFileSync(path, "utf8").split("\n")) {
        if (!line.trim()) continue;
        const d = JSON.parse(line);
        docs.push({ id: String(d._id), title: d.title || null, text: d.text || "" });
    }
    return docs;
}

function quantile(sorted, q) {
    // nearest rank
    if (!sorted.length) return NaN;
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

// ---- bulk ----

async function pending(ag) {
    for (const state of ["ready", "leased"]) {
        const j = await getJSON(ag, `/v1/jobs?state=${state}&limit=1`);
        if (j.jobs.length) return true;
    }
    return false;
}

async function bulk() {
    let docs;
    if (opt.corpus) docs = loadCorpus(opt.corpus);
    else if (opt.gen > 0) {
        const r = rng(7);
        docs = [];
        for (let i = 0; i < opt.gen; i++) docs.push(genDoc(r, opt.prefix, i));
    } else die("bulk needs --gen N or --corpus FILE");
    const bodies = [];
    let bytes = 0;
    for (let i = 0; i < docs.length; i += opt.batch) {
        const b = Buffer.from(JSON.stringify({ documents: docs.slice(i, i + opt.batch) }));
        bytes += b.length;
        bodies.push(b);
    }
    const ids = new Set(docs.map((d) => d.id));
    console.log(
        `  ${docs.length} documents (${ids.size} distinct ids), ${bodies.length} requests of up to ${opt.batch},` +
            ` ${(bytes / 1e6).toFixed(1)} MB of JSON, ${opt.conns} connections`,
    );
    const ag = agent(opt.conns);
    const pollAg = agent(1);
    // The clock starts at the first request, as a client would see it: the
    // agent opens the connections on demand, inside the clock.
    const lat = [];
    const jobs = [];
    let next = 0;
    let failures = 0;
    let firstErr = "";
    const c0 = cpuSnap();
    const t0 = performance.now();
    async function sender() {
        while (next < bodies.length) {
            const i = next++;
            const ts = performance.now();
            let r;
            try {
                r = await request(ag, "POST", "/v1/documents", bodies[i]);
            } catch (e) {
                failures++;
                firstErr ||= String(e);
                continue;
            }
            lat.push(performance.now() - ts);
            if (r.status !== 202) {
                failures++;
                firstErr ||= `POST: ${r.status} ${r.body.slice(0, 300)}`;
                continue;
            }
            jobs.push(JSON.parse(r.body).job.id);
        }
    }
    await Promise.all(Array.from({ length: opt.conns }, sender));
    const tAccept = performance.now();
    // Listings of ready and leased jobs have been seen empty (on SQLite, at
    // load average 13) while jobs of the run were still leased: done also
    // needs each of this run's jobs to read as done, checked in order from
    // the first one not seen done yet.
    let checked = 0;
    const allDone = async () => {
        for (; checked < jobs.length; checked++) {
            const j = await getJSON(pollAg, `/v1/jobs/${jobs[checked]}`);
            if (j.state !== "done") return false;
        }
        return true;
    };
    while ((await pending(pollAg)) || !(await allDone())) await sleep(opt["poll-ms"]);
    const tDone = performance.now();
    const c1 = cpuSnap();
    if (failures) {
        console.error(`ingest_load: ${failures} requests failed; first: ${firstErr}`);
    }
    const acceptS = (tAccept - t0) / 1000;
    const doneS = (tDone - t0) / 1000;
    lat.sort((a, b) => a - b);
    result("documents", docs.length);
    result("requests", bodies.length);
    result("failed_requests", failures);
    result("mb", (bytes / 1e6).toFixed(2));
    result("accept_s", acceptS.toFixed(3));
    result("accept_docs_per_s", (docs.length / acceptS).toFixed(0));
    result("accept_req_per_s", (bodies.length / acceptS).toFixed(1));
    result("post_p50_ms", quantile(lat, 0.5).toFixed(2));
    result("post_p99_ms", quantile(lat, 0.99).toFixed(2));
    result("done_s", doneS.toFixed(3));
    result("docs_per_s", (docs.length / doneS).toFixed(0));
    result("drain_s", ((tDone - tAccept) / 1000).toFixed(3));
    cpuReport(c0, c1);

    // ---- checks (outside the clock) ----
    let ok = !failures;
    const dead = await getJSON(pollAg, "/v1/jobs?state=dead&limit=5");
    if (dead.jobs.length) {
        ok = false;
        console.error(`ingest_load: dead jobs, e.g. ${dead.jobs[0].id}: ${dead.jobs[0].error}`);
    }
    // Every job of this run done (sampled: about 20 spread over the ids).
    jobs.sort((a, b) => a - b);
    for (let k = 0; k < jobs.length; k += Math.max(1, Math.floor(jobs.length / 20))) {
        const j = await getJSON(pollAg, `/v1/jobs/${jobs[k]}`);
        if (j.state !== "done") {
            ok = false;
            console.error(`ingest_load: job ${j.id} is ${j.state}`);
        }
    }
    // Failed attempts (retried): a valid document should never need one.
    const metrics = (await request(pollAg, "GET", "/metrics")).body;
    const counter = (name) =>
        metrics
            .split("\n")
            .filter((l) => l.startsWith(name + "{") || l.startsWith(name + " "))
            .reduce((s, l) => s + Number(l.split(" ").pop()), 0);
    const retries = counter("lore_job_retries_total");
    result("retries", retries);
    result("leases_lost", counter("lore_job_leases_lost_total"));
    if (retries) console.error(`ingest_load: ${retries} job attempts failed and were retried`);
    const src = await getJSON(pollAg, "/v1/sources");
    const n = src.sources.reduce((s, x) => s + x.documents, 0);
    result("tenant_documents", n);
    if (n < ids.size) {
        ok = false;
        console.error(`ingest_load: the tenant holds ${n} documents, expected at least ${ids.size}`);
    }
    if (!opt.corpus) {
        const r = rng(99);
        for (let k = 0; k < 10; k++) {
            const i = Math.floor(r() * docs.length);
            const s = await getJSON(pollAg, `/v1/search?q=${token(opt.prefix, i)}&limit=3&snippets=false`);
            if (!s.hits.length || s.hits[0].external_id !== docs[i].id) {
                ok = false;
                console.error(`ingest_load: searching ${token(opt.prefix, i)} did not find ${docs[i].id}`);
            }
        }
    }
    ag.destroy();
    pollAg.destroy();
    return ok;
}

// ---- latency ----

async function latency() {
    const r = rng(11);
    const docs = [];
    for (let i = 0; i < opt.count; i++) docs.push(genDoc(r, opt.prefix, i));
    const ag = agent(64);
    const sag = agent(opt["search-conns"]);
    const accept = []; // POST -> 202, ms
    const searchable = []; // 202 -> first search that returns the document, ms
    const polls = [];
    let failures = 0;
    let firstErr = "";
    const interval = 1000 / opt.rate;
    const c0 = cpuSnap();
    const t0 = performance.now();
    async function one(i) {
        const due = t0 + i * interval;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        const ts = performance.now();
        let res;
        try {
            res = await request(ag, "POST", "/v1/documents", Buffer.from(JSON.stringify(docs[i])));
        } catch (e) {
            failures++;
            firstErr ||= String(e);
            return;
        }
        const ta = performance.now();
        if (res.status !== 202) {
            failures++;
            firstErr ||= `POST: ${res.status} ${res.body.slice(0, 300)}`;
            return;
        }
        accept.push(ta - ts);
        const q = `/v1/search?q=${token(opt.prefix, i)}&limit=1&snippets=false`;
        for (let n = 1; ; n++) {
            const s = await getJSON(sag, q);
            if (s.hits.length && s.hits[0].external_id === docs[i].id) {
                searchable.push(performance.now() - ta);
                polls.push(n);
                return;
            }
            if (performance.now() - ta > 60000) {
                failures++;
                firstErr ||= `document ${docs[i].id} not searchable after 60 s`;
                return;
            }
            await sleep(opt["poll-ms"]);
        }
    }
    await Promise.all(docs.map((_, i) => one(i)));
    const c1 = cpuSnap();
    if (failures) console.error(`ingest_load: ${failures} failures; first: ${firstErr}`);
    accept.sort((a, b) => a - b);
    searchable.sort((a, b) => a - b);
    const wall = (c1.t - t0) / 1000;
    result("documents", docs.length);
    result("failed", failures);
    result("sent_per_s", (docs.length / wall).toFixed(1));
    result("accept_p50_ms", quantile(accept, 0.5).toFixed(2));
    result("accept_p99_ms", quantile(accept, 0.99).toFixed(2));
    result("searchable_p50_ms", quantile(searchable, 0.5).toFixed(1));
    result("searchable_p90_ms", quantile(searchable, 0.9).toFixed(1));
    result("searchable_p99_ms", quantile(searchable, 0.99).toFixed(1));
    result("searchable_max_ms", searchable[searchable.length - 1].toFixed(1));
    result("searchable_mean_ms", (searchable.reduce((s, x) => s + x, 0) / searchable.length).toFixed(1));
    result("polls_mean", (polls.reduce((s, x) => s + x, 0) / polls.length).toFixed(1));
    cpuReport(c0, c1);
    ag.destroy();
    sag.destroy();
    return !failures;
}

const ok = await (mode === "bulk" ? bulk() : latency());
process.exit(ok ? 0 : 1);
