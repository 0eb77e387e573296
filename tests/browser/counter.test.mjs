// The counter in a real browser: clicks change the number, and a second tab
// has its own conversation.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  closeContext,
  launchBrowser,
  newPage,
  screenshot,
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

  const second = await newPage(context);
  await second.goto(`${demo.url}counter`);
  await waitForStream(second);
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
