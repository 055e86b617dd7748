// Injected by bench/launch.bench.ts (--window-inject-script) into both the app and the trivial page:
// says on the console (which the runtime writes to stdout with the inspector enabled) when the page
// first shows a text field a person can type into. Runs at document start, before the page's own code.
// Then, in the app, when the app itself has taken over: its #app no longer carries the first screen
// index.html brings (`data-shell`) and shows such a field.
(() => {
  const FIELD = 'input:not([disabled]):not([type=hidden]):not([type=button]), textarea:not([disabled])';
  const shows = (root) => {
    const field = root?.querySelector(FIELD) ?? null;
    return field !== null && field.getClientRects().length > 0;
  };
  const mounted = () => {
    const app = document.getElementById('app');
    if (app !== null && !app.hasAttribute('data-shell') && shows(app)) console.log('sim-bench: app mounted');
    else requestAnimationFrame(mounted);
  };
  const check = () => {
    if (!shows(document)) return requestAnimationFrame(check);
    console.log('sim-bench: takes input');
    if (document.getElementById('app') !== null) mounted();
  };
  requestAnimationFrame(check);
})();
