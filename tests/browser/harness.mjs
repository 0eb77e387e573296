// Shared pieces of the real-browser tests: start stube-demo on a free port,
// launch Debian's Chromium through playwright-core (no browser download),
// take screenshots into the build tree.
//
// Environment (set by tests/scripts.cmake):
//   STUBE_DEMO       path of the stube-demo executable
//   STUBE_ARTIFACTS  directory for screenshots (created if missing)
//   CHROMIUM         browser executable (default /usr/bin/chromium)
//   STUBE_ANSWER_DELAY_MS  if set, every answer to an event or a back reaches
//                    the page that much later than its new view on the
//                    stream: the tests must wait for answers, not race them
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const demoPath = process.env.STUBE_DEMO;
const artifacts = process.env.STUBE_ARTIFACTS ?? path.join(tmpdir(), 'stube-browser-artifacts');
if (!demoPath) throw new Error('STUBE_DEMO must name the stube-demo executable');

// A started stube-demo: its URL, its log, and ways to stop it.
export class Demo {
  constructor(proc, url) {
    this.proc = proc;
    this.url = url;
    this.stderr = '';
    this.exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  }

  // Resolves once the log contains `text`; rejects after timeoutMs, also
  // when the demo has gone quiet or its stderr has closed.
  async waitForLog(text, timeoutMs = 30000) {
    const deadline = Date.now() + timeoutMs;
    while (!this.stderr.includes(text)) {
      const left = deadline - Date.now();
      if (left <= 0 || this.proc.stderr.readableEnded) {
        throw new Error(`stube-demo did not log "${text}"; log:\n${this.stderr}`);
      }
      let timer;
      let onData;
      await new Promise((resolve) => {
        onData = resolve;
        timer = setTimeout(resolve, left);
        this.proc.stderr.once('data', onData).once('close', onData);
      });
      clearTimeout(timer);
      this.proc.stderr.off('data', onData).off('close', onData);
    }
  }

  async kill(signal = 'SIGKILL') {
    this.proc.kill(signal);
    return this.exited;
  }
}

// Starts stube-demo with `args` on a free port and resolves once it prints
// its "listening on" line.
export function startDemo(args = []) {
  return new Promise((resolve, reject) => {
    const proc = spawn(demoPath, ['--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let demo = null;
    const errChunks = [];
    proc.stderr.on('data', (d) => {
      if (demo) demo.stderr += d.toString();
      else errChunks.push(d.toString());
    });
    proc.stdout.on('data', (d) => {
      out += d.toString();
      const m = out.match(/stube-demo listening on (http:\/\/\S+)/);
      if (m && !demo) {
        demo = new Demo(proc, m[1]);
        demo.stderr = errChunks.join('');
        resolve(demo);
      }
    });
    proc.on('exit', (code, signal) => {
      if (!demo) reject(new Error(`stube-demo exited (${code ?? signal}) before listening:\n${errChunks.join('')}`));
    });
    proc.on('error', reject);
  });
}

// The port of a started demo.
export function portOf(demo) {
  return Number(new URL(demo.url).port);
}

// A TCP relay on a port of its own, as a reverse proxy in front of a demo:
// the page keeps one address while the demo behind it is killed and
// started again on whatever free port it gets (restarted on its old port,
// it could find that port taken meanwhile by another test's connection).
// With no demo behind it, it cuts new connections (`whenDown: 'cut'`, as a
// server that is down) or, as nginx and other real proxies do, answers each
// request with a complete 502 (`whenDown: '502'`).
export class Relay {
  static async start(demo, { whenDown = 'cut' } = {}) {
    const relay = new Relay(portOf(demo), whenDown);
    await new Promise((resolve) => relay.server.listen(0, '127.0.0.1', resolve));
    return relay;
  }

  constructor(target, whenDown) {
    this.target = target;
    this.sockets = new Set();
    this.links = new Set();  // {frozen}: one per relayed connection
    this.server = net.createServer((client) => {
      client.on('error', () => {});
      if (this.target === null) {
        if (whenDown === '502') answerBadGateway(client);
        else client.destroy();
        return;
      }
      const upstream = net.connect(this.target, '127.0.0.1');
      const link = { frozen: false, sent: '' };  // sent: the page's requests, in part
      this.links.add(link);
      upstream.on('close', () => this.links.delete(link));
      for (const [from, to, down] of [[client, upstream, false], [upstream, client, true]]) {
        this.sockets.add(from);
        from.on('data', (d) => {
          if (!down) link.sent = (link.sent + d.toString('latin1')).slice(-4096);
          if (!(down && link.frozen)) to.write(d);
        });
        from.on('close', () => { this.sockets.delete(from); to.destroy(); });
        from.on('error', () => {});
      }
    });
  }

  // Where new connections go from now on; null: nowhere (they are cut), so
  // that none reaches whatever takes a killed demo's port meanwhile.
  to(demo) {
    this.target = demo === null ? null : portOf(demo);
  }

  // The open connections whose last requests include `request` (a request
  // line such as 'GET /sse/') stop carrying anything from the demo to the
  // page, and stay open: a route that broke without a reset, or a proxy whose
  // server vanished. Other and new connections are relayed as before.
  freeze(request) {
    for (const link of this.links) if (link.sent.includes(request)) link.frozen = true;
  }

  url(pathname) {
    return `http://127.0.0.1:${this.server.address().port}${pathname}`;
  }

  close() {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(resolve));
  }
}

// Once the request's head is in: a complete 502, as nginx sends when its
// upstream refuses the connection.
function answerBadGateway(client) {
  let head = '';
  client.on('data', (d) => {
    head += d.toString('latin1');
    if (!head.includes('\r\n\r\n')) return;
    const body = '<html><body><h1>502 Bad Gateway</h1></body></html>\r\n';
    client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n' +
               `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  });
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-proxy-server',
    ],
  });
}

// A page that records its console and its uncaught errors (exceptions and
// unhandled rejections thrown by the page's scripts): closeContext fails
// the test if there were any.
//
// The page also counts its events in flight (see `settled`).
export async function newPage(context) {
  const page = await context.newPage();
  await page.addInitScript(countEventsInFlight);
  if (answerDelayMs > 0) await page.route(/\/(event|back)\//, delayAnswer);
  page.consoleLines = [];
  page.pageErrors = [];
  page.on('console', (msg) => page.consoleLines.push(`${msg.type()}: ${msg.text()}`));
  page.on('pageerror', (err) => {
    page.consoleLines.push(`pageerror: ${err.message}`);
    page.pageErrors.push(err.message);
  });
  return page;
}

// Holds the page's stube.js back until the function returned is called
// (the page shows, and takes typing, before its deferred scripts run).
export async function holdStubeScript(page) {
  let release;
  const released = new Promise((resolve) => {
    release = resolve;
  });
  await page.route(/\/_stube\/stube\.js/, async (route) => {
    await released;
    await route.continue();
  });
  return release;
}

// A page from newPage, at `url`, once its stream is open.
export async function openPage(context, url) {
  const page = await newPage(context);
  await page.goto(url);
  await waitForStream(page);
  return page;
}

const answerDelayMs = Number(process.env.STUBE_ANSWER_DELAY_MS ?? 0);

async function delayAnswer(route) {
  let response;
  try {
    response = await route.fetch();
  } catch {
    // The server is gone (a test killed it): the page's request fails as it would.
    await route.abort('connectionreset').catch(() => {});
    return;
  }
  await new Promise((resolve) => setTimeout(resolve, answerDelayMs));
  await route.fulfill({ response }).catch(() => {});  // the page may be gone meanwhile
}

// Runs in the page before its own scripts. Datastar announces each request
// it makes with a `datastar-sse` event on the document, "started" when it
// sends and "finished" once the answer has been read and applied; the
// page's stream (#stube-stream) stays open and is left out.
// It also counts the whole views the stream brought (a morph of
// #stube-root): waitForStream() waits for one; and the stream's
// merge-signals events (a reconnect sends every kept signal after its view). This listener runs before
// Datastar's own, which merges the view in the same dispatch.
function countEventsInFlight() {
  window.stubeEventsInFlight = 0;
  window.stubeRootViews = 0;
  window.stubeStreamSignals = 0;
  document.addEventListener('datastar-sse', (e) => {
    if (e.detail.elId === 'stube-stream') {
      const fragments = String(e.detail.argsRaw?.fragments ?? '');
      if (e.detail.type === 'datastar-merge-fragments' && fragments.startsWith('<div id="stube-root">')) {
        window.stubeRootViews += 1;
      } else if (e.detail.type === 'datastar-merge-signals') {
        window.stubeStreamSignals += 1;
      }
      return;
    }
    if (e.detail.type === 'started') window.stubeEventsInFlight += 1;
    else if (e.detail.type === 'finished') window.stubeEventsInFlight -= 1;
  });
}

// Resolves once every event the page sent has been answered. An event's new
// view comes on the stream, but the signals it changed (a field cleared, a
// new dialog's default, the signals of closed dialogs dropped) come in the
// answer to its POST, on another connection and possibly later: text typed
// in between would be overwritten. A step that types waits for this first.
// It also waits until no control the page gave the focus to is still new
// enough to drop Enter and Space (stube.js: data-stube-settling).
export async function settled(page) {
  await page.waitForFunction(() => window.stubeEventsInFlight === 0 &&
    !document.querySelector('[data-stube-settling]'));
}

// Fills the field `selector` once the page has settled (see `settled`).
export async function fillSettled(page, selector, text) {
  await settled(page);
  await page.fill(selector, text);
}

// Closes a context after checking that none of its pages (from newPage)
// met an uncaught script error: the shell's and Datastar's wiring must not
// throw, even where the page still looks right.
export async function closeContext(context) {
  const errors = context.pages().flatMap((page) =>
    (page.pageErrors ?? []).map((message) => `${page.url()}: ${message}`));
  await context.close();
  assert.deepEqual(errors, [], 'uncaught errors in the page');
}

export async function screenshot(page, name) {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

// Waits until the page has its SSE stream: its first frame is a whole view
// (counted by countEventsInFlight). (30 s: the first page of a cold browser
// on a busy machine can take long.)
export async function waitForStream(page) {
  await page.waitForFunction(() => window.stubeRootViews > 0, null, { timeout: 30000 });
}

// Forgets the views (and signals) streams brought so far, so that
// waitForStream() proves a new stream delivered a whole new view.
export async function forgetStream(page) {
  await page.evaluate(() => {
    window.stubeRootViews = 0;
    window.stubeStreamSignals = 0;
  });
}

// Waits until a stream brought a merge-signals event (since forgetStream).
export async function waitForStreamSignals(page) {
  await page.waitForFunction(() => window.stubeStreamSignals > 0);
}

// Holds the answers to the page's events (the first `first` of them; all
// by default) until `release()`: each request reaches the server, its
// answer waits. `posts` counts the requests.
export async function holdAnswers(page, { first = Infinity } = {}) {
  let release;
  const released = new Promise((resolve) => {
    release = resolve;
  });
  const held = { posts: 0, release };
  await page.route(/\/event\//, async (route) => {
    const waits = ++held.posts <= first;
    const response = await route.fetch();
    if (waits) await released;
    await route.fulfill({ response });
  });
  return held;
}

export function tempDir(prefix) {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}
