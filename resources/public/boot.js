// Before the first screen is drawn (a classic script after the runtime's globals, so no module has
// run yet): the attributes the stylesheet reads at the first layout. The UI font depends on the
// platform (styles.css: system-ui costs WebKitGTK ~15 ms at the first layout on Linux), and a theme
// chosen in the app (stores/prefs.ts, which keeps it in sync afterwards) must not flash the default.
// Then, in a build, the app's script: `data-app` names it (vite.config.ts), and it is fetched once
// the first screen index.html carries has been drawn, so its parse does not hold that frame back.
(() => {
  const root = document.documentElement;
  root.dataset.os = String(globalThis.NL_OS ?? '');
  try {
    const theme = localStorage.getItem('sim.theme');
    if (theme === 'light' || theme === 'dark') root.dataset.theme = theme;
  } catch {
    // Storage refused: the system's theme until the app's own preference store says otherwise.
  }
  const app = document.currentScript?.dataset.app;
  if (!app) return; // `npm run dev`: the dev server's index.html loads the app itself
  let loaded = false;
  const load = () => {
    if (loaded) return;
    loaded = true;
    const script = document.createElement('script');
    script.type = 'module';
    script.src = app;
    document.head.append(script);
  };
  // After the frame is painted. A hidden or minimised window draws none: then at once. A short
  // timeout instead would fire before the first frame whenever the machine is busy (here, under
  // load, that frame came up to ~100 ms after this script), and the parse would hold it back again.
  if (document.visibilityState === 'hidden') return load();
  requestAnimationFrame(() => setTimeout(load));
  document.addEventListener('visibilitychange', load, { once: true });
  setTimeout(load, 2000); // a visible window that never draws: never seen, but never stuck either
})();
