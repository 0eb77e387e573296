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

document.addEventListener('datastar-sse', (event) => {
  const { type, elId, argsRaw } = event.detail ?? {};
  if (elId === 'stube-stream') return;
  if (type !== 'retries-failed' && !(type === 'error' && kProxyDown.has(argsRaw?.status))) return;
  const box = document.getElementById('stube-error');
  if (!box) return;
  const message = document.createElement('div');
  message.className = 'stube-error-message';
  message.textContent = kNoAnswer;
  box.replaceChildren(message);
});

// The rejected promise is that failure, already shown: not an uncaught error.
window.addEventListener('unhandledrejection', (event) => {
  if (String(event.reason?.message ?? event.reason).includes('SseFetchFailed')) {
    event.preventDefault();
  }
});

// A view the server replaces (the root's contents, when a dialog is called
// or answers) takes the element that had the focus with it: focus falls to
// <body>, and a keyboard user would start again from the top of the page.
// Give it to the new view's [autofocus] element (autofocus itself works at
// page load only).
const root = document.getElementById('stube-root');
if (root) {
  new MutationObserver(() => {
    if (document.activeElement && document.activeElement !== document.body) return;
    root.querySelector('[autofocus]')?.focus();
  }).observe(root, { childList: true, subtree: true });
}
