// Crash-resume: a durable conversation survives SIGKILL of the server. The
// open page reconnects by itself to the restarted server (same file store
// directory, same address: the page talks to a relay in front of it) and
// continues at the same step with the same data.
// The flow version works live, is reported as not durable, and after the
// kill the page says it is stale; a reload starts over.
// The page also finds its way back behind a proxy that answers 502 while the
// server is down, and past a stream that went silent.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  closeContext,
  fillSettled,
  forgetStream,
  launchBrowser,
  openPage,
  Relay,
  removeDir,
  screenshot,
  settled,
  startDemo,
  tempDir,
  waitForStream,
  waitForStreamSignals,
} from './harness.mjs';
import { addToBoard, answerPrompt, completeWizard, finishBoard, waitForConfirm } from './steps.mjs';

let browser;
const cleanup = [];

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  for (const f of cleanup.reverse()) await f();
});

// Starts a demo with `args` (killed after the tests if still running).
async function demoWith(args) {
  const demo = await startDemo(args);
  cleanup.push(async () => {
    if (demo.proc.exitCode === null && demo.proc.signalCode === null) await demo.kill('SIGKILL');
  });
  return demo;
}

// Starts a demo on a file store directory (removed after the tests).
function demoOnFileStore(dir) {
  return demoWith(['--store', `file:${dir}`]);
}

// /wizard open in a new context, served by a demo on a new file store
// directory behind a relay (which the test points at the next server).
async function wizardBehindRelay(prefix) {
  const dir = tempDir(prefix);
  cleanup.push(() => removeDir(dir));
  const first = await demoOnFileStore(dir);
  const relay = await Relay.start(first);
  cleanup.push(() => relay.close());
  const context = await browser.newContext();
  const page = await openPage(context, relay.url('/wizard'));
  return { dir, first, relay, context, page };
}

test('wizard (task component) continues after SIGKILL and restart', async () => {
  const { dir, first, relay, context, page } = await wizardBehindRelay('stube-crash-');

  // Halfway: the name is given, the confirm dialog is up.
  await answerPrompt(page, 'Ada');
  await waitForConfirm(page, 'Continue as Ada?');
  await screenshot(page, 'crash-wizard-before-kill');

  // The kill comes once the answer to "OK" is in: the view comes on the
  // stream before it, and an answer the kill cut off is an uncaught error in
  // the page (an event is never re-posted).
  await settled(page);
  await forgetStream(page);
  relay.to(null);
  const killed = await first.kill('SIGKILL');
  assert.equal(killed.signal, 'SIGKILL');

  // A click while the server is down gets no answer: the page says so
  // (stube.js), and it is no uncaught error (closeContext checks).
  await page.click('.stube-confirm .stube-yes');
  await page.waitForFunction(
    () => /did not answer/.test(document.getElementById('stube-error')?.textContent ?? ''));
  await settled(page);
  await screenshot(page, 'crash-wizard-no-answer');

  const second = await demoOnFileStore(dir);
  relay.to(second);
  // The count is logged on stderr before "listening" goes to stdout, but the
  // two pipes are read independently: wait for the line itself.
  await second.waitForLog('server: restored ');
  assert.match(second.stderr, /restored 1 conversation/);
  // The page reconnects by itself and gets the same step with the same data.
  await waitForStream(page);
  await waitForConfirm(page, 'Continue as Ada?');
  // The stream's reconnect cleared the message.
  await page.waitForFunction(() => document.getElementById('stube-error')?.textContent === '');
  await screenshot(page, 'crash-wizard-after-restart');

  await page.click('.stube-confirm .stube-yes');
  await page.locator('.demo-board').waitFor();
  assert.equal(await page.locator('.board-name').textContent(), 'Ada');
  await addToBoard(page, ['tea']);

  // A second crash, now on the board with an item: still there afterwards.
  await forgetStream(page);
  relay.to(null);
  await second.kill('SIGKILL');
  const third = await demoOnFileStore(dir);
  relay.to(third);
  await waitForStream(page);
  assert.deepEqual(await page.locator('.board-items li').allTextContents(), ['tea']);
  await fillSettled(page, '.board-input', 'cake');
  await page.click('.board-add');
  await page.waitForFunction(() => document.querySelectorAll('.board-items li').length === 2);
  await finishBoard(page, 'Ada', ['tea', 'cake']);
  await screenshot(page, 'crash-wizard-finished');
  await closeContext(context);
  await third.kill('SIGTERM');
});

// Typed while the server was down, not sent yet: the reconnect brings the
// server's view and every kept signal again, and the field keeps the text.
test('text typed while the server is down is still there once it is back', async () => {
  const { dir, first, relay, context, page } = await wizardBehindRelay('stube-crash-typed-');
  await settled(page);
  await forgetStream(page);
  relay.to(null);
  await first.kill('SIGKILL');
  await page.fill('.stube-prompt .stube-input', 'Grace');

  const second = await demoOnFileStore(dir);
  relay.to(second);
  await waitForStream(page);
  await waitForStreamSignals(page);
  assert.equal(await page.inputValue('.stube-prompt .stube-input'), 'Grace');
  await page.click('.stube-prompt .stube-ok');
  await waitForConfirm(page, 'Continue as Grace?');
  await settled(page);
  await closeContext(context);
  await second.kill('SIGTERM');
});

test('wizard-flow works live, is not durable, and goes stale after SIGKILL', async () => {
  const dir = tempDir('stube-crash-flow-');
  cleanup.push(() => removeDir(dir));
  const first = await demoOnFileStore(dir);
  const relay = await Relay.start(first);
  cleanup.push(() => relay.close());
  const context = await browser.newContext();
  const page = await openPage(context, relay.url('/wizard-flow'));
  const cid = await page.evaluate(() =>
    document.getElementById('stube-stream').dataset.onLoad.match(/\/sse\/([A-Za-z0-9_-]+)/)[1]);

  await answerPrompt(page, 'Linus');
  await waitForConfirm(page, 'Continue as Linus?');
  // The file store refused to save it and said why, naming the conversation.
  await first.waitForLog('task component');
  assert.match(first.stderr, new RegExp(`conversation "?${cid}"? was not saved`));

  await settled(page);  // as above
  relay.to(null);
  await first.kill('SIGKILL');
  const second = await demoOnFileStore(dir);
  relay.to(second);
  await second.waitForLog('server: restored ');
  assert.match(second.stderr, /restored 0 conversation/);
  // The page's stream reconnects, the conversation is gone: stale message.
  await page.locator('.stube-stale').waitFor({ timeout: 15000 });
  assert.match(await page.locator('#stube-error').textContent(), /stale/);
  await screenshot(page, 'crash-flow-stale');

  // A reload starts over, and the new conversation completes live.
  await page.reload();
  await waitForStream(page);
  assert.equal(await page.locator('.stube-prompt .stube-input').inputValue(), '');
  await completeWizard(page, 'Linus', ['coffee']);
  await screenshot(page, 'crash-flow-restarted');
  await closeContext(context);
  await second.kill('SIGTERM');
});

// Counts the /sse/ responses of `page` by status.
function streamStatuses(page) {
  const seen = [];
  page.on('response', (r) => { if (r.url().includes('/sse/')) seen.push(r.status()); });
  return seen;
}

async function countTo(page, n) {
  await page.click('button.inc');
  await page.waitForFunction((text) => document.querySelector('.count')?.textContent === text,
                             String(n));
  // Its answer is in before a connection is cut: cut off, it would be an
  // uncaught error in the page.
  await settled(page);
}

// A counter page of `demo` behind a relay (see Relay.start for `options`),
// counted to 1.
async function counterBehindRelay(demo, options) {
  const relay = await Relay.start(demo, options);
  cleanup.push(() => relay.close());
  const context = await browser.newContext();
  const page = await openPage(context, relay.url('/counter'));
  await countTo(page, 1);
  return { relay, context, page };
}

test('behind a proxy that answers 502 while the server is down, the page reconnects', async () => {
  const dir = tempDir('stube-crash-502-');
  cleanup.push(() => removeDir(dir));
  const first = await demoOnFileStore(dir);
  const { relay, context, page } = await counterBehindRelay(first, { whenDown: '502' });
  const statuses = streamStatuses(page);

  await forgetStream(page);
  relay.to(null);
  await first.kill('SIGKILL');
  // Datastar takes the complete 502 as the stream's end; stube.js says so
  // and keeps opening it again.
  await page.waitForFunction(
    () => /reconnecting/.test(document.getElementById('stube-error')?.textContent ?? ''));
  assert.ok(statuses.includes(502), `stream statuses: ${statuses}`);
  await screenshot(page, 'crash-502-reconnecting');

  const second = await demoOnFileStore(dir);
  relay.to(second);
  await waitForStream(page);
  await page.waitForFunction(() => document.getElementById('stube-error')?.textContent === '');
  assert.equal(await page.locator('.count').textContent(), '1');
  await countTo(page, 2);
  await closeContext(context);
  await second.kill('SIGTERM');
});

test('a stream that goes silent is opened again', async () => {
  const demo = await demoWith(['--keep-alive', '1']);
  const { relay, context, page } = await counterBehindRelay(demo);
  const statuses = streamStatuses(page);

  // The stream's connection stays open and brings nothing more: within 2.5
  // keep-alive intervals the page gives up on it and opens a new stream.
  await forgetStream(page);
  relay.freeze('GET /sse/');
  await waitForStream(page);
  assert.deepEqual(statuses, [200], 'one new stream, not a storm of them');
  await countTo(page, 2);
  await closeContext(context);
  await demo.kill('SIGTERM');
});

// The route breaks for every connection of the page: the stream's, and the
// idle ones Chromium keeps to reuse, so the reopened stream's request may go
// out on one of those and get no answer either. The watch runs from each
// request's start, not only from its first event: the page tries again
// until a request gets through (here, on a connection of its own).
test('a page whose every connection goes silent finds its way back', async () => {
  const demo = await demoWith(['--keep-alive', '1']);
  const { relay, context, page } = await counterBehindRelay(demo);

  await forgetStream(page);
  relay.freeze('');  // every connection open now
  await waitForStream(page);
  assert.equal(await page.locator('.count').textContent(), '1');
  await screenshot(page, 'silent-route-recovered');
  await closeContext(context);
  await demo.kill('SIGTERM');
});
