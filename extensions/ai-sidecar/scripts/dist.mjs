// `npm run dist`: one self-contained folder that runs from a USB stick and writes only inside itself.
//   dist/sim-ai-desktop-<platform>_<arch>/
//     sim-ai-desktop(.cmd)        launcher: starts the runtime on this folder
//     neutralino-<platform>_<arch> the Neutralino runtime (when it could be had)
//     neutralino.config.json       documentRoot /resources/, the sidecar run by the bundled Node
//     resources/                   the built UI
//     extensions/ai-sidecar/       the sidecar bundle + node_modules of its two native addons only
//     node/                        the Node runtime the sidecar runs on
//     portable                     marker: all data goes to data/ beside it
//     data/models/                 with --model <file.gguf> (repeatable): models ready offline from the first start
// Built here for Linux x64; the same recipe serves Windows and macOS when run there (it copies the
// platform's own Node, runtime binary and native addon builds, nothing for other platforms or GPUs).
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSidecar } from './build.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PLATFORM = { linux: 'linux', darwin: 'mac', win32: 'win' }[process.platform];
const ARCH = { x64: 'x64', arm64: 'arm64', arm: 'armhf' }[process.arch];
const LLAMA_BINARY_PACKAGE = `@node-llama-cpp/${process.platform === 'darwin' ? 'mac' : process.platform}-${process.arch}${process.platform === 'darwin' && process.arch === 'arm64' ? '-metal' : ''}`;
const exe = process.platform === 'win32' ? '.exe' : '';
const outDir = path.join(root, 'dist', `sim-ai-desktop-${PLATFORM}_${ARCH}`);
const sidecarDir = path.join(outDir, 'extensions', 'ai-sidecar');

/** What of each native-addon package runs; the rest (sources, build trees, git bundles, maps, types) is left out. */
const SKIP = [/\.map$/, /\.d\.ts$/, /\.d\.mts$/, /(^|\/)(docs?|test|tests|\.github)(\/|$)/, /\.md$/i];
const PACKAGE_SKIP = {
  'better-sqlite3': [/^deps(\/|$)/, /^src(\/|$)/, /^build\/(?!Release\/better_sqlite3\.node$|Release$)/],
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

function writeConfig() {
  const config = JSON.parse(readFileSync(path.join(root, 'neutralino.config.json'), 'utf8'));
  config.documentRoot = '/resources/';
  config.cli = { ...config.cli, resourcesPath: '/resources/', extensionsPath: '/extensions/' };
  delete config.cli.frontendLibrary;
  // The bundled Node, by a path relative to the folder: the stick can be mounted anywhere.
  config.extensions = [{ id: 'ai.sidecar', command: `"\${NL_PATH}/node/node${exe}" "\${NL_PATH}/extensions/ai-sidecar/main.mjs" --app-dir "\${NL_PATH}"` }];
  writeFileSync(path.join(outDir, 'neutralino.config.json'), `${JSON.stringify(config, null, 2)}\n`);
}

function writeLaunchers(runtimeName) {
  const sh = `#!/bin/sh
# Starts Sim AI Desktop from this folder. exec: no launcher process stays behind.
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here" || exit 1
if [ ! -x "./${runtimeName}" ]; then
  echo "The Neutralino runtime (${runtimeName}) is missing from $here. Copy it in from a neutralinojs 6.9 release." >&2
  exit 1
fi
exec "./${runtimeName}" --load-dir-res --path="$here" --enable-extensions=true
`;
  writeFileSync(path.join(outDir, 'sim-ai-desktop'), sh);
  chmodSync(path.join(outDir, 'sim-ai-desktop'), 0o755);
  writeFileSync(path.join(outDir, 'sim-ai-desktop.cmd'), `@echo off\r\ncd /d "%~dp0"\r\nstart "" "%~dp0${runtimeName}" --load-dir-res --path="%~dp0." --enable-extensions=true\r\n`);
}

function runtimeBinary() {
  const name = `neutralino-${PLATFORM}_${ARCH}${exe}`;
  let source = path.join(root, 'bin', name);
  if (!existsSync(source)) {
    step('fetching the Neutralino runtime once (neu update)');
    spawnSync(process.execPath, [path.join(root, 'node_modules/@neutralinojs/neu/bin/neu.js'), 'update'], { cwd: root, stdio: 'inherit' });
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
    ['UI (resources/)', path.join(outDir, 'resources')],
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

export async function dist({ skipUi = false, models = [] } = {}) {
  const modelSources = models.map(checkModel);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(sidecarDir, { recursive: true });
  if (!skipUi) {
    step('building the UI');
    run(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn']);
  }
  cpSync(path.join(root, 'resources', 'dist'), path.join(outDir, 'resources'), { recursive: true });
  step('bundling the sidecar');
  await buildSidecar({ outdir: sidecarDir, minify: true, sourcemap: false });
  step(`copying native addons for ${process.platform}-${process.arch} only`);
  const packages = closure(['better-sqlite3', 'node-llama-cpp']);
  for (const name of packages) copyPackage(name);
  writeFileSync(path.join(sidecarDir, 'package.json'), '{ "type": "module", "private": true }\n');
  step('adding the Node runtime');
  mkdirSync(path.join(outDir, 'node'), { recursive: true });
  cpSync(process.execPath, path.join(outDir, 'node', `node${exe}`));
  writeConfig();
  writeFileSync(path.join(outDir, 'portable'), 'All data is kept in ./data beside this file.\n');
  const modelFiles = addModels(outDir, modelSources);
  const runtime = runtimeBinary();
  writeLaunchers(runtime.name);
  return { outDir, runtimePresent: runtime.present, models: modelFiles, ...report() };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await dist({ skipUi: process.argv.includes('--skip-ui'), models: modelArgs(process.argv.slice(2)) });
}
