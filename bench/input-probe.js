// Injected by bench/launch.bench.ts (--window-inject-script) into both the app and the trivial page:
// says on the console (which the runtime writes to stdout with the inspector enabled) when the page
// first shows a text field a person can type into. Runs at document start, before the page's own code.
(() => {
  const check = () => {
    const field = document.querySelector('input:not([disabled]):not([type=hidden]):not([type=button]), textarea:not([disabled])');
    if (field !== null && field.getClientRects().length > 0) console.log('sim-bench: takes input');
    else requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
})();
