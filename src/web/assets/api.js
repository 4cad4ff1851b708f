// The REST API, as any client sees it. The page is signed in through a
// session cookie (HttpOnly: this code never sees it) and sends the
// session's CSRF token with every request that changes something. The API
// key typed at sign-in is sent once, to POST /v1/session, and not kept.

let csrf = null;
export let session = null;
const signedOut = new Set();

export class ApiError extends Error {
  constructor(status, problem, fallback) {
    const detail = problem && (problem.detail || problem.title);
    super(detail ? `${detail}` : `${fallback} (HTTP ${status})`);
    this.status = status;
    this.problem = problem || null;
  }
}

export function onSignedOut(fn) { signedOut.add(fn); }

function setSession(s) {
  session = s;
  csrf = s ? s.csrf_token : null;
}

function expire(problem) {
  if (!session) return;
  setSession(null);
  for (const fn of signedOut) fn(problem);
}

export async function api(method, path, opts = {}) {
  const headers = new Headers(opts.headers || {});
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers.set('X-CSRF-Token', csrf);
  let body = opts.body;
  if (opts.json !== undefined) {
    headers.set('Content-Type', 'application/json');
    body = JSON.stringify(opts.json);
  }
  const r = await fetch(path, {
    method, headers, body, credentials: 'same-origin', cache: 'no-store', signal: opts.signal,
  });
  const type = r.headers.get('Content-Type') || '';
  const data = r.status !== 204 && type.includes('json') ? await r.json() : null;
  if (r.status === 401 && path !== '/v1/session') expire(data);
  if (!r.ok) throw new ApiError(r.status, data, `${method} ${path} failed`);
  return data;
}

export async function signIn(key) {
  setSession(await api('POST', '/v1/session', { json: { key } }));
  return session;
}

// The session this browser already holds, or null; ended says why a
// session it held has ended (expired, signed out elsewhere, key revoked).
export let ended = null;
export async function resume() {
  try {
    setSession(await api('GET', '/v1/session'));
  } catch (e) {
    if (e.status !== 401) throw e;
    const d = e.problem && e.problem.detail;
    ended = d && d.startsWith('the session') ? d : null;
    return null;
  }
  return session;
}

export async function signOut() {
  try { await api('DELETE', '/v1/session'); } finally { setSession(null); }
}

export function can(scope) {
  return !!(session && session.scopes && session.scopes.includes(scope));
}

// An upload of one file with progress (fetch cannot report upload progress).
export function uploadFile(file, source, onProgress) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    const form = new FormData();
    if (source) form.append('source', source);
    form.append('files', file, file.name);
    x.open('POST', '/v1/files');
    x.withCredentials = true;
    if (csrf) x.setRequestHeader('X-CSRF-Token', csrf);
    x.responseType = 'json';
    x.upload.onprogress = e => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    x.onload = () => {
      if (x.status === 401) expire(x.response);
      if (x.status >= 200 && x.status < 300) resolve(x.response);
      else reject(new ApiError(x.status, x.response, `uploading ${file.name} failed`));
    };
    x.onerror = () => reject(new Error(`uploading ${file.name} failed: the connection broke`));
    x.send(form);
  });
}
