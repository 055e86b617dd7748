// `npm start` / `npm run dev`: makes sure the Neutralino runtime binary is present (downloading it
// once with `neu update`), then opens the window on the built UI. `--dev` opens it on the Vite dev
// server instead (neutralino.config.json `cli.frontendLibrary`), with hot reload.
// `npm start` runs the runtime in bundle mode (resources.neu, see resources-bundle.mjs); dev mode is
// the only one that serves files from a directory.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESOURCES_FILE, writeResourcesBundle } from './resources-bundle.mjs';
import { withWebviewEnv } from './webview-env.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dev = process.argv.includes('--dev');
/** protocol/contract.ts RESTART_EXIT_CODE: the page asks for a restart by leaving with it. */
const RESTART_EXIT_CODE = 75;

const PLATFORM = { linux: 'linux', darwin: 'mac', win32: 'win' }[process.platform];
const ARCH = { x64: 'x64', arm64: 'arm64', arm: 'armhf' }[process.arch];
const binary = path.join(root, 'bin', `neutralino-${PLATFORM}_${ARCH}${process.platform === 'win32' ? '.exe' : ''}`);

/** The runtime's environment: this one, plus the window's WebKit settings (see webview-env.mjs). */
const env = withWebviewEnv(process.env);

function neu(args, stdio = 'inherit') {
  const cli = path.join(root, 'node_modules', '@neutralinojs', 'neu', 'bin', 'neu.js');
  return spawnSync(process.execPath, [cli, ...args], { cwd: root, stdio, encoding: 'utf8', env });
}

if (!existsSync(binary)) {
  console.log('The Neutralino runtime is not in ./bin yet: fetching it once with `neu update`...');
  // Captured: offline, neu dies with a stack trace that would bury the instructions below.
  const update = neu(['update'], ['inherit', 'pipe', 'pipe']);
  if (update.status !== 0 || !existsSync(binary)) {
    const reason = `${update.stdout ?? ''}\n${update.stderr ?? ''}`.match(/^\w*Error: (.+)$/m)?.[1];
    console.error(`
Could not download the Neutralino runtime${reason ? ` (${reason})` : ''}.`);
    console.error(`This machine may have no internet access. What to do:
  1. On a machine with internet, run \`npx neu update\` in a copy of this project, or download
     neutralinojs-v6.9.0.zip from the neutralinojs releases page.
  2. Copy ${path.basename(binary)} into ${path.join(root, 'bin')}${path.sep} (nothing else is needed:
     the UI bundles the client library).
  3. Run \`npm start\` again.
The sidecar and UI are built already; \`npm run -s ask -- --help\` shows how to run AI blocks headless meanwhile.`);
    process.exit(1);
  }
}

// Dev: `neu run` sees `cli.frontendLibrary`, starts Vite (`npm run dev:ui`) and points the window at it.
// Start: the runtime itself in bundle mode, the config and built UI packed into resources.neu.
let run;
if (dev) {
  run = neu(['run']);
} else {
  const config = JSON.parse(readFileSync(path.join(root, 'neutralino.config.json'), 'utf8'));
  const bundle = await writeResourcesBundle({ config, uiDir: path.join(root, 'resources', 'dist'), out: path.join(root, RESOURCES_FILE) });
  // Without the archive the runtime would quietly fall back to directory mode.
  if (!existsSync(bundle)) throw new Error(`${bundle} was not written`);
  // The window's "Restart the app" leaves with RESTART_EXIT_CODE (protocol/contract.ts): start again.
  do run = spawnSync(binary, [`--path=${root}`], { cwd: root, stdio: 'inherit', env });
  while (run.status === RESTART_EXIT_CODE);
}
process.exit(run.status ?? 1);
