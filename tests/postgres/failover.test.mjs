// Failover: two stube-demo servers share one PostgreSQL database. A client
// (plain HTTP: Node's fetch, the owner cookie, the SSE stream read as text)
// goes halfway through /wizard on server A; A is killed with SIGKILL; the
// same conversation continues on server B at the same step (B loads it on
// the miss) and finishes there.
//
// Run by tests/scripts.cmake through tests/postgres/with_postgres.sh:
//   STUBE_DEMO    the stube-demo executable
//   STUBE_PG_URL  the database (postgresql://…), from the wrapper
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, test } from 'node:test';

const demoPath = process.env.STUBE_DEMO;
const storeUrl = process.env.STUBE_PG_URL;
if (!demoPath) throw new Error('STUBE_DEMO must name the stube-demo executable');
if (!storeUrl) throw new Error('STUBE_PG_URL is not set: run this through tests/postgres/with_postgres.sh');

const patience = 15000;
const running = [];

after(() => {
  for (const d of running) if (d.exitCode === null && d.signalCode === null) d.kill('SIGKILL');
});

// Starts stube-demo on a free port over the shared database; resolves with
// its URL once it prints "listening on".
function startDemo() {
  return new Promise((resolve, reject) => {
    // With the reaper on, as a fleet runs (nothing here idles for an hour).
    const args = ['--port', '0', '--store', storeUrl, '--ttl', '3600', '--reaper-batch', '100'];
    const proc = spawn(demoPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.push(proc);
    let out = '';
    let err = '';
    proc.stderr.on('data', (d) => { err += d; });
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/stube-demo listening on (http:\/\/\S+?)\/?\s/);
      if (m) resolve({ proc, url: m[1], log: () => err });
    });
    proc.on('exit', (code, signal) => reject(new Error(`stube-demo exited (${code ?? signal}) before listening:\n${err}`)));
    proc.on('error', reject);
  });
}

function kill(demo, signal) {
  return new Promise((resolve) => {
    demo.proc.once('exit', (code, sig) => resolve({ code, signal: sig }));
    demo.proc.kill(signal);
  });
}

// The conversation's SSE stream on one server, read as text: every patch
// the server sends ends up in `text`.
class Stream {
  constructor(base, cid, cookie) {
    this.text = '';
    this.status = null;
    this.ended = false;
    this.waiters = [];
    this.controller = new AbortController();
    this.done = this.read(`${base}/sse/${cid}`, cookie);
  }

  async read(url, cookie) {
    try {
      const res = await fetch(url, { headers: { cookie }, signal: this.controller.signal });
      this.status = res.status;
      const decoder = new TextDecoder();
      for await (const chunk of res.body) {
        this.text += decoder.decode(chunk, { stream: true });
        this.wake();
      }
    } catch {
      // Aborted, or the server died: the text so far is what it sent.
    }
    this.ended = true;
    this.wake();
  }

  wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  // Resolves with the first match of `re` in the text after `from`.
  async waitFor(re, from = 0) {
    const deadline = Date.now() + patience;
    for (;;) {
      const m = this.text.slice(from).match(re);
      if (m) return m;
      if (this.ended) throw new Error(`stream ended (status ${this.status}) without ${re}; got:\n${this.text}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${re} on the stream within ${patience} ms; got:\n${this.text}`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  close() {
    this.controller.abort();
    return this.done;
  }
}

// The browser's POST of one event: all signals as the JSON body.
async function post(base, cid, iid, event, cookie, signals = {}) {
  const res = await fetch(`${base}/event/${cid}/${iid}/${event}`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json', 'datastar-request': 'true' },
    body: JSON.stringify(signals),
  });
  await res.text();
  return res.status;
}

// The instance id an element posts `event` for, in the view after `from`.
async function iidFor(stream, cid, event, from) {
  const m = await stream.waitFor(new RegExp(`/event/${cid}/([A-Za-z0-9_-]+)/${event}\\b`), from);
  return m[1];
}

// The signal namespace of the field bound to `name`.
async function signalNs(stream, name, from) {
  const m = await stream.waitFor(new RegExp(`data-bind="([A-Za-z0-9_-]+)\\.${name}"`), from);
  return m[1];
}

test('a wizard started on server A continues on server B after A is killed', async () => {
  const a = await startDemo();
  const b = await startDemo();
  assert.notEqual(a.url, b.url);

  // Server A: mint, take the owner cookie, open the stream.
  const shell = await fetch(`${a.url}/wizard`);
  assert.equal(shell.status, 200);
  const setCookie = shell.headers.get('set-cookie');
  const html = await shell.text();
  const cid = html.match(/\/sse\/([A-Za-z0-9_-]+)/)[1];
  const cookie = setCookie.split(';')[0];
  assert.equal(cookie.split('=')[0], `stube-${cid}`);
  const onA = new Stream(a.url, cid, cookie);
  await onA.waitFor(/What is your name\?/);

  // Halfway: the name is given, the confirm dialog is up.
  const promptIid = await iidFor(onA, cid, 'ok', 0);
  const promptNs = await signalNs(onA, 'answer', 0);
  let mark = onA.text.length;
  assert.equal(await post(a.url, cid, promptIid, 'ok', cookie, { [promptNs]: { answer: 'Ada' } }), 200);
  await onA.waitFor(/Continue as Ada\?/, mark);
  const confirmOnA = await iidFor(onA, cid, 'yes', mark);

  const killed = await kill(a, 'SIGKILL');
  assert.equal(killed.signal, 'SIGKILL');
  await onA.close();

  // Server B never saw this conversation: it loads it from the database on
  // the first request, at the same step, still owned by the same cookie.
  const stranger = new Stream(b.url, cid, `stube-${cid}=ow-not-the-owner`);
  await stranger.done;
  assert.equal(stranger.status, 403);
  const onB = new Stream(b.url, cid, cookie);
  await onB.waitFor(/Continue as Ada\?/);
  assert.equal(await iidFor(onB, cid, 'yes', 0), confirmOnA);

  // And finishes there.
  mark = onB.text.length;
  assert.equal(await post(b.url, cid, confirmOnA, 'yes', cookie), 200);
  await onB.waitFor(/class="board-name">Ada</, mark);
  const boardNs = await signalNs(onB, 'item', mark);
  const boardIid = await iidFor(onB, cid, 'add', mark);
  for (const item of ['tea', 'cake']) {
    mark = onB.text.length;
    assert.equal(await post(b.url, cid, boardIid, 'add', cookie, { [boardNs]: { item } }), 200);
    await onB.waitFor(new RegExp(`<li class="board-item">${item}</li>`), mark);
  }
  mark = onB.text.length;
  assert.equal(await post(b.url, cid, boardIid, 'finish', cookie), 200);
  const summary = await onB.waitFor(/All done, <span class="summary-name">Ada<\/span>!.*?<span class="summary-count">(\d+)<\/span>/, mark);
  assert.equal(summary[1], '2');
  assert.match(onB.text.slice(mark), /<li>tea<\/li><li>cake<\/li>/);

  // B started before the conversation existed (its load_all found none):
  // every step after the kill came from the database by load-on-miss.
  assert.match(b.log(), /postgres store .*: loaded 0 conversations/);
  await onB.close();
  const stopped = await kill(b, 'SIGTERM');
  assert.equal(stopped.code, 0);
});
