// Ownership and the end of a conversation, against real browser contexts:
// another context's cookie gets 403 (also for the stream), and an event
// after the conversation ended gets 410 with the stale-page message.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import {
  closeContext,
  launchBrowser,
  openPage,
  screenshot,
  startDemo,
} from './harness.mjs';

let browser;
const demos = [];

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  for (const d of demos) await d.kill('SIGTERM');
});

async function openCounter(context, demo) {
  const page = await openPage(context, `${demo.url}counter`);
  const ids = await page.evaluate(() => ({
    cid: document.getElementById('stube-stream').dataset.onLoad.match(/\/sse\/([A-Za-z0-9_-]+)/)[1],
    iid: document.querySelector('#stube-root > [data-component]').id,
  }));
  return { page, ...ids };
}

test("another browser context's cookie gets 403", async () => {
  const demo = await startDemo();
  demos.push(demo);
  const alice = await browser.newContext();
  const mallory = await browser.newContext();
  const a = await openCounter(alice, demo);
  const m = await openCounter(mallory, demo);
  assert.notEqual(a.cid, m.cid);

  // Mallory knows Alice's URLs (cids are not secrets) but not her cookie.
  const eventUrl = `${demo.url}event/${a.cid}/${a.iid}/inc`;
  const stolen = await mallory.request.post(eventUrl, { data: {} });
  assert.equal(stolen.status(), 403);
  const stream = await mallory.request.get(`${demo.url}sse/${a.cid}`);
  assert.equal(stream.status(), 403);
  // Even with Mallory's own owner cookie copied under Alice's cookie name.
  // (The owner cookie is scoped to the conversation's own routes.)
  const owned = (await mallory.cookies()).filter((c) => c.name === `stube-${m.cid}`);
  assert.deepEqual(owned.map((c) => c.path).sort(),
    [`/back/${m.cid}`, `/event/${m.cid}`, `/sse/${m.cid}`]);
  const own = owned.find((c) => c.path === `/event/${m.cid}`);
  const forged = await browser.newContext();
  await forged.addCookies([{ ...own, name: `stube-${a.cid}`, path: `/event/${a.cid}` }]);
  assert.equal((await forged.request.post(eventUrl, { data: {} })).status(), 403);
  await forged.close();

  // Alice's own request works, and her count moved only by her clicks.
  const mine = await alice.request.post(eventUrl, { data: {} });
  assert.equal(mine.status(), 200);
  await a.page.waitForFunction(() => document.querySelector('.count')?.textContent === '1');
  await a.page.click('button.inc');
  await a.page.waitForFunction(() => document.querySelector('.count')?.textContent === '2');
  assert.equal(await m.page.locator('.count').textContent(), '0');
  await screenshot(a.page, 'ownership-alice');
  await closeContext(alice);
  await closeContext(mallory);
});

test('an event after the conversation ended gets 410 and the stale message', async () => {
  // A short TTL: the reaper ends the idle conversation. The page only has to
  // get its stream within the TTL (10 s: a cold browser on a busy machine
  // may take several); nothing else races the reaper. It runs every TTL, so
  // the end comes within two.
  const demo = await startDemo(['--ttl', '10']);
  demos.push(demo);
  const context = await browser.newContext();
  const { page } = await openCounter(context, demo);
  assert.equal(await page.locator('.count').textContent(), '0');

  await demo.waitForLog('reaper ended', 45000);
  const response = page.waitForResponse((r) => r.url().includes('/event/'));
  await page.click('button.inc');
  assert.equal((await response).status(), 410);
  await page.locator('.stube-stale').waitFor();
  assert.equal(await page.locator('.count').textContent(), '0', 'the refused click changed nothing');
  await screenshot(page, 'ownership-ended-stale');
  await closeContext(context);
});

// stube-demo --allowed-host takes one host per flag as written: CLI11 read
// "[::1]" as a list and kept "::1", which no Host header can match.
test('stube-demo --allowed-host keeps a bracketed IPv6 host', async () => {
  const demo = await startDemo(['--allowed-host', '[::1]', '--allowed-host', 'localhost']);
  demos.push(demo);
  const port = new URL(demo.url).port;
  const status = (host) =>
    new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', headers: { Host: host } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', reject);
    });
  assert.equal(await status(`[::1]:${port}`), 200);
  assert.equal(await status('localhost'), 200);
  assert.equal(await status('evil.example'), 421);
});
