// The web page's weight and speed in Debian's chromium (bench/web_weight.sh
// starts and seeds the server). Prints: bytes transferred (compressed, as
// on the wire, headers included) for a cold first visit, the sign-in and
// the first search; then, on a warm server and a warm browser cache, time
// from typing a query to the first result on screen (median and worst of
// N), and from opening a shared search URL to its first result.
const { BASE, KEY, WEB_NODE, RUNS } = process.env;
const { launch } = await import(`${WEB_NODE}/browser.mjs`);

const browser = await launch();
const ctx = await browser.newContext();
const page = await ctx.newPage();
const sizes = [];
page.on('requestfinished', async r => {
  const s = await r.sizes();
  sizes.push({ url: r.url(), bytes: s.responseBodySize + s.responseHeadersSize + s.requestHeadersSize + s.requestBodySize });
});
const settle = () => page.waitForLoadState('networkidle');

await page.goto(BASE + '/');
await page.waitForSelector('#key');
await settle();
const visit = sizes.reduce((n, s) => n + s.bytes, 0);
await page.fill('#key', KEY);
await page.click('form.signin button[type=submit]');
await page.waitForSelector('#q');
await settle();
await page.fill('#q', 'otters');
await page.waitForSelector('a.hit-title');
await settle();
const total = sizes.reduce((n, s) => n + s.bytes, 0);
console.log(`first visit (page, styles, scripts): ${visit} bytes`);
console.log(`first visit + sign-in + first search: ${total} bytes in ${sizes.length} requests`);
for (const s of sizes) console.log(`  ${String(s.bytes).padStart(7)}  ${s.url.replace(BASE, '')}`);

const n = Number(RUNS || 20);
const typed = [];
for (let i = 0; i < n; i++) {
  const q = `otters paragraph ${i + 1}`;
  await page.fill('#q', '');
  await page.waitForFunction(() => !document.querySelector('a.hit-title'));
  const t0 = performance.now();
  await page.fill('#q', q);
  // the results of this query, not the previous ones still on screen
  await page.waitForFunction(w => new URL(location.href).searchParams.get('q') === w &&
    document.querySelector('#results:not([aria-busy]) a.hit-title'), q);
  typed.push(performance.now() - t0);
}
const opened = [];
for (let i = 0; i < n; i++) {
  const t0 = performance.now();
  await page.goto(`${BASE}/?q=${encodeURIComponent(`otters paragraph ${i + 1}`)}`);
  await page.waitForSelector('a.hit-title');
  opened.push(performance.now() - t0);
}
const stat = a => { a.sort((x, y) => x - y); return `median ${a[a.length >> 1].toFixed(0)} ms, worst ${a[a.length - 1].toFixed(0)} ms`; };
console.log(`time to first result after typing (200 ms debounce included), ${n} queries: ${stat(typed)}`);
console.log(`time to first result opening a shared search URL (warm cache), ${n} queries: ${stat(opened)}`);
await browser.close();
