/** The native calls the app needs, and those a hostile page script would make; shared by the stand-in and real-runtime checks. */

/** What the page (@neutralinojs/lib's dispatch) and the sidecar (event broadcast) call, and nothing else. */
export const NEEDED = ['app.broadcast', 'extensions.dispatch', 'extensions.getStats'];

/**
 * The allow list: what the app always calls; the system file dialog, opened only when the person picks
 * a model file; and `app.exit`, with which "Restart the app" asks the launcher to start it again
 * (a page that can close its own window gains nothing by it).
 */
export const ALLOWED = [...NEEDED, 'app.exit', 'os.showOpenDialog'].sort();

/** Calls a hostile page script would make, with the arguments that would hurt. */
export const ATTACKS = (dbFile: string): [string, unknown][] => [
  ['window.snapshot', { path: dbFile }],
  ['filesystem.readFile', { path: dbFile }],
  ['filesystem.readBinaryFile', { path: '/etc/passwd' }],
  ['filesystem.writeFile', { path: dbFile, data: '' }],
  ['filesystem.remove', { path: dbFile }],
  ['os.execCommand', { command: 'id' }],
  ['os.spawnProcess', { command: 'id' }],
  ['os.open', { url: 'https://example.com' }],
  ['os.getEnvs', {}],
  ['app.getConfig', {}],
  ['app.killProcess', {}],
  ['window.setTitle', { title: 'pwned' }],
  ['window.print', {}],
  ['events.broadcast', { event: 'sim.reply', data: {} }],
  ['extensions.broadcast', { event: 'sim.request', data: {} }],
  ['storage.setData', { key: 'k', data: 'v' }],
  ['clipboard.readText', {}],
  ['net.request', { url: 'http://127.0.0.1:1/' }],
  ['server.mount', { path: '/x', target: '/' }],
  ['resources.readFile', { path: '/neutralino.config.json' }],
  ['debug.log', { message: 'x' }],
  ['custom.getMethods', {}],
];
