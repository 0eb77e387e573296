// stube's page script, loaded by every shell page next to Datastar: what
// Datastar leaves to the application.
//
// An event whose answer never came (the server restarting, the network
// gone) is not posted again, since it may have been applied: Datastar gives
// up at once, announces it ("retries-failed") and rejects the click's
// promise. A proxy in front of a server that is down answers 502, 503 or 504
// instead ("error", with the status, before the body is read). Say so in
// the error element instead of failing silently; the next answer, or the
// stream reconnecting, clears it. (stube's own 503 carries a message of its
// own in its body, which then replaces this one.)
const kProxyDown = new Set(['502', '503', '504']);
const kNoAnswer =
  'The server did not answer: your last action may not have gone through. ' +
  'Check the page once the server is back, and try again.';

// Puts `text` into the page's error element (the stream's next view
// empties it).
function say(text) {
  const box = document.getElementById('stube-error');
  if (!box) return;
  const message = document.createElement('div');
  message.className = 'stube-error-message';
  message.textContent = text;
  box.replaceChildren(message);
}

document.addEventListener('datastar-sse', (event) => {
  const { type, elId, argsRaw } = event.detail ?? {};
  if (elId === 'stube-stream') return;
  if (type !== 'retries-failed' && !(type === 'error' && kProxyDown.has(argsRaw?.status))) return;
  say(kNoAnswer);
});

// The rejected promise is that failure, already shown: not an uncaught error.
window.addEventListener('unhandledrejection', (event) => {
  if (String(event.reason?.message ?? event.reason).includes('SseFetchFailed')) {
    event.preventDefault();
  }
});

// The page's stream. Datastar opens it again after a network error (a
// server that is down refuses the connection; stube cuts its own 503s
// short for that reason), but it takes any *complete* response as the
// stream's end, whatever its status, and it cannot tell a stream that went
// silent from one with nothing to say. Behind a proxy both happen: while
// the server restarts the proxy answers a complete 502, 503 or 504; and a
// proxy whose server vanished (or a route that broke without a reset) keeps
// the page's connection open with nothing on it. Either would leave the
// page dead without a word, its clicks applied but never shown. So:
// - a stream that ended on a status that says "try again" is opened again,
//   after a growing delay, and the page says so meanwhile;
// - a stream that brought nothing for 2.5 keep-alive intervals (the server
//   sends one every interval, in an event Datastar passes on) is cut and
//   opened again.
// Other ends are final: the conversation ended (a complete 200), the page
// is stale (410) or not the owner's (403).
const kTryAgain = new Set(['408', '429', '500', '502', '503', '504']);
const kReconnecting = 'The connection to the server was lost: reconnecting…';
// The shell's inline script sets it, and follows whether a @get of the
// stream runs (`live`): the first may start before this script loads.
const stream = window.stubeStream;
let endStatus = null;     // the status of the response being read, if >= 400
let cutByUs = false;      // the next "finished" is the stream cut here
let attempts = 0;         // reopenings since the stream last brought data
let reopenTimer = 0;
let silenceTimer = 0;

// Datastar runs a data-on-load again on an element that enters the page:
// a copy of the stream's form opens a new stream (with a new abort signal).
function reopen() {
  reopenTimer = 0;
  const form = document.getElementById('stube-stream');
  if (!form) return;
  if (stream) {
    if (stream.live) {
      cutByUs = true;
      stream.abort.abort();  // its "finished" comes before the copy's "started"
    }
    stream.abort = new AbortController();
  }
  form.replaceWith(form.cloneNode(true));
}

function reopenLater() {
  const delay = Math.min(4000, 500 * 1.5 ** attempts) * (0.5 + Math.random() / 2);
  attempts += 1;
  window.clearTimeout(reopenTimer);
  reopenTimer = window.setTimeout(reopen, delay);
}

// Armed while a @get runs, from its start (a request whose answer never
// comes is as dead as a stream gone quiet) and again by each event it
// brings; Datastar's own retries of it do not disarm it.
function watchForSilence() {
  window.clearTimeout(silenceTimer);
  const limit = 2.5 * (stream?.keepAliveMs ?? 0);
  if (limit > 0 && limit < 2 ** 31) silenceTimer = window.setTimeout(reopen, limit);
}

document.addEventListener('datastar-sse', (event) => {
  const { type, elId, argsRaw } = event.detail ?? {};
  if (elId !== 'stube-stream') return;
  if (type === 'started') {
    endStatus = null;
    cutByUs = false;
    watchForSilence();
  } else if (type === 'error') {
    endStatus = argsRaw?.status ?? null;
  } else if (type === 'retrying') {  // Datastar opens it again itself
    endStatus = null;
  } else if (type === 'finished') {
    window.clearTimeout(silenceTimer);
    if (cutByUs) {
      cutByUs = false;
    } else if (kTryAgain.has(endStatus)) {
      say(kReconnecting);
      reopenLater();
    }
  } else if (endStatus === null) {  // data, or a keep-alive, on a stream that is up
    attempts = 0;
    watchForSilence();
  }
});
if (stream?.live) watchForSilence();  // started before this script loaded

// Text the user typed (or a box they ticked) that has not reached the
// server yet is not overwritten by the server's copy of that field. A
// stream that reconnects (the server restarted while the user typed) sends
// every kept signal again, and an event's answer sends the fields its
// handler set while the user may have typed on since the event left. So
// every edit of a bound field gets a number; an event (or back) carries the
// edits made before it started (@post sends every signal), and once the
// server has answered it they are the server's. A merge-signals from the
// server leaves out the fields edited since: in an answer, since its own
// request left (answers to different elements may come in any order);
// elsewhere, since the last request the server answered. (A view merged
// meanwhile leaves a field's typed value alone: Datastar's morph does not
// set it.) Other requests of the page (one written by hand, to another
// address) carry nothing to stube.
let edits = 0;                   // edits of bound fields so far
let editsReceived = 0;           // of those, the ones the server has answered for
const lastEdit = new Map();      // bound signal ("ns.name") → the number of its last edit
// Requests in flight by their element's id (Datastar names a request so; it
// gives every element with data-* attributes an id), oldest first.
const inFlight = new Map();      // id → [{ edits: carried, refused, since: started at }]
// stube's own requests: a @post to this page's event or back route (base
// path and cid as the stream's @get has them), not any URL with an /event/.
const kStubeRequest = (() => {
  const load = document.getElementById('stube-stream')?.getAttribute('data-on-load') ?? '';
  const found = /^@get\('(.*)\/sse\/([^'/]+)'/.exec(load);
  if (!found) return /(?!)/;  // no stream on this page: nothing is stube's
  const literal = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const [base, cid] = [literal(found[1]), literal(found[2])];
  return new RegExp(`^@post\\('${base}/(event/${cid}/|back/${cid}')`);
})();

function noteEdit(field) {
  const name = field?.getAttribute?.('data-bind');
  if (name) lastEdit.set(name, ++edits);
}
document.addEventListener('input', (event) => noteEdit(event.target), true);
document.addEventListener('change', (event) => noteEdit(event.target), true);

// The page takes typing before its deferred scripts run (Datastar's
// data-bind then took the typed text as the signal): such a field counts as
// edited.
function changedByTheUser(field) {
  if (field instanceof HTMLInputElement && (field.type === 'checkbox' || field.type === 'radio')) {
    return field.checked !== field.defaultChecked;
  }
  if (field instanceof HTMLInputElement || field instanceof HTMLTextAreaElement) {
    return field.value !== field.defaultValue;
  }
  return false;
}
for (const field of document.querySelectorAll('[data-bind]')) {
  if (changedByTheUser(field)) noteEdit(field);
}

// The signals of `raw` (JSON) but those of fields edited after edit `seen`.
function withoutEditsSince(raw, seen) {
  const later = [...lastEdit].filter(([, edit]) => edit > seen);
  if (later.length === 0) return raw;
  let signals;
  try {
    signals = JSON.parse(raw);
  } catch {
    return raw;  // not stube's JSON: Datastar reports it
  }
  for (const [bound] of later) {
    const [namespace, name] = bound.split('.', 2);
    if (signals?.[namespace] && typeof signals[namespace] === 'object') delete signals[namespace][name];
  }
  return JSON.stringify(signals);
}

function carriesEdits(elId) {
  const el = document.getElementById(elId);
  return Boolean(el?.getAttributeNames().some(
    (name) => name.startsWith('data-on') && kStubeRequest.test(el.getAttribute(name))));
}

function answered(request) {
  if (request?.carries && !request.refused) editsReceived = Math.max(editsReceived, request.edits);
}

// An edit no answer can still be ahead of (the server has it, and every
// request in flight carries it) is forgotten: lastEdit stays as small as
// the edits not yet answered, over a long life of dialogs and fields.
function forgetAnsweredEdits() {
  let floor = editsReceived;
  for (const requests of inFlight.values()) {
    for (const request of requests) floor = Math.min(floor, request.edits);
  }
  for (const [name, edit] of lastEdit) {
    if (edit <= floor) lastEdit.delete(name);
  }
}

// On the window, while capturing: before Datastar's own listeners on the
// document apply the event.
window.addEventListener('datastar-sse', (event) => {
  const { type, elId, argsRaw } = event.detail ?? {};
  let seen = editsReceived;
  if (elId !== 'stube-stream' && elId !== 'stube-signals') {
    const requests = inFlight.get(elId) ?? [];
    if (type === 'started') {
      const carries = carriesEdits(elId);
      inFlight.set(elId, [...requests, { edits, carries, refused: false, since: Date.now() }]);
    } else if (type === 'error' || type === 'retries-failed') {
      if (requests[0]) requests[0].refused = true;
    } else if (type === 'finished') {
      answered(requests.shift());
      if (requests.length === 0) inFlight.delete(elId);
      forgetAnsweredEdits();
    } else if (type !== 'retrying' && requests[0]) {
      answered(requests[0]);  // the answer's first event: the server had the signals
      seen = Math.min(seen, requests[0].edits);
    }
  }
  if (type === 'datastar-merge-signals' && argsRaw) {
    argsRaw.signals = withoutEditsSince(argsRaw.signals, seen);
  }
}, true);

// The conversation's kept signals as it started (the shell's JSON data):
// merged into Datastar's signals as the stream's merge-signals events are,
// so that the view's bound fields and expressions have them from the start.
// (Datastar's data-signals attribute would not do: it runs its value
// through its expression rewriting, which changes text such as "$a" or
// "@get(" inside the strings.)
const keptSignals = document.getElementById('stube-signals');
if (keptSignals) {
  document.dispatchEvent(new CustomEvent('datastar-sse', {
    detail: {
      type: 'datastar-merge-signals',
      elId: 'stube-signals',
      argsRaw: { signals: keptSignals.textContent },
    },
  }));
}

// A form whose event is under way: submitted again (Enter pressed twice, a
// double click on its button, a second click on a slow network) it would
// post the same data again, and the server would add it twice. Such a
// submit is dropped while the event's answer is out, for at most
// kSubmitGuardMs: an answer that never comes (a route that broke without a
// reset) must not leave the form dead. Clicks on buttons are not dropped:
// each click on a counter's "+" counts.
const kSubmitGuardMs = 5000;
document.addEventListener('submit', (event) => {
  const form = event.target;
  const requests = form instanceof HTMLFormElement ? inFlight.get(form.id) : undefined;
  if (!requests || Date.now() - requests.at(-1).since >= kSubmitGuardMs) return;
  event.preventDefault();
  event.stopImmediatePropagation();  // before Datastar's listener on the form
}, true);

// Escape answers a stock dialog the way that changes nothing, as it closes
// a dialog of the browser's own: Cancel (prompt, choose), No (confirm), OK
// (info). The dialog that holds the focus, else, when nothing has it, the
// page's only one; Escape in a field of the page's own does nothing.
const kEscapeAnswers = new Map([
  ['stube-prompt', '.stube-cancel'],
  ['stube-choose', '.stube-cancel'],
  ['stube-confirm', '.stube-no'],
  ['stube-info', '.stube-ok'],
]);

function escapeAnswer(dialog) {
  for (const [kind, answer] of kEscapeAnswers) {
    if (dialog?.classList.contains(kind)) return dialog.querySelector(answer);
  }
  return null;
}

document.addEventListener('keydown', (event) => {
  // A held Escape answers one dialog, not the next one too.
  if (event.key !== 'Escape' || event.repeat || event.defaultPrevented || event.isComposing) return;
  const dialogs = document.querySelectorAll('.stube-dialog');
  const active = document.activeElement;
  const nowhere = !active || active === document.body;  // not typing somewhere else
  const dialog = active?.closest?.('.stube-dialog') ??
    (nowhere && dialogs.length === 1 ? dialogs[0] : null);
  const button = escapeAnswer(dialog);
  if (!button) return;
  event.preventDefault();
  button.click();
});

// A view the server replaces (the root's contents, when a dialog is called
// or answers; an instance's, when it is drawn again) takes the element that
// had the focus with it: focus falls to <body>, and a keyboard user would
// start again from the top of the page. Give it to the new view's
// [autofocus] element (autofocus itself works at page load only); failing
// that, when the focused element is gone (not when the user merely clicked
// elsewhere), to the first control of the nearest instance that is still
// on the page (a row saved or cancelled: back to its list's controls), or
// of the new view. A dialog that answers gives the focus back to the
// control that had it when the dialog was called (the row's Delete, after
// its confirm's "No"), when that control's instance is back.
const root = document.getElementById('stube-root');
const kControls = 'input:not([type="hidden"]), button, select, textarea, a[href], [tabindex]';
// The element that last had the focus, its instances (nearest first), its
// place among the controls of the nearest, and whether a dialog holds it.
let focused = null;
let returnTo = null;  // `focused` as it was when the open dialog was called
function rememberFocus(element) {
  const instances = [];
  for (let el = element.closest?.('[id^="ix-"]'); el; el = el.parentElement?.closest('[id^="ix-"]')) {
    instances.push(el.id);
  }
  const home = instances.length ? document.getElementById(instances[0]) : null;
  focused = {
    element,
    instances,
    index: home ? [...home.querySelectorAll(kControls)].indexOf(element) : -1,
    inRoot: Boolean(root?.contains(element)),
    inDialog: Boolean(element.closest?.('.stube-dialog')),
  };
}
document.addEventListener('focusin', (event) => rememberFocus(event.target));
// The browser may have given the first view's [autofocus] element the
// focus before this deferred script ran: no focusin came here for it.
if (document.activeElement && document.activeElement !== document.body) {
  rememberFocus(document.activeElement);
}

const usable = (el) => el && !el.disabled && el.getClientRects().length > 0;
function firstControl(container) {
  return container && [...container.querySelectorAll(kControls)].find(usable);
}

// A dialog took the focus from a control that went with the view.
function focusLeftForDialog() {
  return focused && !focused.element.isConnected && !focused.inDialog;
}

// The dialog that had the focus answered: back to where it was called from.
function focusBackFromDialog() {
  if (!returnTo || !focused || focused.element.isConnected || !focused.inDialog) return false;
  const back = returnTo;
  returnTo = null;
  const home = back.instances.length ? document.getElementById(back.instances[0]) : null;
  const control = home && [...home.querySelectorAll(kControls)][back.index];
  if (!usable(control)) return false;
  giveFocus(control);
  return true;
}

function focusWhereItWas() {
  if (!focused || focused.element.isConnected) return;
  const places = focused.instances.map((id) => document.getElementById(id));
  if (focused.inRoot) places.push(root);
  for (const place of places) {
    const control = firstControl(place);
    if (control) {
      giveFocus(control);
      return;
    }
  }
}

// A key pressed twice in quick succession (Enter in a prompt's field, and
// again a moment later), or held until it repeats, lands its second press
// on the control the next view was given the focus to: a confirm's "No"
// would be answered before the user had read its question. So a held Enter
// or Space that repeats into another control than the one it went down on
// presses nothing there; and a control given the focus here within
// kKeyToViewMs of such a key ignores it for kFreshFocusMs (any other key
// pressed there first ends that). A view that came after a click, or
// after another key (Escape), takes Enter at once. The control carries
// data-stube-settling while it ignores the keys (tests wait for it to go).
// A text field given the focus so has its caret at the end of its text,
// where typing goes on (a prompt asked again with the last answer).
const kFreshFocusMs = 500;
const kKeyToViewMs = 1000;
const kTextEntry = 'textarea, input:not([type="button"], [type="submit"], [type="reset"], ' +
  '[type="checkbox"], [type="radio"], [type="image"], [type="file"], [type="color"])';
// Enter anywhere, Space where it presses (a button, a checkbox), not where it types.
const activates = (event) =>
  event.key === 'Enter' || (event.key === ' ' && !event.target.matches?.(kTextEntry));
let pressed = { target: null, at: -Infinity };  // the last such key that went down
let fresh = null;  // { control, at }: the control given the focus, and when
function giveFocus(control) {
  control.focus();
  if (document.activeElement !== control) return;
  caretToEnd(control);
  if (performance.now() - pressed.at > kKeyToViewMs) return;
  fresh = { control, at: performance.now() };
  control.setAttribute('data-stube-settling', '');
  setTimeout(() => control.removeAttribute('data-stube-settling'), kFreshFocusMs);
}
function caretToEnd(control) {
  if (!control.matches(kTextEntry)) return;
  const end = control.value.length;
  try {
    control.setSelectionRange(end, end);
  } catch {
    // An input type without a caret of its own (email, number): left as it is.
  }
}
const forgetPressed = () => {
  pressed = { target: null, at: -Infinity };
};
document.addEventListener('pointerdown', forgetPressed, true);
function ignore(event) {
  event.preventDefault();
  event.stopImmediatePropagation();  // before Datastar's listeners
}
document.addEventListener('keydown', (event) => {
  if (activates(event)) {
    if (event.repeat && event.target !== pressed.target) return ignore(event);
    if (!event.repeat) pressed = { target: event.target, at: performance.now() };
  } else {
    forgetPressed();
  }
  if (!fresh || event.target !== fresh.control) return;
  if (activates(event) && performance.now() - fresh.at < kFreshFocusMs) {
    pressed.target = null;  // and its repeats, should it be held past the half second
    return ignore(event);
  }
  fresh = null;
}, true);

if (root) {
  new MutationObserver(() => {
    if (document.activeElement && document.activeElement !== document.body) return;
    const autofocus = root.querySelector('[autofocus]');
    if (autofocus) {
      if (autofocus.closest('.stube-dialog') && focusLeftForDialog()) returnTo = focused;
      giveFocus(autofocus);
    } else if (!focusBackFromDialog()) {
      focusWhereItWas();
    }
  }).observe(root, { childList: true, subtree: true });
}
