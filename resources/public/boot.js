// Before the first screen is drawn (a classic script after the runtime's globals, so no module has
// run yet): the attributes the stylesheet reads at the first layout. The UI font depends on the
// platform (styles.css: system-ui costs WebKitGTK ~15 ms at the first layout on Linux), and a theme
// chosen in the app (stores/prefs.ts, which keeps it in sync afterwards) must not flash the default.
(() => {
  const root = document.documentElement;
  root.dataset.os = String(globalThis.NL_OS ?? '');
  try {
    const theme = localStorage.getItem('sim.theme');
    if (theme === 'light' || theme === 'dark') root.dataset.theme = theme;
  } catch {
    // Storage refused: the system's theme until the app's own preference store says otherwise.
  }
})();
