// The web page end to end, in Debian's chromium against a real `lore serve`
// (started and seeded by tests/cli/web.sh). Environment: BASE (the
// server's URL), ADMIN (an admin key), BOB_DOC (the id of a document only
// user:bob may see), XSS_DOC (a document full of markup), DEAD_JOB (a dead
// job's id), SHOTS (where screenshots go), SRC (the source tree, for a
// sample DOCX), DATA (the server's data directory); BASE2, ADMIN2, DATA2:
// a second server, without workers; LORE (the binary, for `lore worker`). Prints "N passed, N failed".
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { launch } from './browser.mjs';
import { capture, finish, hitTitles, newPage, ok, rest, signIn } from './lib.mjs';

const { BASE, ADMIN, BOB_DOC, XSS_DOC, DEAD_JOB, SRC, DATA, BASE2, ADMIN2, DATA2, LORE } = process.env;
async function main() {
  const browser = await launch();
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 800 }, permissions: ['clipboard-read', 'clipboard-write'] });
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

  // ---- search as you type (debounced), open a hit, the passage highlighted
  // Thirteen keystrokes in one task: a debounced box searches once, for
  // the whole text (one request per keystroke without the debounce).
  const searches = [];
  const onReq = r => { if (new URL(r.url()).pathname === '/v1/search') searches.push(new URL(r.url()).searchParams.get('q')); };
  page.on('request', onReq);
  await page.waitForSelector('#q');
  const t0 = Date.now();
  await page.evaluate(text => {
    const q = document.getElementById('q');
    for (let i = 1; i <= text.length; i++) { q.value = text.slice(0, i); q.dispatchEvent(new Event('input', { bubbles: true })); }
  }, 'otters rivers');
  let titles = await hitTitles(page);
  await page.waitForTimeout(400);
  page.off('request', onReq);
  ok(searches.length === 1 && searches[0] === 'otters rivers', `typing searches once, debounced (${JSON.stringify(searches)})`);
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
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowUp');
  ok(await page.evaluate(() => document.activeElement.getAttribute('data-index') === '0'), 'ArrowUp moves back up the results');
  await page.keyboard.press('ArrowUp');
  ok(await page.evaluate(() => document.activeElement.id === 'q'), 'ArrowUp from the first result returns to the box');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Escape');
  ok(await page.evaluate(() => document.activeElement.id === 'q'), 'Esc goes back to the box');
  await page.keyboard.press('ArrowDown');
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
  const fields = await page.textContent('dl.fields');
  ok(fields.includes('wiki') && fields.includes('Ann') && fields.includes('handbook'), `the document's fields are shown (${fields.slice(0, 200)})`);
  ok(await page.$('dl.fields a[href="https://wiki.acme.test/otters"]') !== null, 'a link to the document\'s source');
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
  // a link made where semantic search exists, opened here: searched the
  // server's own way, the switch still hidden, the passage still found
  await page.goto(`${BASE}/?q=${encodeURIComponent('otters rivers')}&mode=semantic`);
  ok(JSON.stringify(await hitTitles(page)) === JSON.stringify(titles) && await page.isHidden('.mode'), 'a semantic link without an embedder gives the lexical results, no switch');
  const hid = new URL(await page.$eval('a.hit-title', a => a.href)).searchParams.get('id');
  await page.goto(`${BASE}/?view=doc&id=${hid}&q=${encodeURIComponent('otters rivers')}&mode=semantic`);
  await page.waitForSelector('article.doc');
  ok(await page.$('mark.passage') !== null && await page.$('main .error') === null, 'and a semantic document link shows its passage');
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
  // focus order: skip link, the bar, the search box, the filters, the results
  await page.goto(`${BASE}/?q=otters`);
  await hitTitles(page);
  await page.focus('a.skip');
  const order = [];
  for (let i = 0; i < 40 && !order.includes('hit'); i++) {
    await page.keyboard.press('Tab');
    order.push(await page.evaluate(() => {
      const e = document.activeElement;
      if (e.classList.contains('hit-title')) return 'hit';
      if (e.closest('.facet')) return 'facet';
      if (e.closest('#bar')) return 'bar';
      return e.id || e.tagName.toLowerCase();
    }));
  }
  const at = x => order.indexOf(x);
  ok(at('bar') === 0 && at('bar') < at('q') && at('q') < at('facet') && at('facet') < at('since') && at('since') < at('until') && at('until') < at('hit'),
    `Tab goes through the bar, the box, the filters, then the results (${order})`);
  await page.focus('a.skip');
  const reqs = [];
  const onSkip = r => reqs.push(r.url());
  page.on('request', onSkip);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement.id === 'main');
  page.off('request', onSkip);
  ok(reqs.length === 0, `the skip link moves focus to the content without reloading the view (${reqs})`);

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
  await page.goto(BASE + '/?q=otters&since=2026-02-01&until=2026-04-01');
  titles = await hitTitles(page);
  ok(JSON.stringify(titles) === '["Otter handbook"]', `a date range around its date keeps only the handbook (${titles})`);
  await page.goto(BASE + '/?q=' + encodeURIComponent('otters -secret'));
  titles = await hitTitles(page);
  ok(titles.includes('Otter handbook') && !titles.includes('Bob otter diary'), `the query syntax works in the box (-secret: ${titles})`);
  await page.goto(BASE + '/?q=' + encodeURIComponent('title:diary otters'));
  titles = await hitTitles(page);
  ok(JSON.stringify(titles) === '["Bob otter diary"]', `title: limits to titles (${titles})`);

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
  // Bidirectional overrides in a document's strings reorder those strings
  // only: the hit's meta line keeps its order and its date reads 2026-05-04,
  // not 40-50-6202, whatever an author's right-to-left override.
  {
    const rlo = '\u202e';
    const put = await rest('POST', '/v1/documents?wait=10', ADMIN, { source: 'wiki', id: 'bidi', title: `${rlo}gnirts desrever bidi`, author: `Mallory${rlo}`, updated_at: '2026-05-04T10:00:00Z', text: 'bidiprobe text of the override document' });
    ok(put.status === 200 || put.status === 201, `the bidi document is stored (${put.status})`);
    await page.goto(`${BASE}/?q=bidiprobe`);
    await hitTitles(page);
    const order = await page.$eval('#results .hit-meta', m => {
      // where a substring of the line is drawn, whatever elements hold it
      const at = word => {
        const w = document.createTreeWalker(m, NodeFilter.SHOW_TEXT);
        for (let n = w.nextNode(); n; n = w.nextNode()) {
          const i = n.data.indexOf(word);
          if (i < 0) continue;
          const r = document.createRange();
          r.setStart(n, i);
          r.setEnd(n, i + word.length);
          return r.getBoundingClientRect().left;
        }
        return null;
      };
      return { author: at('Mallory'), year: at('2026'), day: at('05-04') };
    });
    ok(order.author !== null && order.year > order.author && order.day > order.year, `an override in the author neither moves nor reverses the date after it (${JSON.stringify(order)})`);
    ok(await page.$('#results a.hit-title bdi') !== null, 'the hit title is an isolated run');
    await page.click('#results a.hit-title');
    await page.waitForSelector('article.doc');
    ok(await page.$$eval('article.doc h1 bdi, dl.fields dd bdi', b => b.length >= 3), 'the document\'s title and fields are isolated runs');
    ok((await page.title()).startsWith('\u2068') && (await page.title()).includes('\u2069 · lore'), 'the page title isolates the document title');
  }
  // The watch is live: markup put into a page the way an HTML-parsing bug
  // would (an inline script, an inline handler) is blocked by the CSP and
  // reported. Done in a page of its own, closed after.
  {
    const { page: p3, log: l3 } = await newPage(ctx);
    await p3.goto(`${BASE}/?view=doc&id=${XSS_DOC}`);
    await p3.waitForSelector('article.doc');
    await p3.evaluate(() => {
      const d = document.createElement('div');
      d.innerHTML = '<img src="/x-probe" onerror="window.__ran = 1">'; // what the page never does
      document.body.append(d);
      const sc = document.createElement('script');
      sc.textContent = 'window.__ran = 2';
      document.body.append(sc);
    });
    await p3.waitForFunction(() => window.__csp.length >= 2);
    ok(await p3.evaluate(() => window.__ran === undefined), 'the CSP blocks inline script and handlers');
    ok((await p3.evaluate(() => window.__csp)).some(v => v.startsWith('script-src')), 'and reports them (the watch would see a violation)');
    ok(l3.stray.some(u => u.includes('/x-probe')), 'and a stray request would be seen too');
    await p3.close();
  }
  // dom.js's h(): element and attribute allow-lists, hrefs through safeUrl
  {
    const r = await page.evaluate(async () => {
      const src = document.querySelector('script[type=module]').src;
      const dom = await import(src.replace(/app\.js$/, 'dom.js'));
      const throws = f => { try { f(); return false; } catch { return true; } };
      const href = u => dom.h('a', { href: u }).getAttribute('href');
      return {
        script: throws(() => dom.h('script', null, 'alert(1)')),
        iframe: throws(() => dom.h('iframe', { src: '/x' })),
        img: throws(() => dom.h('img', { src: '/x' })),
        onclickStr: throws(() => dom.h('div', { onclick: 'alert(1)' })),
        onclickFn: throws(() => dom.h('div', { onclick: () => 1 })),
        onerrorUpper: throws(() => dom.h('div', { ONERROR: 'alert(1)' })),
        style: throws(() => dom.h('div', { style: 'color:red' })),
        srcdoc: throws(() => dom.h('div', { srcdoc: '<b>' })),
        formaction: throws(() => dom.h('button', { formaction: 'javascript:alert(1)' })),
        xlink: throws(() => dom.h('a', { 'xlink:href': 'javascript:alert(1)' })),
        js: href('javascript:alert(1)'), jsMixed: href(' JaVaScRiPt:alert(1)'), jsTab: href('java\tscript:alert(1)'),
        data: href('data:text/html,<script>alert(1)</script>'), vb: href('vbscript:msgbox(1)'),
        backslash: href('/\\evil.test/x'),
        https: href('https://example.test/a'), mailto: href('mailto:a@example.test'), path: href('/?view=doc'),
        ok: dom.h('div', { 'data-x': '1', 'aria-label': 'y', class: 'c', text: 'hi' }).outerHTML,
        blank: dom.h('a', { href: 'https://example.test/', target: '_blank' }).getAttribute('rel'),
      };
    });
    ok(r.script && r.iframe && r.img, `h() refuses script, iframe and img elements (${r.script} ${r.iframe} ${r.img})`);
    ok(r.onclickStr && r.onclickFn && r.onerrorUpper, 'h() refuses on* attributes, as strings or functions');
    ok(r.style && r.srcdoc && r.formaction && r.xlink, 'h() refuses style, srcdoc, formaction and xlink:href');
    ok([r.js, r.jsMixed, r.jsTab, r.data, r.vb].every(x => x === null), `h() drops javascript:, data: and vbscript: hrefs (${[r.js, r.jsMixed, r.jsTab, r.data, r.vb]})`);
    ok(r.backslash === 'http://evil.test/x', `a "/\\host" href is written as the absolute URL browsers read, not kept as a site path (${r.backslash})`);
    ok(r.https === 'https://example.test/a' && r.mailto === 'mailto:a@example.test' && r.path === '/?view=doc', 'h() keeps http(s), mailto and site paths');
    ok(r.ok === '<div data-x="1" aria-label="y" class="c">hi</div>', `h() keeps data-, aria- and class (${r.ok})`);
    ok(r.blank === 'noopener noreferrer', 'a new-tab link gets noopener');
  }

  // ---- upload three formats by drag and drop; each becomes searchable
  await page.goto(BASE + '/?view=upload');
  await page.waitForSelector('.dropzone');
  await capture(page, 'upload-empty');
  const docx = readFileSync(`${SRC}/tests/parse/samples/docx_basic.docx`).toString('base64');
  await page.evaluate(docx => {
    const dt = new DataTransfer();
    dt.items.add(new File(['# Quokka notes\n\nThe quokkamd word lives here.\n'], 'quokka.md', { type: 'text/markdown' }));
    dt.items.add(new File(['<html><head><title>Quokka page</title></head><body><p>The quokkahtml word.</p></body></html>'], 'quokka.html', { type: 'text/html' }));
    dt.items.add(new File([Uint8Array.from(atob(docx), c => c.charCodeAt(0))], 'report.docx',
      { type: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' }));
    document.querySelector('.dropzone').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, docx);
  await page.waitForFunction(() => document.querySelectorAll('.upload.done, .upload.failed').length === 3, null, { timeout: 60000 });
  ok((await page.$$('.upload.done')).length === 3, 'three uploads become searchable');
  ok((await page.$$eval('.upload progress', ps => ps.every(p => p.value === 100))), 'each has its own progress bar, full');
  ok(new URL(page.url()).searchParams.get('view') === 'upload', 'several files: the page stays on the uploads');
  const links = await page.$$eval('.upload.done .name a', as => as.map(a => a.getAttribute('href')));
  ok(links.length === 3 && links.every(u => /^\/\?view=doc&id=[0-9a-f]{16}$/.test(u)), `each file's name links to its document (${links})`);
  await capture(page, 'upload');
  for (const w of ['quokkamd', 'quokkahtml', 'quarterly']) {
    await page.goto(`${BASE}/?q=${w}`);
    ok((await hitTitles(page)).length === 1, `the uploaded ${w} is found`);
  }
  // one file: its document is opened once it is searchable
  await page.goto(BASE + '/?view=upload');
  await page.waitForSelector('.dropzone');
  await page.setInputFiles('#files', { name: 'wombat.md', mimeType: 'text/markdown', buffer: Buffer.from('# Wombat facts\n\nThe wombatmd word, alone in its file.\n') });
  await page.waitForSelector('article.doc', { timeout: 60000 });
  ok((await page.textContent('article.doc h1')) === 'Wombat facts' && (await page.textContent('.doctext')).includes('wombatmd'), 'one uploaded file opens as its document when searchable');
  ok(new URL(page.url()).searchParams.get('view') === 'doc', 'and the URL is the document\'s');
  await page.goto(`${BASE}/?q=wombatmd`);
  ok((await hitTitles(page)).length === 1, 'and it is found by search');
  // the progress follows the job: on a server without workers the file
  // waits queued (half the bar); a `lore worker` started then runs it, and
  // the page opens the document
  {
    const qctx = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    const qp = await qctx.newPage();
    await qp.goto(BASE2 + '/');
    await qp.fill('#key', ADMIN2);
    await qp.click('form.signin button[type=submit]');
    await qp.waitForSelector('#bar:not([hidden])');
    await qp.goto(BASE2 + '/?view=upload');
    await qp.waitForSelector('.dropzone');
    await qp.setInputFiles('#files', { name: 'numbat.txt', mimeType: 'text/plain', buffer: Buffer.from('The numbatword lives in a queued file.\n') });
    await qp.waitForFunction(() => /queued \(attempt 1\)/.test(document.querySelector('.upload .state').textContent));
    const mid = await qp.$eval('.upload progress', p => p.value);
    ok(mid === 50 && !(await qp.$('.upload.done')), `a queued job holds the bar at half (${mid})`);
    const jp = await qctx.newPage();
    await jp.goto(BASE2 + '/?view=admin&tab=jobs');
    await jp.waitForSelector('dd[data-state=ready]');
    ok(await jp.textContent('dd[data-state=ready]') === '1', 'the jobs page counts it queued');
    await jp.close();
    const worker = spawn(LORE, ['worker', '--data-dir', DATA2], { stdio: 'ignore' });
    try {
      await qp.waitForSelector('article.doc', { timeout: 60000 });
      ok((await qp.textContent('.doctext')).includes('numbatword'), 'once a worker ran the job, the page opened the document');
    } finally {
      worker.kill('SIGTERM');
      await new Promise(r => worker.exitCode !== null ? r() : worker.once('exit', r));
    }
    await qctx.close();
  }
  // a file whose job fails shows the job's error, from the server
  await page.goto(BASE + '/?view=upload');
  await page.waitForSelector('.dropzone');
  await page.setInputFiles('#files', { name: 'broken.docx', mimeType: 'application/octet-stream', buffer: Buffer.from('PK\x03\x04not a zip') });
  await page.waitForSelector('.upload.failed .error', { timeout: 60000 });
  const jobErr = (await rest('GET', `/v1/jobs/${DEAD_JOB}`, ADMIN)).body.error;
  ok(jobErr && (await page.textContent('.upload.failed .error')) === jobErr, `a failed job shows the server's error (${jobErr})`);
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
  await page.click('section.tab button.primary');
  await page.waitForFunction(() => /lore_[0-9a-f]{12}_/.test(document.querySelector('section.tab pre').textContent));
  const mcpKey = (await page.textContent('section.tab pre')).match(/lore_[0-9a-f]{12}_[A-Za-z0-9_-]+/)[0];
  const mcpInit = await fetch(`${BASE}/mcp`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${mcpKey}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
  });
  ok(mcpInit.status === 200, `the MCP key filled in by the page is a working key (${mcpInit.status})`);

  // tenant figures: the server's exact ones
  const stats = (await rest('GET', '/v1/stats', ADMIN)).body;
  await page.goto(`${BASE}/?view=admin&tab=tenant`);
  await page.waitForSelector('dd[data-figure=chunks]');
  const fig = async f => page.textContent(`dd[data-figure=${f}]`);
  ok(await fig('documents') === String(stats.documents) && await fig('chunks') === String(stats.chunks) && await fig('sources') === String(stats.sources),
    `tenant figures: documents, chunks, sources (${await fig('documents')}/${await fig('chunks')}/${await fig('sources')} vs ${JSON.stringify(stats)})`);
  ok(stats.chunks > stats.documents, 'the handbook has several chunks, so chunks is its own figure');
  ok(/^\d+(\.\d)? (bytes|KB|MB|GB)$/.test(await fig('disk')) && stats.disk_bytes > 0, `bytes on disk (${await fig('disk')})`);
  ok(await fig('semantic') === 'not configured' && await page.$('dd[data-figure=embeddings]') === null, 'no embedding backlog shown without an embedder');

  // jobs: exact counts by state, the dead letters, a retry
  await page.goto(`${BASE}/?view=admin&tab=jobs`);
  await page.waitForSelector(`tr[data-job="${DEAD_JOB}"]`);
  const deadShown = await page.textContent('dd[data-state=dead]');
  const deadRows = (await page.$$('tr[data-job]')).length;
  ok(deadShown === String(stats.jobs.dead) && deadRows === stats.jobs.dead && stats.jobs.dead === 2, `dead jobs counted exactly (${deadShown}, ${deadRows} rows, stats ${stats.jobs.dead})`);
  ok(!(await page.textContent('#job-counts')).includes('+'), 'no "+" in the counts');
  const before = await rest('GET', `/v1/jobs/${DEAD_JOB}`, ADMIN);
  ok((await page.textContent(`tr[data-job="${DEAD_JOB}"] .err`)) === before.body.error, 'a dead letter shows its error');
  await page.click(`tr[data-job="${DEAD_JOB}"] button`);
  await page.waitForFunction(() => document.getElementById('announce').textContent.includes('queued again'));
  const after = await rest('GET', `/v1/jobs/${DEAD_JOB}`, ADMIN);
  ok(after.body.state !== 'dead' || after.body.finished_at !== before.body.finished_at, `the job was retried (${before.body.finished_at} -> ${after.body.state} ${after.body.finished_at})`);

  // a read key for user:alice with an expiry, made on the page, shown once, copied
  await page.goto(`${BASE}/?view=admin&tab=keys`);
  await page.waitForSelector('#k-name');
  await page.fill('#k-name', 'alice reader');
  await page.fill('#k-principals', 'user:alice@acme.test');
  await page.fill('#k-expires', '2099-12-31');
  await page.click('form.card button[type=submit]');
  await page.waitForSelector('#new-secret');
  const secret = await page.textContent('#new-secret');
  ok(/^lore_[0-9a-f]{12}_/.test(secret), 'the new key is shown once');
  const kid = secret.slice(5, 17);
  const made = (await rest('GET', '/v1/keys', ADMIN)).body.keys.find(k => k.id === kid);
  ok(made && made.scopes.join() === 'read' && made.principals.join() === 'user:alice@acme.test' && made.expires_at === '2099-12-31T23:59:59Z',
    `the key has the scope, principal and expiry chosen (${JSON.stringify(made)})`);
  await page.click('.secretbox button');
  await page.waitForFunction(() => document.querySelector('.secretbox button').textContent === 'Copied');
  ok(await page.evaluate(() => navigator.clipboard.readText()) === secret, 'the copy button puts the secret on the clipboard');
  await capture(page, 'admin-keys-created');
  // leaving the view (within the page, no reload) drops the secret from the DOM
  await page.click('nav.tabs a[href$="tab=jobs"]');
  await page.waitForSelector('#job-counts');
  ok(!(await page.evaluate(s => document.body.textContent.includes(s) || document.documentElement.outerHTML.includes(s), secret.slice(18))),
    'the secret is gone from the page once its view is left');
  await page.goBack();
  await page.waitForSelector(`button[aria-label="Revoke key ${kid}"]`);
  ok(await page.$('#new-secret') === null, 'and coming back does not show it again');
  await page.reload();
  await page.waitForSelector(`button[aria-label="Revoke key ${kid}"]`);
  ok(await page.$('#new-secret') === null && !(await page.textContent('main')).includes(secret.slice(18)), 'the secret is not shown again');

  // alice, in a browser of her own
  const actx = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const { page: pa } = await newPage(actx);
  await signIn(pa, secret);
  ok(await pa.isHidden('nav a[data-view=admin]'), 'a read key sees no admin link');
  await pa.goto(`${BASE}/?q=otter`);
  titles = await hitTitles(pa);
  ok(titles.includes('Otter handbook') && !titles.includes('Bob otter diary'), `the ACL hides Bob's document (${titles})`);
  await capture(pa, 'search-read-key');
  await pa.goto(`${BASE}/?view=doc&id=${BOB_DOC}`);
  await pa.waitForSelector('main .error');
  ok((await pa.textContent('main .error')).includes('No such document'), 'opening the hidden document by id fails as not found');
  await pa.goto(`${BASE}/?q=otter`);
  await hitTitles(pa);

  // revoked on the admin page: alice's open page is signed out at its next request
  log.accept = true;
  await page.click(`button[aria-label="Revoke key ${kid}"]`);
  await page.waitForFunction(() => document.getElementById('announce').textContent.includes('revoked'));
  ok(log.accept === false && (await rest('GET', '/v1/keys', ADMIN)).body.keys.find(k => k.id === kid).revoked_at, 'the key is revoked from the page, after a confirmation');
  await pa.fill('#q', 'otter handbook'); // the next request of a page already open
  await pa.waitForSelector('#key');
  ok((await pa.textContent('#signin-msg')).includes('revoked'), 'a revoked key is signed out at the next request, and told why');
  ok(await pa.isHidden('#bar'), 'and the signed-in bar is gone');
  await capture(pa, 'signin-revoked');
  await actx.close();

  // ---- CSRF: another site posts a form to lore with the browser's cookie
  // (the admin is still signed in, in this browser)
  await page.goto(BASE + '/');
  await page.waitForSelector('#bar:not([hidden])');
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
  // the server's check, with the cookie sent: a request of the page's own
  // origin without the CSRF token is refused
  await page.goto(BASE + '/');
  await page.waitForSelector('#bar:not([hidden])');
  const noToken = await page.evaluate(async () => {
    const r = await fetch('/v1/documents', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ id: 'csrf2', text: 'plantedtwo' }) });
    return { status: r.status, body: await r.json() };
  });
  ok(noToken.status === 403 && /csrf/.test(noToken.body.type), `a cookie request without the CSRF token is refused (${JSON.stringify(noToken)})`);
  ok((await rest('GET', '/v1/search?q=plantedtwo', ADMIN)).body.hits.length === 0, 'nothing was written by it either');

  // ---- sign out: the session ends on the server, not only in the browser
  const sid = (await ctx.cookies()).find(c => c.name === 'lore_session').value;
  const withCookie = () => fetch(`${BASE}/v1/session`, { headers: { Cookie: `lore_session=${sid}` } }).then(r => r.status);
  ok(await withCookie() === 200, 'the session cookie works before signing out');
  await page.click('#signout');
  await page.waitForSelector('#key');
  ok(!(await ctx.cookies()).some(c => c.name === 'lore_session' && c.value), 'sign-out clears the cookie');
  ok(await withCookie() === 401, 'and the session is gone on the server (a copied cookie no longer works)');
  // another key signed in on the same page (no reload) is shown its own
  // source facets, not those the previous session's key could see
  const carol = (await rest('POST', '/v1/keys', ADMIN, { scopes: ['read'], principals: ['user:carol@acme.test'] })).body.key;
  await page.fill('#key', carol);
  await page.click('form.signin button[type=submit]');
  await page.waitForSelector('.facet');
  const carolFacets = await page.$$eval('.facet label', ls => ls.map(l => l.textContent));
  ok(carolFacets.some(f => f.startsWith('wiki')) && !carolFacets.some(f => f.startsWith('notes')),
    `a key that may see no note has no notes facet after an admin's session on the same page (${carolFacets})`);
  await page.click('#signout');
  await page.waitForSelector('#key');

  // ---- a session past its end (session_ttl_minutes, at least a minute,
  // is too long to wait for here): its row in the control database is
  // moved into the past, and the open page's next request signs it out
  {
    const ectx = await browser.newContext();
    const { page: pe } = await newPage(ectx);
    await signIn(pe, ADMIN);
    await pe.goto(`${BASE}/?q=otters`);
    await hitTitles(pe);
    const esid = (await ectx.cookies()).find(c => c.name === 'lore_session').value;
    const hash = createHash('sha256').update(esid).digest('hex');
    const changed = execFileSync('sqlite3', ['-cmd', '.timeout 5000', `${DATA}/control.db`,
      `UPDATE sessions SET expires_ms = 1 WHERE hash = '${hash}'; SELECT changes();`]).toString().trim();
    ok(changed === '1', `the session's row is found by the hash of its id (${changed})`);
    await pe.fill('#q', 'otter handbook');
    await pe.waitForSelector('#key');
    ok((await pe.textContent('#signin-msg')).includes('expired'), 'an expired session is signed out at its next request, and told why');
    await ectx.close();
  }

  // ---- a phone-sized screen
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const { page: pp } = await newPage(phone);
  await signIn(pp, ADMIN);
  await pp.goto(`${BASE}/?q=otters`);
  await hitTitles(pp);
  const narrow = () => pp.evaluate(() => document.documentElement.scrollWidth <= innerWidth + 1);
  ok(await narrow(), 'no sideways scrolling on a phone: search');
  await capture(pp, 'phone-search');
  for (const [name, url, sel] of [
    ['document', `/?view=doc&id=${XSS_DOC}`, 'article.doc'], ['upload', '/?view=upload', '.dropzone'],
    ['admin-keys', '/?view=admin&tab=keys', 'section.tab table'], ['admin-jobs', '/?view=admin&tab=jobs', '#job-counts dd'],
  ]) {
    await pp.goto(BASE + url);
    await pp.waitForSelector(sel);
    ok(await narrow(), `no sideways scrolling on a phone: ${name} (wide tables scroll in their own box)`);
    await capture(pp, `phone-${name}`);
  }

  ok(log.errors.filter(e => !/401|403|404|400/.test(e)).length === 0, `no script errors (${log.errors})`);
  await browser.close();
}

try {
  await main();
} catch (e) {
  finish(e);
}
finish();
