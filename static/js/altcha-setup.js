// The proof-of-work widget (static/vendor/altcha) without blob: workers, which our
// Content-Security-Policy forbids: PBKDF2/SHA-256, the only algorithm we issue, runs in the
// vendored worker file. Loaded right after the widget, before any challenge arrives.
// A module script (as the widget is): run in document order after it.
const script = document.querySelector("script[data-worker]");
const worker = script && script.getAttribute("data-worker");
if (window.$altcha && worker) {
  window.$altcha.algorithms.set("PBKDF2/SHA-256", () => new Worker(worker));
}
