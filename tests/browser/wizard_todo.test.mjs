// The wizard (task component), the wizard as a flow, and the todo list,
// completed in a real browser by typing and clicking.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  closeContext,
  launchBrowser,
  fillSettled,
  holdAnswers,
  holdStubeScript,
  newPage,
  openPage,
  screenshot,
  settled,
  startDemo,
  waitForStream,
} from './harness.mjs';
import { completeWizard, waitForConfirm } from './steps.mjs';

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

for (const path of ['wizard', 'wizard-flow']) {
  test(`${path}: complete it by typing and clicking`, async () => {
    const context = await browser.newContext();
    const page = await newPage(context);
    const posts = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().includes('/event/')) posts.push({ url: r.url(), body: r.postData() });
    });
    await page.goto(`${demo.url}${path}`);
    await waitForStream(page);
    await screenshot(page, `${path}-prompt`);
    // By keyboard: the prompt's field has the question as its name, and
    // Enter in it answers.
    const field = page.getByRole('textbox', { name: 'What is your name?' });
    await field.waitFor();
    await fillSettled(page, '.stube-prompt .stube-input', 'Bob');
    await field.press('Enter');
    await waitForConfirm(page, 'Continue as Bob?');
    // Each new view gives the focus to its [autofocus] element: the confirm's
    // "No", which Enter then presses (once the view has settled: see below).
    const focused = (selector) =>
      page.waitForFunction((s) => document.activeElement?.matches(s), selector);
    await focused('.stube-confirm .stube-no');
    await settled(page);
    await page.keyboard.press('Enter');
    // Saying "no" at the confirm asks again, with the previous name as default.
    await page.locator('.stube-prompt').waitFor();
    await focused('.stube-prompt .stube-input');
    await settled(page);
    assert.equal(await page.locator('.stube-prompt .stube-input').inputValue(), 'Bob');
    // The caret is at the end of the last answer: typing goes on from there.
    await page.keyboard.type('by');
    assert.equal(await page.locator('.stube-prompt .stube-input').inputValue(), 'Bobby');
    await completeWizard(page, 'Grace', ['milk', 'eggs'], (s) => screenshot(page, `${path}-${s}`));
    // The two prompts' signals were dropped once they answered: the board's
    // last add carries the board's own signals only, not every dialog's so far.
    const adds = posts.filter((p) => /\/add(\?|$)/.test(p.url));
    assert.equal(adds.length, 2);
    assert.equal(Object.keys(JSON.parse(adds.at(-1).body)).length, 1, adds.at(-1).body);
    await closeContext(context);
  });
}

// A /wizard page whose clock the test can stop, and the names of the
// events it posts from then on.
async function wizardWithClock() {
  const context = await browser.newContext();
  const page = await newPage(context);
  await page.clock.install();
  await page.goto(`${demo.url}wizard`);
  await waitForStream(page);
  const posts = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().includes('/event/')) posts.push(r.url().split('/').at(-1));
  });
  return { context, page, posts };
}

// Enter held in the prompt until it repeats, or pressed twice: the second
// press lands on the confirm's "No", which the new view has just given the
// focus to; it must not answer a question the user has not read.
test('wizard: Enter held or pressed twice in the prompt does not answer the confirm', async () => {
  const { context, page, posts } = await wizardWithClock();
  const noFocused = () =>
    page.waitForFunction(() => document.activeElement?.matches('.stube-confirm .stube-no'));
  // Held: the key goes down in the field and repeats on "No", past the
  // half second in which a new press would be dropped too.
  await fillSettled(page, '.stube-prompt .stube-input', 'Bob');
  await page.focus('.stube-prompt .stube-input');
  await page.keyboard.down('Enter');
  await waitForConfirm(page, 'Continue as Bob?');
  await noFocused();
  await settled(page);
  await page.keyboard.down('Enter');  // repeat: true
  await page.keyboard.up('Enter');
  // Pressed twice: the page's clock stands still from before the first
  // press, so the second is surely within that half second; held past it,
  // that second press does not repeat into the button either.
  await page.click('.stube-confirm .stube-no');  // asks again, Bob the default
  await page.locator('.stube-prompt').waitFor();
  await settled(page);
  await page.clock.pauseAt(await page.evaluate(() => Date.now() + 2000));
  await page.keyboard.press('Enter');
  await waitForConfirm(page, 'Continue as Bob?');
  await noFocused();
  await page.keyboard.down('Enter');
  await page.clock.resume();
  await settled(page);
  await page.keyboard.down('Enter');  // repeat: true
  await page.keyboard.up('Enter');
  // Still the confirm: its "Yes" is there to click.
  await page.click('.stube-confirm .stube-yes');
  await page.locator('.demo-board').waitFor();
  assert.deepEqual(posts, ['ok', 'no', 'ok', 'yes']);
  await closeContext(context);
});

// A /todo page holding one item, added by typing, once its answer is in.
async function todoWith(context, item) {
  const page = await openPage(context, `${demo.url}todo`);
  await fillSettled(page, '.todo-new-input', item);
  await page.press('.todo-new-input', 'Enter');
  await page.waitForFunction(() => document.querySelectorAll('.todo-items li').length === 1);
  await settled(page);
  return page;
}

// The prompt has the focus at once: what is typed before the page's stream
// is open stays when its first view arrives.

test('wizard: what is typed before the stream opens stays', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  let openStream;
  const opened = new Promise((resolve) => {
    openStream = resolve;
  });
  const asked = new Promise((resolve) => {
    page.route(/\/sse\//, async (route) => {
      resolve();
      await opened;
      await route.continue();
    });
  });
  await page.goto(`${demo.url}wizard`);
  await asked;  // Datastar runs (the binding is set up); the stream waits
  await page.fill('.stube-prompt .stube-input', 'Early');
  openStream();
  await waitForStream(page);
  await settled(page);
  assert.equal(await page.inputValue('.stube-prompt .stube-input'), 'Early');
  await page.press('.stube-prompt .stube-input', 'Enter');
  await waitForConfirm(page, 'Continue as Early?');
  await closeContext(context);
});

// The browser gives the first view's [autofocus] field the focus before
// stube.js has loaded (held back here until it has); when that view goes,
// the focus still goes to the new one's first control, also when the new
// view has no [autofocus] (taken out of the fragments here).
test('wizard: the focus the browser gave before stube.js loaded moves on with the view', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  const loadScript = await holdStubeScript(page);
  await page.goto(`${demo.url}wizard`, { waitUntil: 'commit' });
  await page.waitForFunction(() => document.activeElement?.matches('.stube-prompt .stube-input'));
  loadScript();
  await waitForStream(page);
  await page.evaluate(() => window.addEventListener('datastar-sse', (e) => {
    const raw = e.detail?.argsRaw;
    if (raw?.fragments) raw.fragments = String(raw.fragments).replaceAll(' autofocus', '');
  }, true));
  await fillSettled(page, '.stube-prompt .stube-input', 'Kay');
  await page.keyboard.press('Enter');
  await waitForConfirm(page, 'Continue as Kay?');
  assert.equal(await page.locator('[autofocus]').count(), 0);
  await page.waitForFunction(() => document.activeElement?.matches('.stube-confirm button'));
  await page.unrouteAll({ behavior: 'ignoreErrors' });
  await closeContext(context);
});

test('todo: add, edit in place, delete with confirm', async () => {
  const context = await browser.newContext();
  const page = await openPage(context, `${demo.url}todo`);
  const texts = () => page.locator('.todo-items .todo-text').allTextContents();
  const count = (n) => page.waitForFunction((k) => document.querySelectorAll('.todo-items li').length === k, n);

  for (const [i, t] of ['write tests', 'fix bugs', 'ship'].entries()) {
    await fillSettled(page, '.todo-new-input', t);
    await page.press('.todo-new-input', 'Enter');  // submits the form
    await count(i + 1);
  }
  await settled(page);
  assert.equal(await page.inputValue('.todo-new-input'), '');
  assert.deepEqual(await texts(), ['write tests', 'fix bugs', 'ship']);
  await screenshot(page, 'todo-added');

  // Edit in place: the row turns into a form with the text.
  await page.locator('.todo-item', { hasText: 'fix bugs' }).locator('.todo-edit').click();
  const edit = page.locator('.todo-edit-input');
  await edit.waitFor();
  await settled(page);
  assert.equal(await edit.inputValue(), 'fix bugs');
  await fillSettled(page, '.todo-edit-input', 'fix all the bugs');
  await screenshot(page, 'todo-editing');
  await page.click('.todo-save');
  await page.waitForFunction(() => !document.querySelector('.todo-edit-input'));
  assert.deepEqual(await texts(), ['write tests', 'fix all the bugs', 'ship']);

  // Delete asks first; "No" keeps the item, "Yes" removes it.
  await page.locator('.todo-item', { hasText: 'write tests' }).locator('.todo-delete').click();
  await waitForConfirm(page, 'Delete "write tests"?');
  await screenshot(page, 'todo-confirm-delete');
  await page.click('.stube-confirm .stube-no');
  await page.locator('.demo-todo').waitFor();
  assert.deepEqual(await texts(), ['write tests', 'fix all the bugs', 'ship']);

  await page.locator('.todo-item', { hasText: 'write tests' }).locator('.todo-delete').click();
  await waitForConfirm(page, 'Delete "write tests"?');
  await page.click('.stube-confirm .stube-yes');
  await page.locator('.demo-todo').waitFor();
  await count(2);
  assert.deepEqual(await texts(), ['fix all the bugs', 'ship']);
  await screenshot(page, 'todo-done');
  // A forged edit (an item id that is not a number) is refused as bad input.
  const ids = await page.evaluate(() => ({
    cid: document.getElementById('stube-stream').dataset.onLoad.match(/\/sse\/([A-Za-z0-9_-]+)/)[1],
    iid: document.querySelector('#stube-root > [data-component]').id,
  }));
  const forged = await context.request.post(`${demo.url}event/${ids.cid}/${ids.iid}/edit?p=%22x%22`, { data: {} });
  assert.equal(forged.status(), 400);
  assert.match(await forged.text(), /refused event 'edit': expected an item id, not "x"/);
  assert.deepEqual(await texts(), ['fix all the bugs', 'ship']);
  await closeContext(context);
});

// Text typed while an event is under way is not overwritten by its answer:
// the answer sends only the fields the event changed.
// The shell page carries the conversation's kept signals (stube.js merges
// them into Datastar's): a bound field whose markup has no value of its own
// shows its signal's value, and an event sends it. (The demo writes the
// value into the markup as well; the route takes it out, so that only the
// signals can fill the field.)
test('todo: a kept signal reaches a bound field from the shell page', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  await page.route(/\/todo\?new=/, async (route) => {
    const response = await route.fetch();
    const html = (await response.text()).replace(' value="Buy milk"', '');
    assert.ok(!html.includes('value="Buy milk"'), 'the markup still holds the value');
    await route.fulfill({ response, body: html });
  });
  await page.goto(`${demo.url}todo?new=Buy%20milk`);
  await waitForStream(page);
  assert.equal(await page.inputValue('.todo-new-input'), 'Buy milk');
  await page.click('.todo-add');
  await page.waitForFunction(
    () => document.querySelector('.todo-items .todo-text')?.textContent === 'Buy milk');
  await settled(page);
  assert.equal(await page.inputValue('.todo-new-input'), '');
  await screenshot(page, 'todo-from-link');
  await closeContext(context);
});

// Enter pressed again while the add is under way (its answer held back
// here): the form is not submitted again, so the item is added once.
test('todo: a form submitted again while its event is under way adds once', async () => {
  const context = await browser.newContext();
  const page = await openPage(context, `${demo.url}todo`);
  const held = await holdAnswers(page);
  await fillSettled(page, '.todo-new-input', 'call mum');
  await page.press('.todo-new-input', 'Enter');
  await page.waitForFunction(() => window.stubeEventsInFlight === 1);
  await page.press('.todo-new-input', 'Enter');
  await page.click('.todo-add');
  held.release();
  await settled(page);
  assert.equal(held.posts, 1, 'the form was posted again while its event was under way');
  assert.deepEqual(await page.locator('.todo-items .todo-text').allTextContents(), ['call mum']);
  // Once the answer is in, the form posts again. (Its answer is in too
  // before the context closes: the new item comes on the stream first, and
  // a route still fetching then fails.)
  await fillSettled(page, '.todo-new-input', 'pay rent');
  await page.press('.todo-new-input', 'Enter');
  await page.waitForFunction(() => document.querySelectorAll('.todo-items li').length === 2);
  await settled(page);
  await closeContext(context);
});

// A keyboard user who saves a row with Enter: the row's form, and the
// field that had the focus, are gone; the focus goes to the list's controls,
// not to <body> (the top of the page).
// The page shows, and takes typing, before its deferred scripts run: the
// shell's kept signals, merged once stube.js runs, leave a field the user
// has changed alone (here stube.js is held back while the user types).
test('todo: what is typed before the page\'s scripts run stays', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  const release = await holdStubeScript(page);
  await page.goto(`${demo.url}todo?new=Buy%20milk`, { waitUntil: 'commit' });
  await page.locator('.todo-new-input').waitFor();
  await page.fill('.todo-new-input', 'typed early');
  release();
  await waitForStream(page);
  await settled(page);
  assert.equal(await page.inputValue('.todo-new-input'), 'typed early');
  await page.press('.todo-new-input', 'Enter');
  await page.waitForFunction(
    () => document.querySelector('.todo-items .todo-text')?.textContent === 'typed early');
  await closeContext(context);
});

// An add whose answer never comes (the route broke without a reset) holds
// the form back for a few seconds only: then Enter posts again.
test('todo: a form whose answer never comes can be submitted again after a while', async () => {
  const context = await browser.newContext();
  const page = await openPage(context, `${demo.url}todo`);
  const posted = [];
  await page.route(/\/event\//, async (route) => {
    posted.push(Date.now());
    if (posted.length === 1) {  // the server takes it; its answer never reaches the page
      await route.fetch();
      return;
    }
    await route.continue();
  });
  await fillSettled(page, '.todo-new-input', 'first');
  await page.press('.todo-new-input', 'Enter');
  await page.waitForFunction(() => document.querySelectorAll('.todo-items li').length === 1);
  await page.fill('.todo-new-input', 'second');
  const deadline = Date.now() + 20000;
  while (posted.length < 2 && Date.now() < deadline) {
    await page.press('.todo-new-input', 'Enter');
    await page.waitForTimeout(250);  // pacing the user's key presses, not a wait for the page
  }
  assert.equal(posted.length, 2, 'the form stayed dead');
  assert.ok(posted[1] - posted[0] >= 4500, `posted again after ${posted[1] - posted[0]} ms`);
  await page.waitForFunction(() => document.querySelectorAll('.todo-items li').length === 2);
  await page.unrouteAll({ behavior: 'ignoreErrors' });  // the first answer is still held
  await closeContext(context);
});

// What Escape brought takes Enter at once, however soon after an Enter:
// the page's clock stands still from before that Enter on.
test('wizard: Enter right after Escape answered the confirm asks again', async () => {
  const { context, page, posts } = await wizardWithClock();
  await fillSettled(page, '.stube-prompt .stube-input', 'Bob');
  await page.focus('.stube-prompt .stube-input');
  await page.clock.pauseAt(await page.evaluate(() => Date.now() + 2000));
  await page.keyboard.press('Enter');
  await waitForConfirm(page, 'Continue as Bob?');
  await page.waitForFunction(() => document.activeElement?.matches('.stube-confirm .stube-no'));
  await page.keyboard.down('Escape');  // answers No: the prompt again
  await page.waitForFunction(() => document.activeElement?.matches('.stube-prompt .stube-input'));
  await page.keyboard.down('Escape');  // held: a repeat, which must not cancel the prompt
  await page.keyboard.up('Escape');
  assert.equal(await page.locator('[data-stube-settling]').count(), 0);
  await page.keyboard.press('Enter');
  await waitForConfirm(page, 'Continue as Bob?');
  await page.clock.resume();
  assert.deepEqual(posts, ['ok', 'no', 'ok']);
  await closeContext(context);
});

// A keyboard user who says No to a row's delete confirm is back on that
// row's Delete, not at the top of the page.
test('todo: No to the delete confirm gives the focus back to the row\'s Delete', async () => {
  const context = await browser.newContext();
  const page = await todoWith(context, 'one');
  await fillSettled(page, '.todo-new-input', 'two');
  await page.press('.todo-new-input', 'Enter');
  await page.waitForFunction(() => document.querySelectorAll('.todo-items li').length === 2);
  await settled(page);
  await page.locator('.todo-item', { hasText: 'two' }).locator('.todo-delete').focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.matches('.stube-confirm .stube-no'));
  await settled(page);
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => document.activeElement?.matches('.todo-delete'));
  assert.equal(await page.evaluate(() => document.activeElement.closest('.todo-item').textContent
    .includes('two')), true);
  await closeContext(context);
});

// What a click brought takes Enter at once: only a view that came after
// Enter (or Space) ignores them for a moment (see the wizard's test above).
test('todo: Enter right after a click on Edit saves the row', async () => {
  const context = await browser.newContext();
  const page = await todoWith(context, 'one');
  await page.click('.todo-edit');
  await page.waitForFunction(() => document.activeElement?.matches('.todo-edit-input'));
  assert.equal(await page.locator('[data-stube-settling]').count(), 0);
  await page.keyboard.press('Enter');
  await page.locator('.todo-edit-input').waitFor({ state: 'detached' });
  assert.equal(await page.locator('.todo-text').textContent(), 'one');
  await closeContext(context);
});

test('todo: the keyboard keeps its place when a row is saved', async () => {
  const context = await browser.newContext();
  const page = await todoWith(context, 'one');
  await page.focus('.todo-edit');
  await page.keyboard.press('Enter');
  await page.locator('.todo-edit-input').waitFor();
  await fillSettled(page, '.todo-edit-input', 'one more');
  await page.press('.todo-edit-input', 'Enter');
  await page.waitForFunction(() => document.querySelector('.todo-text')?.textContent === 'one more');
  await settled(page);
  await page.waitForFunction(
    () => document.activeElement !== document.body &&
          document.querySelector('.demo-todo')?.contains(document.activeElement));
  await closeContext(context);
});

test('todo: what is typed while an event is under way stays', async () => {
  const context = await browser.newContext();
  const page = await todoWith(context, 'first');
  // Hold the answer to the next event until the user has typed.
  const held = await holdAnswers(page);
  await page.locator('.todo-item', { hasText: 'first' }).locator('.todo-edit').click();
  await page.locator('.todo-edit-input').waitFor();  // the new view came on the stream
  await page.fill('.todo-new-input', 'second, half typed');
  held.release();
  await settled(page);
  assert.equal(await page.inputValue('.todo-new-input'), 'second, half typed');
  assert.equal(await page.inputValue('.todo-edit-input'), 'first');
  await closeContext(context);
});

// The add's answer empties the field (its handler cleared the text it
// added); what the user typed after pressing Enter is the next item, not
// the server's to clear.
test('todo: what is typed while an add is under way is not cleared by its answer', async () => {
  const context = await browser.newContext();
  const page = await openPage(context, `${demo.url}todo`);
  const held = await holdAnswers(page);
  await fillSettled(page, '.todo-new-input', 'first');
  await page.press('.todo-new-input', 'Enter');
  await page.waitForFunction(() => document.querySelectorAll('.todo-items li').length === 1);
  await page.fill('.todo-new-input', 'second');
  held.release();
  await settled(page);
  assert.equal(await page.inputValue('.todo-new-input'), 'second');
  await page.unrouteAll({ behavior: 'ignoreErrors' });
  await page.press('.todo-new-input', 'Enter');
  await page.waitForFunction(() => document.querySelectorAll('.todo-items li').length === 2);
  assert.deepEqual(await page.locator('.todo-items .todo-text').allTextContents(), ['first', 'second']);
  await settled(page);
  // Sent, the field is the server's again: the add empties it.
  assert.equal(await page.inputValue('.todo-new-input'), '');
  await closeContext(context);
});


// Escape answers a stock dialog the way that changes nothing: the confirm's
// "No" (the item stays, the list comes back).
test('todo: Escape answers the delete confirm with No', async () => {
  const context = await browser.newContext();
  const page = await todoWith(context, 'keep me');
  await page.locator('.todo-delete').click();
  await waitForConfirm(page, 'Delete "keep me"?');
  await page.keyboard.press('Escape');
  await page.locator('.demo-todo').waitFor();
  assert.deepEqual(await page.locator('.todo-items .todo-text').allTextContents(), ['keep me']);
  await settled(page);
  await closeContext(context);
});

// Answers to different elements may come in any order: the add's answer,
// held back until a later event's has come, does not empty the text that
// later event took along (the server has it; the add's answer is older).
test('todo: an answer that comes late does not undo text a later event took along', async () => {
  const context = await browser.newContext();
  const page = await todoWith(context, 'first');
  const held = await holdAnswers(page, { first: 1 });  // only the add's answer waits
  await page.fill('.todo-new-input', 'second');
  await page.press('.todo-new-input', 'Enter');
  await page.waitForFunction(() => document.querySelectorAll('.todo-items li').length === 2);
  await page.fill('.todo-new-input', 'typed after Enter');
  await page.locator('.todo-item', { hasText: 'first' }).locator('.todo-edit').click();
  await page.locator('.todo-edit-input').waitFor();
  await page.waitForFunction(() => window.stubeEventsInFlight === 1);  // the edit's answer is in
  held.release();
  await settled(page);
  assert.equal(await page.inputValue('.todo-new-input'), 'typed after Enter');
  await page.unrouteAll({ behavior: 'ignoreErrors' });
  await closeContext(context);
});

// A request the page makes by hand (not an event: another address, even
// one with an /event/ segment) is no sign that the server has what was
// typed: the stream's next copy of the field (here a frame made up in the
// page, as a reconnect would send it) leaves the typed text alone.
test('todo: a request made by hand does not count as sending what was typed', async () => {
  const context = await browser.newContext();
  const page = await openPage(context, `${demo.url}todo`);
  await page.route('**/api/event/log', (route) =>
    route.fulfill({ status: 200, contentType: 'text/event-stream', body: '' }));
  await fillSettled(page, '.todo-new-input', 'typed, not sent');
  for (const [id, request] of [['by-hand', "@get('/')"], ['by-hand-post', "@post('/api/event/log')"]]) {
    await page.evaluate(({ id, request }) => {
      const button = document.createElement('button');
      button.id = id;
      button.setAttribute('data-on-click', request);
      document.body.append(button);
    }, { id, request });
    await page.evaluate((id) => new Promise((resolve) => {
      document.addEventListener('datastar-sse', (e) => {
        if (e.detail.elId === id && e.detail.type === 'finished') resolve();
      });
      document.getElementById(id).click();
    }), id);
    await page.evaluate(() => {
      const ns = document.querySelector('.todo-new-input').getAttribute('data-bind').split('.')[0];
      document.dispatchEvent(new CustomEvent('datastar-sse', {
        detail: {
          type: 'datastar-merge-signals',
          elId: 'stube-stream',
          argsRaw: { signals: JSON.stringify({ [ns]: { new_text: '' } }) },
        },
      }));
    });
    assert.equal(await page.inputValue('.todo-new-input'), 'typed, not sent', request);
  }
  await page.unrouteAll({ behavior: 'ignoreErrors' });
  await closeContext(context);
});
