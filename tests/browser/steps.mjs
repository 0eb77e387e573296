// The steps of the demo's wizards, shared by the live and the restart tests.
import assert from 'node:assert/strict';
import { fillSettled, settled } from './harness.mjs';

export async function answerPrompt(page, text) {
  await fillSettled(page, '.stube-prompt .stube-input', text);
  await page.click('.stube-prompt .stube-ok');
}

export async function waitForConfirm(page, question) {
  const q = page.locator('.stube-confirm .stube-question');
  await q.waitFor();
  await page.waitForFunction(
    (want) => document.querySelector('.stube-confirm .stube-question')?.textContent === want,
    question,
  );
}

export async function addToBoard(page, items) {
  for (const [i, item] of items.entries()) {
    await fillSettled(page, '.board-input', item);
    await page.click('.board-add');
    await page.waitForFunction((n) => document.querySelectorAll('.board-items li').length === n, i + 1);
  }
  // The field is cleared by the server after each add (state -> signal).
  await settled(page);
  assert.equal(await page.inputValue('.board-input'), '');
}

export async function finishBoard(page, name, items) {
  await page.click('.board-finish');
  await page.locator('.demo-summary').waitFor();
  assert.equal(await page.locator('.summary-name').textContent(), name);
  assert.equal(await page.locator('.summary-count').textContent(), String(items.length));
  assert.deepEqual(await page.locator('.demo-summary li').allTextContents(), items);
}

// The whole wizard, start to end, on an open page.
export async function completeWizard(page, name, items, shot) {
  await answerPrompt(page, name);
  await waitForConfirm(page, `Continue as ${name}?`);
  await shot?.('confirm');
  await page.click('.stube-confirm .stube-yes');
  await page.locator('.demo-board').waitFor();
  assert.equal(await page.locator('.board-name').textContent(), name);
  await addToBoard(page, items);
  await shot?.('board');
  await finishBoard(page, name, items);
  await shot?.('summary');
}
