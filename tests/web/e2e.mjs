// The web page end to end, in Debian's chromium against a real `lore serve`
// (started and seeded by tests/cli/web.sh). Environment: BASE (the
// server's URL), ADMIN (an admin key), BOB_DOC (the id of a document only
// user:bob may see), XSS_DOC (a document full of markup), DEAD_JOB (a dead
// job's id), SHOTS (where screenshots go). Prints "N passed, N failed".
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { launch } from './browser.mjs';

const { BASE, ADMIN, BOB_DOC, XSS_DOC, DEAD_JOB, SHOTS } = process.env;
const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
let pass = 0, fail = 0;
const ok = (cond, what) => { if (cond) pass++; else { fail++; console.error(`FAIL: ${what}`); } };

async function rest(method, path, key, json) {
  const r = await fetch(BASE + path, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(json ? { 'Content-Type': 'application/json' } : {}) },
    body: json ? JSON.stringify(json) : undefined,
  });
  return { status: r.status, body: r.status === 204 ? null : await r.json().catch(() => null) };
}

// Everything a page does that it should not: dialogs, CSP violations,
// console errors, requests off this server or to markup's URLs.
function watch(page, log) {
  page.on('dialog', d => { log.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on('console', m => { if (m.type() === 'error') log.errors.push(m.text()); });
  page.on('pageerror', e => log.errors.push(String(e)));
  page.on('request', r => {
    const u = r.url();
    if (!u.startsWith(BASE) || /\/(x|steal|evil)/.test(new URL(u).pathname)) log.stray.push(u);
  });
}

async function newPage(ctx) {
  const page = await ctx.newPage();
  const log = { dialogs: [], errors: [], stray: [] };
  watch(page, log);
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', e => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  return { page, log };
}

async function axeCheck(page, name) {
  await page.evaluate(AXE); // through the debugger protocol: the page's CSP does not apply to it
  const r = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical');
  for (const v of bad) console.error(`axe ${name}: ${v.id} (${v.impact}): ${v.nodes.map(n => n.target.join(' ')).slice(0, 3).join('; ')}`);
  ok(bad.length === 0, `axe: no serious or critical violation on ${name}`);
}

// Screenshots of the page in both themes, and axe in both (contrast differs).
async function capture(page, name) {
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.screenshot({ path: `${SHOTS}/${name}-${scheme}.png`, fullPage: true });
    await axeCheck(page, `${name} (${scheme})`);
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

async function signIn(page, key) {
  await page.goto(BASE + '/');
  await page.fill('#key', key);
  await page.click('form.signin button[type=submit]');
  await page.waitForSelector('#bar:not([hidden])');
}

async function hitTitles(page) {
  await page.waitForSelector('#results .summary');
  return page.$$eval('a.hit-title', as => as.map(a => a.textContent));
}

async function main() {
  const browser = await launch();
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const { page, log } = await newPage(ctx);

  // ---- sign in: the key goes to POST /v1/session and nowhere else
  await page.goto(BASE + '/');
  await page.waitForSelector('#key');
  await capture(page, 'signin');
  await page.fill('#key', 'lore_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
  await page.click('form.signin button[type=submit]');
  await page.waitForSelector('#signin-msg .error');
  ok((await page.textContent('#signin-msg')).includes('refused'), 'a wrong key is refused with the server\'s message');
  await signIn(page, ADMIN);
  const stored = await page.evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie);
  ok(!stored.includes('lore_'), 'no key or session id readable by the page (HttpOnly, nothing stored)');
  const cookies = await ctx.cookies();
  const sc = cookies.find(c => c.name === 'lore_session');
  ok(sc && sc.httpOnly && sc.sameSite === 'Strict', 'the session cookie is HttpOnly and SameSite=Strict');

  // ---- search as you type, open a hit, the passage highlighted
  await page.fill('#q', 'otters rivers');
  const t0 = Date.now();
  let titles = await hitTitles(page);
  ok(titles.includes('Otter handbook'), `search finds the handbook (got ${titles})`);
  console.log(`first result after typing: ${Date.now() - t0} ms`);
  ok((await page.$$('#results .snippet mark')).length > 0, 'snippets carry highlighted words');
  ok(new URL(page.url()).searchParams.get('q') === 'otters rivers', 'the URL carries the query');
  const facetCount = await page.$$eval('.facet', fs => fs.map(f => f.textContent));
  ok(facetCount.some(f => /wiki\s*\d+/.test(f)), `source facets with counts (${facetCount})`);
  await capture(page, 'search');
  // keyboard: / focuses the box, ArrowDown moves into the results, Enter opens
  await page.evaluate(() => document.activeElement.blur());
  await page.keyboard.press('/');
  ok(await page.evaluate(() => document.activeElement.id === 'q'), '/ focuses the search box');
  await page.keyboard.press('ArrowDown');
  ok(await page.evaluate(() => document.activeElement.classList.contains('hit-title')), 'ArrowDown reaches the first result');
  const shared = page.url();
  const first = await page.evaluate(() => document.activeElement.textContent);
  await page.keyboard.press('Enter');
  await page.waitForSelector('article.doc');
  ok((await page.textContent('article.doc h1')) === first, 'Enter opens the result');
  const passage = await page.$('mark.passage');
  ok(passage !== null, 'the hit passage is highlighted');
  if (passage) {
    const inView = await passage.evaluate(el => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight + r.height; });
    ok(inView, 'the passage is scrolled into view');
    ok((await passage.textContent()).includes('rivers'), 'the passage is the matching one');
  }
  await capture(page, 'document');
  // the shared URL in a new page gives the same results
  {
    const { page: p2 } = await newPage(ctx);
    await p2.goto(shared);
    const again = await hitTitles(p2);
    ok(JSON.stringify(again) === JSON.stringify(titles), `a shared search URL gives the same results (${again} vs ${titles})`);
    await p2.close();
  }
  ok(await page.isHidden('.mode'), 'no mode switch on a server without semantic search');
  // paging: 13 walrus documents, 10 a page; the URL carries the page
  await page.goto(`${BASE}/?q=walrus`);
  ok((await hitTitles(page)).length === 10, 'the first page holds 10 results');
  await page.click('.pager button[data-dir=next]');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('cursor'));
  await page.waitForFunction(() => document.querySelectorAll('a.hit-title').length === 3);
  const page2 = page.url();
  ok(await page.$eval('.hitlist', l => l.start === 11), 'the second page is numbered on');
  await page.click('.pager button[data-dir=prev]');
  await page.waitForFunction(() => document.querySelectorAll('a.hit-title').length === 10);
  await page.goto(page2);
  ok((await hitTitles(page)).length === 3, 'a page\'s URL opens that page');
  // facets and date range filter
  await page.goto(shared);
  await hitTitles(page);
  await page.check('.facet input[value=notes]');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('source') === 'notes');
  titles = await hitTitles(page);
  ok(titles.every(t => t !== 'Otter handbook'), 'a source facet filters the results');
  await page.goto(BASE + '/?q=otters&until=2020-01-01');
  titles = await hitTitles(page);
  ok(!titles.includes('Otter handbook'), 'the date range filters the results');

  // ---- XSS: markup in a document stays text
  log.dialogs.length = 0;
  await page.goto(`${BASE}/?q=payload`);
  await hitTitles(page);
  await page.goto(`${BASE}/?view=doc&id=${XSS_DOC}&q=payload`);
  await page.waitForSelector('article.doc');
  await page.waitForTimeout(300);
  const h1 = await page.textContent('article.doc h1');
  ok(h1.includes('<script>') && h1.includes('onerror'), 'the title is shown as the text it is');
  ok((await page.$$('article.doc script, article.doc img, #results img')).length === 0, 'no element made from a document');
  const hrefs = await page.$$eval('a[href]', as => as.map(a => a.getAttribute('href')));
  ok(hrefs.every(h => !/^\s*javascript:/i.test(h)), `no javascript: link (${hrefs})`);
  ok(await page.$$eval('article.doc a', as => as.every(a => a.hasAttribute('href'))), 'an unsafe URL is shown as text, not as a dead link');
  ok(log.dialogs.length === 0, `no dialog (${log.dialogs})`);
  ok(log.stray.length === 0, `no request off the page's own (${log.stray})`);
  ok((await page.evaluate(() => window.__csp)).length === 0, 'the CSP reports nothing');
  await capture(page, 'document-xss');

  // ---- upload three formats by drag and drop; each becomes searchable
  await page.goto(BASE + '/?view=upload');
  await page.waitForSelector('.dropzone');
  await capture(page, 'upload-empty');
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['# Quokka notes\n\nThe quokkamd word lives here.\n'], 'quokka.md', { type: 'text/markdown' }));
    dt.items.add(new File(['<html><head><title>Quokka page</title></head><body><p>The quokkahtml word.</p></body></html>'], 'quokka.html', { type: 'text/html' }));
    dt.items.add(new File(['Plain quokkatxt words in a text file.\n'], 'quokka.txt', { type: 'text/plain' }));
    document.querySelector('.dropzone').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await page.waitForFunction(() => document.querySelectorAll('.upload.done, .upload.failed').length === 3, null, { timeout: 60000 });
  ok((await page.$$('.upload.done')).length === 3, 'three uploads become searchable');
  ok((await page.$$eval('.upload progress', ps => ps.every(p => p.value === 100))), 'each has its own progress bar, full');
  await capture(page, 'upload');
  for (const w of ['quokkamd', 'quokkahtml', 'quokkatxt']) {
    await page.goto(`${BASE}/?q=${w}`);
    ok((await hitTitles(page)).length === 1, `the uploaded ${w} is found`);
  }
  // an upload the server refuses shows its message
  await page.goto(BASE + '/?view=upload');
  await page.fill('#source', 'bad source!');
  await page.setInputFiles('#files', { name: 'x.txt', mimeType: 'text/plain', buffer: Buffer.from('x') });
  await page.waitForSelector('.upload.failed .error');
  ok((await page.textContent('.upload.failed .error')).includes('source'), 'a refused upload shows the server\'s message');

  // ---- admin pages
  for (const tab of ['keys', 'jobs', 'connectors', 'tenant', 'mcp']) {
    await page.goto(`${BASE}/?view=admin&tab=${tab}`);
    await page.waitForSelector('section.tab h2');
    await page.waitForLoadState('networkidle');
    ok((await page.$$('section.tab .error')).length === 0, `admin ${tab} loads`);
    await capture(page, `admin-${tab}`);
  }
  await page.goto(`${BASE}/?view=admin&tab=connectors`);
  await page.waitForSelector('section.tab code');
  ok((await page.textContent('section.tab')).includes('/v1/hooks/'), 'connectors show their webhook URLs');
  await page.goto(`${BASE}/?view=admin&tab=mcp`);
  await page.waitForSelector('section.tab pre');
  const mcp = await page.textContent('section.tab');
  ok(mcp.includes('Claude Desktop') && mcp.includes('claude mcp add') && mcp.includes('Cursor') && mcp.includes(`${BASE}/mcp`), 'MCP configurations for three clients');

  // a dead job retried from the page
  const before = await rest('GET', `/v1/jobs/${DEAD_JOB}`, ADMIN);
  await page.goto(`${BASE}/?view=admin&tab=jobs`);
  await page.waitForSelector(`tr[data-job="${DEAD_JOB}"]`);
  ok((await page.textContent(`tr[data-job="${DEAD_JOB}"] .err`)).length > 0, 'a dead letter shows its error');
  await page.click(`tr[data-job="${DEAD_JOB}"] button`);
  await page.waitForFunction(() => document.getElementById('announce').textContent.includes('queued again'));
  const after = await rest('GET', `/v1/jobs/${DEAD_JOB}`, ADMIN);
  ok(after.body.state !== 'dead' || after.body.finished_at !== before.body.finished_at, `the job was retried (${before.body.finished_at} -> ${after.body.state} ${after.body.finished_at})`);

  // a read key for user:alice, made on the page, shown once
  await page.goto(`${BASE}/?view=admin&tab=keys`);
  await page.waitForSelector('#k-name');
  await page.fill('#k-name', 'alice reader');
  await page.fill('#k-principals', 'user:alice@acme.test');
  await page.click('form.card button[type=submit]');
  await page.waitForSelector('#new-secret');
  const secret = await page.textContent('#new-secret');
  ok(/^lore_[0-9a-f]{12}_/.test(secret), 'the new key is shown once');
  await capture(page, 'admin-keys-created');
  await page.click('#signout');
  await page.waitForSelector('#key');
  ok(!(await ctx.cookies()).some(c => c.name === 'lore_session' && c.value), 'sign-out clears the cookie');

  await signIn(page, secret);
  ok(await page.isHidden('nav a[data-view=admin]'), 'a read key sees no admin link');
  await page.goto(`${BASE}/?q=otter`);
  titles = await hitTitles(page);
  ok(titles.includes('Otter handbook') && !titles.includes('Bob otter diary'), `the ACL hides Bob's document (${titles})`);
  await page.goto(`${BASE}/?view=doc&id=${BOB_DOC}`);
  await page.waitForSelector('main .error');
  ok((await page.textContent('main .error')).includes('No such document'), 'opening the hidden document by id fails as not found');
  // revoked: signed out at the next request
  const r = await rest('DELETE', `/v1/keys/${secret.slice(5, 17)}`, ADMIN);
  ok(r.status === 204, 'the key is revoked');
  await page.goto(`${BASE}/?q=otter`);
  await page.waitForSelector('#key');
  ok((await page.textContent('#signin-msg')).includes('revoked'), 'a revoked key is signed out at the next request, and told why');

  // ---- CSRF: another site posts a form to lore with the browser's cookie
  await signIn(page, ADMIN);
  const attacker = createServer((req, res) => {
    res.setHeader('Content-Type', 'text/html');
    res.end(`<form id=f method=POST action="${BASE}/v1/documents" enctype="text/plain">
      <input name='{"id":"csrf","text":"planted","x":"' value='"}'></form>
      <script>document.getElementById('f').submit()</script>`);
  });
  await new Promise(res => attacker.listen(0, 'localhost', res));
  const evil = `http://localhost:${attacker.address().port}/`;
  const csrfResp = page.waitForResponse(x => x.url() === `${BASE}/v1/documents`);
  await page.goto(evil);
  const cr = await csrfResp;
  ok(cr.status() === 401 || cr.status() === 403, `a cross-site form post is refused (${cr.status()})`);
  attacker.close();
  const planted = await rest('GET', '/v1/search?q=planted', ADMIN);
  ok(planted.body.hits.length === 0, 'nothing was written by it');

  // ---- a phone-sized screen
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const { page: pp } = await newPage(phone);
  await signIn(pp, ADMIN);
  await pp.goto(`${BASE}/?q=otters`);
  await hitTitles(pp);
  const wide = await pp.evaluate(() => document.documentElement.scrollWidth <= innerWidth + 1);
  ok(wide, 'no sideways scrolling on a phone');
  await capture(pp, 'phone-search');

  ok(log.errors.filter(e => !/401|403|404|400/.test(e)).length === 0, `no script errors (${log.errors})`);
  await browser.close();
}

try {
  await main();
} catch (e) {
  fail++;
  console.error(`FAIL: ${e.stack || e}`);
}
console.log(`${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
