// The search page's mode switch with a real embedder, in Debian's chromium
// against a real `lore serve` (started with the USE-Lite embedding server
// and seeded by tests/cli/web_semantic.sh). A question that shares no word
// with its answer: the switch is shown, hybrid (the default) and semantic
// find the answer, lexical does not; the URL carries the mode, so a shared
// link searches the same way; the answer's passage is highlighted in the
// document view although no word of the question is in it, and the
// document's links keep the mode. Environment:
// BASE, ADMIN, SHOTS, QUESTION, TARGET (the answer's title), TARGET_PASSAGE
// (words of its text), LEXICAL_HIT (a title lexical search does find),
// EMBED_CONTROL (the embedding server's fault-injection URL).
// Prints "N passed, N failed".
import { launch } from './browser.mjs';
import { capture, finish, hitTitles, newPage, ok, rest, signIn } from './lib.mjs';

const { BASE, ADMIN, QUESTION, TARGET, TARGET_PASSAGE, LEXICAL_HIT, EMBED_CONTROL } = process.env;

// Waits for the results of the search the page's URL now names.
async function resultsFor(page, mode) {
  await page.waitForFunction(m => {
    const s = document.querySelector('#results .summary');
    return s && s.textContent.endsWith(`· ${m}`) && !document.querySelector('#results[aria-busy]');
  }, mode);
  return hitTitles(page);
}

async function main() {
  const browser = await launch();
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const { page, log } = await newPage(ctx);
  await signIn(page, ADMIN);
  const session = await page.evaluate(() => fetch('/v1/session').then(r => r.json()));
  ok(session.features && session.features.semantic === true, 'the session says semantic search is configured');

  // the switch is shown, on hybrid by default, and the URL has no mode then
  await page.goto(`${BASE}/?q=${encodeURIComponent(QUESTION)}`);
  await page.waitForSelector('.mode:not([hidden]) select#mode');
  ok(await page.isVisible('#mode'), 'the mode switch is shown when the server has an embedder');
  ok(await page.$eval('#mode', s => s.value) === 'hybrid', 'hybrid is the default mode');
  let titles = await resultsFor(page, 'hybrid');
  ok(titles.includes(TARGET), `hybrid finds the paraphrase (${titles})`);
  ok(new URL(page.url()).searchParams.get('mode') === null, 'the default mode is left out of the URL');

  // lexical: the answer shares no word with the question
  await page.selectOption('#mode', 'lexical');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('mode') === 'lexical');
  titles = await resultsFor(page, 'lexical');
  ok(!titles.includes(TARGET) && titles.includes(LEXICAL_HIT), `lexical does not find the paraphrase, finds words (${titles})`);
  const lexicalUrl = page.url();

  // semantic: the answer first
  await page.selectOption('#mode', 'semantic');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('mode') === 'semantic');
  titles = await resultsFor(page, 'semantic');
  ok(titles[0] === TARGET, `semantic finds the paraphrase first (${titles})`);
  const semanticUrl = page.url();
  await capture(page, 'search-semantic');

  // switching pushed history: back returns to the lexical search
  await page.goBack();
  await page.waitForFunction(() => new URL(location.href).searchParams.get('mode') === 'lexical');
  titles = await resultsFor(page, 'lexical');
  ok(page.url() === lexicalUrl && !titles.includes(TARGET) && await page.$eval('#mode', s => s.value) === 'lexical', 'Back returns to the lexical search, switch and all');

  // the shared URL in a new page: the same mode, the same results
  {
    const { page: p2 } = await newPage(ctx);
    await p2.goto(semanticUrl);
    const again = await resultsFor(p2, 'semantic');
    ok(again[0] === TARGET && await p2.$eval('#mode', s => s.value) === 'semantic', `a shared semantic URL searches semantically (${again})`);
    await p2.goto(lexicalUrl);
    const lex = await resultsFor(p2, 'lexical');
    ok(!lex.includes(TARGET), 'a shared lexical URL searches lexically');
    await p2.close();
  }

  // open the semantic hit: its passage highlighted, found in the same mode
  await page.goto(semanticUrl);
  await resultsFor(page, 'semantic');
  await page.click(`a.hit-title >> text="${TARGET}"`);
  await page.waitForSelector('article.doc');
  ok(new URL(page.url()).searchParams.get('mode') === 'semantic', 'the document link carries the mode');
  const passage = await page.$('mark.passage');
  ok(passage !== null && (await passage.textContent()).includes(TARGET_PASSAGE), 'the semantic hit\'s passage is highlighted, though it shares no word with the question');
  const back = await page.$eval('a.back', a => new URL(a.href).searchParams.get('mode'));
  ok(back === 'semantic', 'Back to results keeps the mode');
  await capture(page, 'document-semantic');

  // the embedding provider failing: hybrid shows the lexical results and
  // says why, semantic shows the server's error
  const control = body => fetch(EMBED_CONTROL, { method: 'POST', body: JSON.stringify(body) });
  await control({ status: 500, count: 100000 });
  try {
    const q2 = 'receipts within thirty days'; // not asked before: no cached query vector
    await page.goto(`${BASE}/?q=${encodeURIComponent(q2)}`);
    titles = await resultsFor(page, 'hybrid');
    const notice = (await page.$$eval('#results .notice', ns => ns.map(n => n.textContent))).join(' | ');
    ok(titles.includes(LEXICAL_HIT) && /Semantic search failed, lexical results shown/.test(notice), `provider down, hybrid: lexical results and a notice (${titles}; ${notice})`);
    await page.selectOption('#mode', 'semantic');
    await page.waitForSelector('#results .error');
    const err = await page.textContent('#results .error');
    const direct = await rest('GET', `/v1/search?${new URLSearchParams({ q: q2, mode: 'semantic' })}`, ADMIN);
    ok(direct.status === 503 && err === direct.body.detail, `provider down, semantic: the server's message (${direct.status}: ${err})`);
    await capture(page, 'search-semantic-outage');
  } finally {
    await control({ reset: true });
  }

  // the tenant page: semantic search configured, nothing waiting
  const stats = (await rest('GET', '/v1/stats', ADMIN)).body;
  ok(stats.embeddings && stats.embeddings.pending === 0, `no chunk waits for an embedding (${JSON.stringify(stats.embeddings)})`);
  await page.goto(`${BASE}/?view=admin&tab=tenant`);
  await page.waitForSelector('dd[data-figure=embeddings]');
  ok(await page.textContent('dd[data-figure=semantic]') === 'configured', 'the tenant page says semantic search is configured');
  ok(await page.textContent('dd[data-figure=embeddings]') === '0 chunks', 'and shows the embedding backlog');
  await capture(page, 'admin-tenant-semantic');

  // (the console logs the 401 of the session check before signing in, and
  // the 503 of the outage)
  ok(log.errors.filter(e => !/401|503/.test(e)).length === 0, `no script errors (${log.errors})`);
  ok(log.dialogs.length === 0 && log.stray.length === 0, 'no dialog, no stray request');
  await browser.close();
}

try {
  await main();
} catch (e) {
  finish(e);
}
finish();
