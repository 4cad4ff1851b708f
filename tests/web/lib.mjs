// Shared by the browser tests (e2e.mjs, semantic.mjs): counting
// assertions, a watched page (dialogs, console errors, stray requests, CSP
// violations), axe-core, screenshots in both themes, sign-in and reading
// results. BASE (the server's URL) and SHOTS (the screenshot folder) come
// from the environment.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const { BASE, SHOTS } = process.env;
const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
let pass = 0, fail = 0;
export const ok = (cond, what) => { if (cond) pass++; else { fail++; console.error(`FAIL: ${what}`); } };

export async function rest(method, path, key, json) {
  const r = await fetch(BASE + path, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(json ? { 'Content-Type': 'application/json' } : {}) },
    body: json ? JSON.stringify(json) : undefined,
  });
  return { status: r.status, body: r.status === 204 ? null : await r.json().catch(() => null) };
}

// Everything a page does that it should not: dialogs, CSP violations,
// console errors, requests off this server or to markup's URLs.
export function watch(page, log) {
  page.on('dialog', d => {
    if (log.accept && d.type() === 'confirm') { log.accept = false; d.accept().catch(() => {}); return; }
    log.dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  page.on('console', m => { if (m.type() === 'error') log.errors.push(m.text()); });
  page.on('pageerror', e => log.errors.push(String(e)));
  page.on('request', r => {
    const u = r.url();
    if (!u.startsWith(BASE) || /\/(x|steal|evil)/.test(new URL(u).pathname)) log.stray.push(u);
  });
}

export async function newPage(ctx) {
  const page = await ctx.newPage();
  const log = { dialogs: [], errors: [], stray: [] };
  watch(page, log);
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', e => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  return { page, log };
}

export async function axeCheck(page, name) {
  await page.evaluate(AXE); // through the debugger protocol: the page's CSP does not apply to it
  const r = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical');
  for (const v of bad) console.error(`axe ${name}: ${v.id} (${v.impact}): ${v.nodes.map(n => n.target.join(' ')).slice(0, 3).join('; ')}`);
  ok(bad.length === 0, `axe: no serious or critical violation on ${name}`);
}

// Screenshots of the page in both themes, and axe in both (contrast differs).
// The theme follows the system setting: the page's colours differ.
export async function capture(page, name) {
  const colours = {};
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    colours[scheme] = await page.evaluate(() => { const c = getComputedStyle(document.body); return `${c.backgroundColor} ${c.color}`; });
    await page.screenshot({ path: `${SHOTS}/${name}-${scheme}.png`, fullPage: true });
    await axeCheck(page, `${name} (${scheme})`);
  }
  ok(colours.light !== colours.dark, `${name}: light and dark themes differ (${colours.light} / ${colours.dark})`);
  await page.emulateMedia({ colorScheme: 'light' });
}

export async function signIn(page, key) {
  await page.goto(BASE + '/');
  await page.fill('#key', key);
  await page.click('form.signin button[type=submit]');
  await page.waitForSelector('#bar:not([hidden])');
}

export async function hitTitles(page) {
  await page.waitForSelector('#results .summary');
  return page.$$eval('a.hit-title', as => as.map(a => a.textContent));
}

// Prints the count ("N passed, N failed") and exits non-zero on a failure.
export function finish(err) {
  if (err) { fail++; console.error(`FAIL: ${err.stack || err}`); }
  console.log(`${pass} passed, ${fail} failed`);
  process.exit(fail ? 1 : 0);
}
