// stube's page script, loaded by every shell page next to Datastar: what
// Datastar leaves to the application.
//
// An event whose answer never came (the server restarting, the network
// gone) is not posted again, since it may have been applied: Datastar gives
// up at once, announces it ("retries-failed") and rejects the click's
// promise. Say so in the error element instead of failing silently; the
// next answer, or the stream reconnecting, clears it.
const kNoAnswer =
  'The server did not answer: your last action may not have gone through. ' +
  'The page reconnects by itself; then check it and try again.';

document.addEventListener('datastar-sse', (event) => {
  const { type, elId } = event.detail ?? {};
  if (type !== 'retries-failed' || elId === 'stube-stream') return;
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
