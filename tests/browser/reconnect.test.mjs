// A page whose stream is refused with 503 keeps reconnecting and recovers.
// Datastar's stream client takes a complete response, whatever its status,
// as the end of the stream and never asks again; the server cuts its 503s on
// /sse/<cid> short (an unfinished chunked body), which the client meets as a
// network error and retries. Here the 503 is the refusal over
// --max-connections: the page reaches the demo through a TCP proxy that can
// cut its stream, and raw connections holding other conversations' streams
// fill the server while the page reconnects.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import {
  closeContext,
  launchBrowser,
  newPage,
  screenshot,
  settled,
  startDemo,
  waitForStream,
} from './harness.mjs';

const kMaxConnections = 4;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let demo;
let browser;
let proxy;
let held = null;  // see hold()
let hold;
let letThrough;
const links = [];  // {client, upstream}
const holders = [];

before(async () => {
  demo = await startDemo(['--max-connections', String(kMaxConnections)]);
  browser = await launchBrowser();
  const port = Number(new URL(demo.url).port);
  const link = (client) => {
    const upstream = net.connect(port, '127.0.0.1');
    links.push({ client, upstream });
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => client.write(d));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    upstream.on('error', () => {});
  };
  proxy = net.createServer((client) => {
    client.on('error', () => {});
    if (held) held.push(client);
    else link(client);
  });
  // While `held` is a list, the page's new connections wait in it: the test
  // fills the server before they reach it (they go on once it is null).
  hold = () => { held = []; };
  letThrough = () => {
    const waiting = held;
    held = null;
    for (const client of waiting) if (!client.destroyed) link(client);
  };
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  for (const h of holders) h.destroy();
  for (const l of links) { l.client.destroy(); l.upstream.destroy(); }
  proxy?.close();
  await browser?.close();
  await demo?.kill('SIGTERM');
});

// A new conversation of the counter, minted over a connection of its own
// (closed after it): its cid and owner cookie.
function mintCounter() {
  return new Promise((resolve, reject) => {
    const port = Number(new URL(demo.url).port);
    const s = net.connect(port, '127.0.0.1', () => {
      s.write('GET /counter HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    });
    let got = '';
    s.on('data', (d) => { got += d.toString('latin1'); });
    s.on('error', reject);
    s.on('close', () => {
      const m = got.match(/Set-Cookie: (stube-([A-Za-z0-9_-]+)=[^;]*)/i);
      if (!got.startsWith('HTTP/1.1 200') || !m) reject(new Error(`no conversation minted:\n${got}`));
      else resolve({ cookie: m[1], cid: m[2] });
    });
  });
}

// Opens that conversation's stream on a raw socket: the socket once the
// server answered 200, or null when it refused (over the cap).
function holdStream({ cid, cookie }) {
  return new Promise((resolve) => {
    const port = Number(new URL(demo.url).port);
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(`GET /sse/${cid} HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\n\r\n`);
    });
    let got = '';
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (!got.includes('\r\n')) return;
      if (got.startsWith('HTTP/1.1 200')) resolve(s);
      else { s.destroy(); resolve(null); }
    });
    s.on('error', () => resolve(null));
    s.on('close', () => resolve(null));
  });
}

test('a page refused with 503 over max_connections reconnects and recovers', async () => {
  // Conversations for the holders, minted while there is room.
  const spare = [];
  for (let i = 0; i < kMaxConnections + 2; ++i) spare.push(await mintCounter());

  const context = await browser.newContext();
  const page = await newPage(context);
  const streams = [];  // the page's /sse/ responses and failures, in order
  page.on('response', (r) => { if (r.url().includes('/sse/')) streams.push(r.status()); });
  page.on('requestfailed', (r) => {
    if (r.url().includes('/sse/')) streams.push(`failed: ${r.failure()?.errorText}`);
  });
  await page.goto(`http://127.0.0.1:${proxy.address().port}/counter`);
  await waitForStream(page);
  await page.click('button.inc');
  await page.waitForFunction(() => document.querySelector('.count')?.textContent === '1');
  // Its answer is in before the links are cut: cut off, it would be an
  // uncaught error in the page, or Chrome would send the POST again itself.
  await settled(page);

  // Fill the server: holders take every free place, the page's stream and
  // its kept-alive connections hold the others. Then cut all of the page's
  // connections (an idle one, which holds a place, would carry the retry)
  // and take their places before the page's new connections reach the
  // server (the proxy holds them meanwhile); the holders keep trying while
  // the page reconnects.
  const fill = async () => {
    while (spare.length > 0) {
      const h = await holdStream(spare[0]);
      if (!h) return;
      holders.push(h);
      spare.shift();
    }
  };
  await fill();
  assert.ok(spare.length > 0, 'the server took every holder: the cap does not hold');
  const before = streams.length;
  hold();
  const cut = links.splice(0).filter((l) => !l.upstream.destroyed);
  for (const l of cut) { l.client.destroy(); l.upstream.destroy(); }
  // The server lets go of each place once it sees its connection close.
  const places = holders.length + cut.length;
  const taken = Date.now() + 30000;
  while (holders.length < places && Date.now() < taken) {
    await fill();
    await sleep(20);
  }
  assert.equal(holders.length, places, "the page's places were not taken");
  letThrough();
  let filling = true;
  const filler = (async () => {
    while (filling && spare.length > 0) {
      await fill();
      await sleep(20);
    }
  })();

  // The page is refused, shows why, and asks again: two 503s at least.
  const refused = () => streams.slice(before).filter((s) => s === 503).length;
  const deadline = Date.now() + 30000;
  while (refused() < 2 && Date.now() < deadline) await sleep(100);
  assert.ok(refused() >= 2, `the page did not retry after a 503: ${JSON.stringify(streams)}`);
  // The refusal's message reaches the page only if its script reads the 503
  // before the server closes the connection (kCutShortLinger); a busy page
  // can miss one, and every refusal is another chance.
  await page.waitForFunction(
    () => /too many open connections/.test(document.getElementById('stube-error')?.textContent ?? ''),
    null, { timeout: 30000 });
  await screenshot(page, 'reconnect-refused');

  // Room again: the page's next try gets its stream, the message goes, and
  // the conversation goes on where it was.
  filling = false;
  await filler;
  for (const h of holders.splice(0)) h.destroy();
  await page.waitForFunction(
    () => document.getElementById('stube-error')?.textContent.trim() === '', null, { timeout: 30000 });
  assert.equal(await page.locator('.count').textContent(), '1');
  await page.click('button.inc');
  await page.waitForFunction(() => document.querySelector('.count')?.textContent === '2');
  await screenshot(page, 'reconnect-recovered');
  await closeContext(context);
});
