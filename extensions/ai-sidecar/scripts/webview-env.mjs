// What the launchers (`npm start`, the portable folder's sim-ai-desktop) set for the window's
// WebKitGTK engine, each only when the person has not set it already.
//
// WEBKIT_DISABLE_COMPOSITING_MODE=1: without a GPU (this app's usual machine) WebKitGTK composites
// layers through Mesa's software GL (llvmpipe), which keeps a GL context, its buffers and LLVM's
// code resident in the page process: measured in the real 6.9.0 runtime under Xvfb, the page process
// of an idle window took about 65 MiB more with it than without, for a UI that has nothing to
// animate on a GPU. Pages are then painted by the CPU into the window directly. Set it to 0 before
// launching to get WebKit's default back.
export const WEBVIEW_ENV = Object.freeze({ WEBKIT_DISABLE_COMPOSITING_MODE: '1' });

/** `env` with the launcher's WebKit settings added where `env` has none of its own. */
export function withWebviewEnv(env) {
  const result = { ...env };
  for (const [name, value] of Object.entries(WEBVIEW_ENV)) result[name] ??= value;
  return result;
}

/** The same, as POSIX shell lines for the portable launcher (`: "${NAME:=value}"` keeps a set value). */
export function webviewEnvShell() {
  return Object.entries(WEBVIEW_ENV).map(([name, value]) => `: "\${${name}:=${value}}"\nexport ${name}`).join('\n');
}
