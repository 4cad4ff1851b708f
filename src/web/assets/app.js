// The page's shell: sign-in, navigation and the views, chosen by the URL
// (?view=search|doc|upload|admin), so every view can be linked and shared.
import { can, ended, onSignedOut, resume, session, signIn, signOut } from './api.js';
import { announce, clear, errorBox, h } from './dom.js';

const main = document.getElementById('main');
const views = {
  search: () => import('./search.js'),
  doc: () => import('./doc.js'),
  upload: () => import('./upload.js'),
  admin: () => import('./admin.js'),
};
let current = null;

function viewName() {
  const v = new URLSearchParams(location.search).get('view') || 'search';
  return views[v] ? v : 'search';
}

export function go(url, replace) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  route();
}

async function route() {
  if (!session) return showSignIn();
  if (current && current.leave) current.leave();
  const name = viewName();
  for (const a of document.querySelectorAll('nav a[data-view]')) {
    if (a.dataset.view === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  try {
    const mod = await views[name]();
    current = mod;
    await mod.show(main, { go, params: new URLSearchParams(location.search) });
  } catch (e) {
    clear(main, errorBox(e));
  }
}

function showBar() {
  const bar = document.getElementById('bar');
  bar.hidden = !session;
  if (!session) return;
  for (const a of bar.querySelectorAll('[data-scope]')) a.parentElement.hidden = !can(a.dataset.scope);
  const who = session.key_name ? `${session.key_name} (${session.key_id})` : session.key_id;
  clear(document.getElementById('who'), `${session.tenant} · ${who}`);
}

function showSignIn(reason) {
  showBar();
  document.title = 'Sign in · lore';
  const input = h('input', {
    id: 'key', name: 'key', type: 'password', autocomplete: 'off', required: true,
    spellcheck: 'false', placeholder: 'lore_…', 'aria-describedby': 'key-help',
  });
  const msg = h('div', { id: 'signin-msg' });
  if (reason) msg.append(h('p', { class: 'notice', role: 'alert' }, reason));
  const form = h('form', { class: 'signin card', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to lore'),
    h('label', { for: 'key' }, 'API key'),
    input,
    h('p', { id: 'key-help', class: 'muted' },
      'Your key is exchanged for a session cookie and not stored in this browser. ',
      'Keys come from an administrator or `lore key create`.'),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
    msg);
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    clear(msg);
    try {
      await signIn(input.value.trim());
      input.value = '';
      showBar();
      announce(`Signed in to ${session.tenant}`);
      route();
    } catch (e) {
      clear(msg, errorBox(e));
      input.focus();
    }
  });
  clear(main, form);
  input.focus();
}

document.addEventListener('click', ev => {
  const a = ev.target.closest && ev.target.closest('a[href]');
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey) return;
  const href = a.getAttribute('href');
  if (href.startsWith('#')) { // in-page (the skip link): focus the target, no new view
    const target = document.getElementById(href.slice(1));
    if (target) { ev.preventDefault(); target.focus(); }
    return;
  }
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || (url.pathname !== '/' && url.pathname !== '/index.html')) return;
  ev.preventDefault();
  go(url.pathname + url.search);
});

document.getElementById('signout').addEventListener('click', async () => {
  try { await signOut(); } catch { /* the session is gone either way */ }
  showSignIn('Signed out.');
});

window.addEventListener('popstate', route);
onSignedOut(problem => {
  showSignIn((problem && problem.detail) || 'Your session ended; sign in again.');
});

(async () => {
  try {
    await resume();
  } catch (e) {
    clear(main, errorBox(e));
    return;
  }
  showBar();
  if (!session && ended) showSignIn(ended);
  else route();
})();

