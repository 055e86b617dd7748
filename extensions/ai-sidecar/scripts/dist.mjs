// `npm run dist`: one self-contained folder that runs from a USB stick and writes only inside itself.
//   dist/sim-ai-desktop-<platform>_<arch>/
//     sim-ai-desktop(.cmd)        launcher: starts the runtime on this folder
//     neutralino-<platform>_<arch> the Neutralino runtime (when it could be had)
//     resources.neu                bundle mode: neutralino.config.json (documentRoot /resources/, the
//                                  sidecar run by the bundled Node) and the built UI, as `neu build` packs
//                                  them; the runtime serves nothing outside this archive
//     extensions/ai-sidecar/       the sidecar bundle + node_modules of its two native addons only
//     node/                        the Node runtime the sidecar runs on (the current LTS, 24)
//     portable                     marker: all data goes to data/ beside it
//     data/models/                 with --model <file.gguf> (repeatable): models ready offline from the first start
// Built here for Linux x64; the same recipe serves Windows and macOS when run there (it copies the
// platform's own Node, runtime binary and native addon builds, nothing for other platforms or GPUs).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SIDECAR_BOOT, SIDECAR_MAIN, buildSidecar } from './build.mjs';
import { RESOURCES_FILE, writeResourcesBundle } from './resources-bundle.mjs';
import { webviewEnvShell } from './webview-env.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PLATFORM = { linux: 'linux', darwin: 'mac', win32: 'win' }[process.platform];
const ARCH = { x64: 'x64', arm64: 'arm64', arm: 'armhf' }[process.arch];
const LLAMA_BINARY_PACKAGE = `@node-llama-cpp/${process.platform === 'darwin' ? 'mac' : process.platform}-${process.arch}${process.platform === 'darwin' && process.arch === 'arm64' ? '-metal' : ''}`;
const exe = process.platform === 'win32' ? '.exe' : '';
const outDir = path.join(root, 'dist', `sim-ai-desktop-${PLATFORM}_${ARCH}`);
const sidecarDir = path.join(outDir, 'extensions', 'ai-sidecar');

// The folder ships the current Node LTS, not whatever Node runs this script. npm's node-<os>-<arch>
// packages carry the official binary; node-llama-cpp's Node-API builds load unchanged, and
// better-sqlite3 comes as its Node-API release (see portableSqlite). Fetched once into a gitignored cache.
const PORTABLE_NODE = process.env.SIM_PORTABLE_NODE ?? '24';
const NODE_PACKAGE = `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;
const CACHE = process.env.SIM_DIST_CACHE ?? path.join(root, '.dist-cache');

/** What of each native-addon package runs; the rest (sources, build trees, git bundles, maps, types) is left out. */
const SKIP = [/\.map$/, /\.d\.ts$/, /\.d\.mts$/, /(^|\/)(docs?|test|tests|\.github)(\/|$)/, /\.md$/i];
const PACKAGE_SKIP = {
  'node-llama-cpp': [/^llama\/gitRelease\.bundle$/, /^llama\/localBuilds(\/|$)/],
};

function step(message) {
  console.log(`• ${message}`);
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed`);
}

/** The runtime dependency closure of the externals (native addons), this platform's binaries only. */
function closure(names) {
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name) || !existsSync(path.join(root, 'node_modules', name, 'package.json'))) return;
    seen.add(name);
    const pkg = JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8'));
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      // Prebuilt llama.cpp binaries: only this platform's CPU build (no CUDA, Vulkan or other OSes).
      if (dep.startsWith('@node-llama-cpp/') && dep !== LLAMA_BINARY_PACKAGE) continue;
      visit(dep);
    }
  };
  for (const name of names) visit(name);
  return [...seen];
}

function copyPackage(name) {
  const from = path.join(root, 'node_modules', name);
  const to = path.join(sidecarDir, 'node_modules', name);
  const own = PACKAGE_SKIP[name] ?? [];
  cpSync(from, to, {
    recursive: true,
    filter: (source) => {
      const relative = path.relative(from, source).split(path.sep).join('/');
      if (relative === '') return true;
      return !SKIP.some((re) => re.test(relative)) && !own.some((re) => re.test(relative));
    },
  });
}

function sizeOf(target) {
  const info = statSync(target);
  if (!info.isDirectory()) return info.size;
  return readdirSync(target).reduce((sum, entry) => sum + sizeOf(path.join(target, entry)), 0);
}

/** The portable folder's config, packed into resources.neu with the UI. */
function portableConfig() {
  const config = JSON.parse(readFileSync(path.join(root, 'neutralino.config.json'), 'utf8'));
  config.documentRoot = '/resources/';
  config.cli = { ...config.cli, resourcesPath: '/resources/', extensionsPath: '/extensions/' };
  delete config.cli.frontendLibrary;
  // The bundled Node, by a path relative to the folder: the stick can be mounted anywhere. The
  // boot file sizes libuv's pool before Node starts it and reads the auth early (src/boot/). A 16 MiB young
  // generation from the start spares Node 24 the scavenges that grow it during start-up (spawn to
  // first reply 77 -> 71 ms median over 13 alternating rounds; idle RSS unchanged, 65 MiB). Not in
  // the checkout's command: on Node 20 the same flag made the start 10 ms slower.
  const sidecar = '${NL_PATH}/extensions/ai-sidecar';
  config.extensions = [{ id: 'ai.sidecar', command: `"\${NL_PATH}/node/node${exe}" --min-semi-space-size=16 --require "${sidecar}/${SIDECAR_BOOT}" "${sidecar}/${SIDECAR_MAIN}" --app-dir "\${NL_PATH}"` }];
  return config;
}

/** protocol/contract.ts RESTART_EXIT_CODE: the window's "Restart the app" leaves with it. */
const RESTART_EXIT_CODE = 75;

function writeLaunchers(runtimeName) {
  const sh = `#!/bin/sh
# Starts Sim AI Desktop from this folder, and again when the window asks for a restart (exit code 75).
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here" || exit 1
if [ ! -x "./${runtimeName}" ]; then
  echo "The Neutralino runtime (${runtimeName}) is missing from $here. Copy it in from a neutralinojs 6.9 release." >&2
  exit 1
fi
# Without the archive the runtime falls back to serving files from the folder: refuse instead.
if [ ! -f "./${RESOURCES_FILE}" ]; then
  echo "${RESOURCES_FILE} is missing from $here: the folder is incomplete. Copy it again from the release." >&2
  exit 1
fi
# Nothing outside this folder: WebKit keeps its cache and storage under XDG_CACHE_HOME and
# XDG_DATA_HOME, Mesa its shader cache under XDG_CACHE_HOME (else the home from the user database,
# whatever HOME says), GLib its settings in dconf (~/.cache/dconf) unless told to keep them in memory.
for dir in data/webview/cache data/webview/share data/webview/config; do mkdir -p "$here/$dir" 2>/dev/null; done
export XDG_CACHE_HOME="$here/data/webview/cache"
export XDG_DATA_HOME="$here/data/webview/share"
export XDG_CONFIG_HOME="$here/data/webview/config"
export GSETTINGS_BACKEND=memory
# The window's WebKit settings, unless already set (see webview-env.mjs in the source).
${webviewEnvShell()}
while :; do
  "./${runtimeName}" --path="$here" --enable-extensions=true
  code=$?
  [ "$code" -eq ${RESTART_EXIT_CODE} ] || exit "$code"
done
`;
  writeFileSync(path.join(outDir, 'sim-ai-desktop'), sh);
  chmodSync(path.join(outDir, 'sim-ai-desktop'), 0o755);
  writeFileSync(path.join(outDir, 'sim-ai-desktop.cmd'), `@echo off\r\ncd /d "%~dp0"\r\nif not exist "%~dp0${RESOURCES_FILE}" (echo ${RESOURCES_FILE} is missing: the folder is incomplete. & exit /b 1)\r\n:run\r\nstart "" /wait "%~dp0${runtimeName}" --path="%~dp0." --enable-extensions=true\r\nif %errorlevel%==${RESTART_EXIT_CODE} goto run\r\n`);
}

function runtimeBinary() {
  const name = `neutralino-${PLATFORM}_${ARCH}${exe}`;
  let source = path.join(root, 'bin', name);
  if (!existsSync(source)) {
    step('fetching the Neutralino runtime once (neu update)');
    // Output captured: offline, neu ends in a stack trace; the message below says what to do.
    spawnSync(process.execPath, [path.join(root, 'node_modules/@neutralinojs/neu/bin/neu.js'), 'update'], { cwd: root, stdio: 'pipe' });
  }
  if (existsSync(source)) {
    cpSync(source, path.join(outDir, name));
    chmodSync(path.join(outDir, name), 0o755);
    return { name, present: true };
  }
  console.warn(`
! The Neutralino runtime could not be downloaded (no internet access?). The folder is complete
  except for it. To finish: copy ${name} from the neutralinojs v6.9.0 release zip into
  ${outDir}${path.sep}
  (or into ./bin/ and run npm run dist again).`);
  return { name, present: false };
}

function report() {
  const parts = [
    ['Node runtime (node/)', path.join(outDir, 'node')],
    ['llama.cpp binaries', path.join(sidecarDir, 'node_modules', LLAMA_BINARY_PACKAGE)],
    ['node-llama-cpp JS', path.join(sidecarDir, 'node_modules', 'node-llama-cpp')],
    ['better-sqlite3', path.join(sidecarDir, 'node_modules', 'better-sqlite3')],
    ['other sidecar dependencies', null],
    ['sidecar bundle', null],
    ['UI and config (resources.neu)', path.join(outDir, RESOURCES_FILE)],
    ['Neutralino runtime', null],
  ];
  const total = sizeOf(outDir);
  const modules = sizeOf(path.join(sidecarDir, 'node_modules'));
  const sidecarTotal = sizeOf(sidecarDir);
  const known = Object.fromEntries(parts.filter(([, p]) => p && existsSync(p)).map(([label, p]) => [label, sizeOf(p)]));
  known['other sidecar dependencies'] = modules - (known['llama.cpp binaries'] ?? 0) - (known['node-llama-cpp JS'] ?? 0) - (known['better-sqlite3'] ?? 0);
  known['sidecar bundle'] = sidecarTotal - modules;
  const runtime = readdirSync(outDir).find((f) => f.startsWith('neutralino-'));
  known['Neutralino runtime'] = runtime ? sizeOf(path.join(outDir, runtime)) : 0;
  const mib = (n) => `${(n / 2 ** 20).toFixed(1).padStart(7)} MiB`;
  console.log(`\nPortable folder: ${outDir}\nTotal ${mib(total)}`);
  for (const [label, bytes] of Object.entries(known).sort((a, b) => b[1] - a[1])) console.log(`  ${mib(bytes)}  ${label}`);
  return { total, parts: known };
}

/** `--model a.gguf --model=b.gguf`: the model files named on the command line. */
function modelArgs(argv) {
  const files = [];
  argv.forEach((arg, i) => {
    if (arg === '--model' && argv[i + 1] !== undefined) files.push(argv[i + 1]);
    else if (arg.startsWith('--model=')) files.push(arg.slice('--model='.length));
  });
  return files;
}

/** A model named with --model: an existing .gguf file that starts with GGUF's magic bytes. Checked before anything is built. */
export function checkModel(file) {
  const source = path.resolve(file);
  if (!existsSync(source) || !statSync(source).isFile()) throw new Error(`--model: no file at ${source}`);
  if (!/\.gguf$/i.test(source)) throw new Error(`--model: ${source} is not a .gguf file`);
  const magic = Buffer.alloc(4);
  const fd = openSync(source, 'r');
  try {
    readSync(fd, magic, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (magic.toString('latin1') !== 'GGUF') throw new Error(`--model: ${source} is not a GGUF model (it does not start with "GGUF")`);
  return source;
}

/** Copies checked models into a portable folder's models folder (data/models), where the app looks first. */
export function addModels(folder, sources) {
  if (sources.length === 0) return [];
  const modelsDir = path.join(folder, 'data', 'models');
  mkdirSync(modelsDir, { recursive: true });
  return sources.map((source) => {
    const target = path.join(modelsDir, path.basename(source));
    step(`adding the model ${path.basename(source)} (${(statSync(source).size / 2 ** 20).toFixed(1)} MiB)`);
    cpSync(source, target);
    return target;
  });
}

/** The portable Node, unpacked from npm's official-binary package into the cache. */
function portableNode() {
  mkdirSync(CACHE, { recursive: true });
  const cached = () =>
    readdirSync(CACHE)
      .filter((f) => f.startsWith(`${NODE_PACKAGE}-${PORTABLE_NODE}`) && f.endsWith('.tgz'))
      .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
      .at(-1);
  if (cached() === undefined) {
    step(`fetching Node ${PORTABLE_NODE} (${NODE_PACKAGE} from the npm registry) once into ${CACHE}`);
    execFileSync('npm', ['pack', `${NODE_PACKAGE}@${PORTABLE_NODE}`, '--pack-destination', CACHE, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'], shell: process.platform === 'win32' });
  }
  const tarball = cached();
  if (tarball === undefined) throw new Error(`npm pack ${NODE_PACKAGE}@${PORTABLE_NODE} left no package in ${CACHE}`);
  const dir = path.join(CACHE, tarball.replace(/\.tgz$/, ''));
  if (!existsSync(path.join(dir, 'package.json'))) {
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['xzf', path.join(CACHE, tarball), '-C', dir, '--strip-components=1']);
  }
  const binary = path.join(dir, 'bin', `node${exe}`);
  const version = execFileSync(binary, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
  return { dir, binary, version };
}

/**
 * better-sqlite3 for the portable Node. 12.x (what the checkout runs on Node 20) wraps its objects in
 * node::ObjectWrap, whose destructor on Node 24 asserts a current Environment: a statement collected
 * at shutdown (or by a GC outside any context) aborts the process (seen here on every exit;
 * WiseLibs/better-sqlite3#1515). 13.x is a Node-API build for Node >= 22 that ships one prebuilt
 * binary per platform, so the folder takes its JS and this platform's binary, fetched once.
 */
const PORTABLE_SQLITE = process.env.SIM_PORTABLE_SQLITE ?? '13';

function portableSqlite() {
  mkdirSync(CACHE, { recursive: true });
  const cached = () =>
    readdirSync(CACHE)
      .filter((f) => f.startsWith(`better-sqlite3-${PORTABLE_SQLITE}`) && f.endsWith('.tgz'))
      .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
      .at(-1);
  if (cached() === undefined) {
    step(`fetching better-sqlite3 ${PORTABLE_SQLITE} (Node-API build) once into ${CACHE}`);
    execFileSync('npm', ['pack', `better-sqlite3@${PORTABLE_SQLITE}`, '--pack-destination', CACHE, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'], shell: process.platform === 'win32' });
  }
  const tarball = cached();
  if (tarball === undefined) throw new Error(`npm pack better-sqlite3@${PORTABLE_SQLITE} left no package in ${CACHE}`);
  const dir = path.join(CACHE, tarball.replace(/\.tgz$/, ''));
  if (!existsSync(path.join(dir, 'package.json'))) {
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['xzf', path.join(CACHE, tarball), '-C', dir, '--strip-components=1']);
  }
  return dir;
}

/** Where the folder keeps better-sqlite3's addon (and package.json), relative to the sidecar. */
const SQLITE_DIR = path.join('node_modules', 'better-sqlite3');

function copySqlite(from) {
  const to = path.join(sidecarDir, SQLITE_DIR);
  // Its lib/ is in the bundle, which loads the addon by the path the build wrote (build.mjs); the
  // package.json and licence stay to say which release the folder ships.
  for (const part of ['package.json', 'LICENSE']) cpSync(path.join(from, part), path.join(to, part), { recursive: true });
  const target = `${process.platform}-${process.arch}`;
  const binary = path.join(from, 'prebuilds', `${target}.node`);
  if (!existsSync(binary)) throw new Error(`better-sqlite3 has no prebuilt binary for ${target}`);
  mkdirSync(path.join(to, 'prebuilds'), { recursive: true });
  cpSync(binary, path.join(to, 'prebuilds', `${target}.node`));
}

export async function dist({ skipUi = false, models = [] } = {}) {
  const modelSources = models.map(checkModel);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(sidecarDir, { recursive: true });
  if (!skipUi) {
    step('building the UI');
    run(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn']);
  }
  // The bundle carries better-sqlite3's JavaScript: the release whose addon the folder ships.
  const sqlite = portableSqlite();
  step('bundling the sidecar');
  await buildSidecar({ outdir: sidecarDir, minify: true, sourcemap: false, sqlite, sqliteAddon: path.join(SQLITE_DIR, 'prebuilds', `${process.platform}-${process.arch}.node`) });
  step(`copying native addons for ${process.platform}-${process.arch} only`);
  const packages = closure(['node-llama-cpp']);
  for (const name of packages) copyPackage(name);
  copySqlite(sqlite);
  writeFileSync(path.join(sidecarDir, 'package.json'), '{ "type": "module", "private": true }\n');
  const node = portableNode();
  step(`adding Node ${node.version}`);
  mkdirSync(path.join(outDir, 'node'), { recursive: true });
  cpSync(node.binary, path.join(outDir, 'node', `node${exe}`));
  // The official Linux binary carries its symbol table (12 MiB); stack traces do not need it.
  if (process.platform === 'linux') spawnSync('strip', [path.join(outDir, 'node', 'node')], { stdio: 'ignore' });
  step(`packing the UI and config into ${RESOURCES_FILE}`);
  await writeResourcesBundle({ config: portableConfig(), uiDir: path.join(root, 'resources', 'dist'), out: path.join(outDir, RESOURCES_FILE) });
  writeFileSync(path.join(outDir, 'portable'), 'All data is kept in ./data beside this file.\n');
  const modelFiles = addModels(outDir, modelSources);
  const runtime = runtimeBinary();
  writeLaunchers(runtime.name);
  return { outDir, runtimePresent: runtime.present, nodeVersion: node.version, models: modelFiles, ...report() };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await dist({ skipUi: process.argv.includes('--skip-ui'), models: modelArgs(process.argv.slice(2)) });
}
