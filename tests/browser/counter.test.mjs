// The counter in a real browser: clicks change the number, and a second tab
// has its own conversation.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  closeContext,
  launchBrowser,
  newPage,
  openPage,
  screenshot,
  settled,
  startDemo,
  waitForStream,
} from './harness.mjs';

let demo;
let browser;

before(async () => {
  demo = await startDemo();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await demo?.kill('SIGTERM');
});

test('clicks change the number; a second tab has its own conversation', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  const streamUrls = [];
  page.on('request', (r) => {
    if (r.url().includes('/sse/')) streamUrls.push(r.url());
  });
  await page.goto(`${demo.url}counter`);
  await waitForStream(page);
  // The page's signals stay out of the stream's URL (a page whose fields
  // start with a few KB of text would otherwise be refused its stream).
  assert.ok(streamUrls.length >= 1);
  for (const u of streamUrls) assert.equal(new URL(u).search, '', u);
  const count = page.locator('.count');
  await assert.doesNotReject(count.waitFor());
  assert.equal(await count.textContent(), '0');

  await page.click('button.inc');
  await page.waitForFunction(() => document.querySelector('.count')?.textContent === '1');
  await page.click('button.inc');
  await page.waitForFunction(() => document.querySelector('.count')?.textContent === '2');
  await page.click('button.dec');
  await page.waitForFunction(() => document.querySelector('.count')?.textContent === '1');
  await screenshot(page, 'counter-first-tab');

  const second = await openPage(context, `${demo.url}counter`);
  assert.equal(await second.locator('.count').textContent(), '0');
  await second.click('button.dec');
  await second.waitForFunction(() => document.querySelector('.count')?.textContent === '-1');
  await screenshot(second, 'counter-second-tab');

  // The first tab is untouched by the second one's clicks, and still live.
  assert.equal(await page.locator('.count').textContent(), '1');
  await page.click('button.inc');
  await page.waitForFunction(() => document.querySelector('.count')?.textContent === '2');
  assert.equal(await second.locator('.count').textContent(), '-1');
  await closeContext(context);
});

// Datastar aborts a request in flight when the tab is hidden and posts it
// again when the tab is shown, unless told openWhenHidden: the handler would
// run twice for one click.
test('a click is posted once, even if the tab is hidden while it is answered', async () => {
  const context = await browser.newContext();
  const page = await openPage(context, `${demo.url}counter`);
  let posts = 0;
  let show;
  const shown = new Promise((resolve) => {
    show = resolve;
  });
  await page.route(/\/event\//, async (route) => {
    posts += 1;
    const response = await route.fetch();
    await shown;
    await route.fulfill({ response }).catch(() => {});  // an aborted request has no answer
  });
  await page.click('button.inc');
  await page.waitForFunction(() => document.querySelector('.count')?.textContent === '1');
  // The answer is held back; the tab is hidden, then shown again.
  await page.evaluate(() => {
    let hidden = true;
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
    document.dispatchEvent(new Event('visibilitychange'));
    hidden = false;
    document.dispatchEvent(new Event('visibilitychange'));
  });
  show();
  await settled(page);
  // Aborted, the click is posted again, or (when the aborted request's
  // failure cancels the new one) it ends as "no answer" on the page.
  assert.equal(posts, 1);
  assert.equal(await page.textContent('#stube-error'), '');
  assert.equal(await page.locator('.count').textContent(), '1');
  await closeContext(context);
});

// A proxy in front of a server that is down answers 502: the page says the
// server did not answer (stube.js), and the next answer clears that.
test('a proxy\'s 502 for an event is shown, and the next answer clears it', async () => {
  const context = await browser.newContext();
  const page = await openPage(context, `${demo.url}counter`);
  const gateway = (route) =>
    route.fulfill({ status: 502, contentType: 'text/html', body: '<h1>502 Bad Gateway</h1>' });
  await page.route(/\/event\//, gateway);
  await page.click('button.inc');
  await settled(page);
  assert.match(await page.textContent('#stube-error'), /The server did not answer/);
  await page.unroute(/\/event\//, gateway);
  await page.click('button.inc');
  await page.waitForFunction(() => document.querySelector('.count')?.textContent === '1');
  await settled(page);
  assert.equal(await page.textContent('#stube-error'), '');
  await closeContext(context);
});

// A form the view gives no submit event (markup of the app's own) went the
// browser's way on Enter or a click: a GET of the page's own address, i.e.
// a new conversation, and the user's state gone. The shell's script keeps
// it on the page; a form with an action of its own still goes its way.
test('a form with neither a submit event nor an action stays on the page', async () => {
  const context = await browser.newContext();
  const page = await openPage(context, `${demo.url}counter`);
  const navigations = [];
  page.on('request', (r) => {
    if (r.isNavigationRequest()) navigations.push(r.url());
  });
  await page.evaluate(() => {
    document.body.insertAdjacentHTML(
      'beforeend',
      '<form class="plain"><input class="plain-input" name="q"><button class="plain-go">Go</button></form>' +
        '<form class="away" action="./"><button class="away-go">Away</button></form>' +
        '<dialog class="box" open><form method="dialog"><input name="method">' +
        '<button class="box-close">Close</button></form></dialog>' +
        '<form class="plain-named"><input name="action"><button class="plain-named-go">Go</button></form>');
  });
  // A <dialog>'s own form (method="dialog") closes it, as ever, also with a
  // field named "method" (which form.method would give).
  await page.click('.box-close');
  assert.equal(await page.evaluate(() => document.querySelector('.box').open), false);
  await page.fill('.plain-input', 'x');
  await page.press('.plain-input', 'Enter');
  await page.click('.plain-go');
  await page.click('.plain-named-go');  // a field named "action" is no action
  // An event posted after them: its answer comes after any request they made.
  await page.click('button.inc');
  await page.waitForFunction(() => document.querySelector('.count')?.textContent === '1');
  await settled(page);
  assert.deepEqual(navigations, []);
  const away = page.waitForRequest((r) => r.isNavigationRequest());
  await page.click('.away-go');
  assert.equal(new URL((await away).url()).pathname, new URL(demo.url).pathname);
  await closeContext(context);
});
