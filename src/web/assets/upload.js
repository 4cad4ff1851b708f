// Upload: drop (or pick) several files; each is sent on its own with a
// progress bar for the bytes, then followed through its job until it is
// searchable (or failed, with the server's message). One file dropped
// alone is opened (the document view) once it is searchable; of several,
// each file's name becomes a link to its document as it gets there, and
// the page stays so every progress bar can be watched.
import { api, uploadFile } from './api.js';
import { clear, errorBox, h } from './dom.js';

export async function show(main, ctx) {
  document.title = 'Upload · lore';
  const picker = h('input', { type: 'file', id: 'files', multiple: true });
  const source = h('input', { type: 'text', id: 'source', value: 'upload', autocomplete: 'off' });
  const list = h('ul', { class: 'uploads', 'aria-live': 'polite' });
  const zone = h('div', { class: 'dropzone' },
    h('p', null, 'Drop files here, or choose them: ', h('label', { for: 'files', class: 'sr-only' }, 'Files to upload')),
    h('p', { id: 'drop-help', class: 'muted' }, 'PDF, Word (DOCX), Markdown, HTML, plain text and JSON; up to 32 at once.'),
    picker);
  picker.setAttribute('aria-describedby', 'drop-help');
  const start = files => {
    // not while other uploads on the page are still being followed
    const busy = () => list.querySelector('.upload:not(.done):not(.failed)');
    const open = files.length === 1 ? url => { if (list.isConnected && !busy()) ctx.go(url); } : null;
    for (const f of files) track(f, source.value.trim(), list, open);
  };
  picker.addEventListener('change', () => { start([...picker.files]); picker.value = ''; });
  zone.addEventListener('dragover', ev => { ev.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', ev => {
    ev.preventDefault();
    zone.classList.remove('over');
    start([...(ev.dataTransfer ? ev.dataTransfer.files : [])]);
  });
  clear(main, h('h1', null, 'Upload'),
    h('div', { class: 'row' }, h('label', { for: 'source' }, 'Source'), source),
    zone, list);
}

async function track(file, source, list, open) {
  const bar = h('progress', { max: '100', value: '0', 'aria-label': `${file.name} progress` });
  const state = h('span', { class: 'state' }, 'uploading');
  const name = h('span', { class: 'name' }, file.name);
  const item = h('li', { class: 'upload' }, name, bar, state);
  list.append(item);
  const set = (pct, text, cls) => {
    bar.value = pct;
    clear(state, text);
    if (cls) item.className = `upload ${cls}`;
  };
  let job, docId;
  try {
    const r = await uploadFile(file, source, f => set(Math.round(f * 50), `uploading ${Math.round(f * 100)}%`));
    job = r.job || (r.jobs && r.jobs[0]); // one file: "job"; several: "jobs"
    docId = r.files && r.files[0] && r.files[0].id;
    set(50, 'queued');
  } catch (e) {
    set(100, '', 'failed');
    state.append(errorBox(e));
    return;
  }
  const jobId = typeof job === 'string' ? job : job && job.id;
  for (let wait = 300; jobId; wait = Math.min(wait * 1.5, 2000)) {
    let j;
    try {
      j = await api('GET', `/v1/jobs/${jobId}`);
    } catch (e) {
      set(100, '', 'failed');
      state.append(errorBox(e));
      return;
    }
    if (j.state === 'done') break;
    if (j.state === 'dead') {
      set(100, '', 'failed');
      state.append(errorBox(j.error || 'the file could not be indexed'));
      return;
    }
    const running = j.state === 'leased';
    set(running ? 75 : 50, running ? 'indexing' : `queued (attempt ${j.attempts + 1})`);
    await new Promise(r => setTimeout(r, wait));
    if (!list.isConnected) return; // the view was left: nothing shows the bar any more
  }
  set(100, 'searchable', 'done');
  if (!docId) return;
  const url = `/?${new URLSearchParams({ view: 'doc', id: docId })}`;
  clear(name, h('a', { href: url }, file.name));
  if (open) open(url);
}
