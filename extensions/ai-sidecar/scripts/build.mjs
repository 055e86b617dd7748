// Bundles the sidecar into dist/ with esbuild. SDKs are split into chunks that load on first use, so
// an idle sidecar parses only the channel, the contract and the storage layer. node-llama-cpp stays
// external: it is resolved from node_modules (or from the portable folder's copy) at run time.
// better-sqlite3's JavaScript is bundled (its addon is loaded by path, see storage/database.ts):
// required from node_modules, its dozen small CommonJS files cost ~5 ms of every start on Node 20
// (resolution and compiling). The bundled JS must match the addon: the checkout's own package by
// default, the portable folder's release when dist.mjs builds the folder.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

/** Run with `node --require` before every entry point; sizes libuv's pool before Node starts it. */
export const PRELOAD = 'preload.cjs';
/** The sidecar's `--require` instead: the preload, then its auth read from stdin starts early. */
export const SIDECAR_BOOT = 'sidecar.cjs';

export const NATIVE_EXTERNALS = ['node-llama-cpp', '@node-llama-cpp/*'];

/** better-sqlite3 from `packageDir` (its `lib/`), whatever node_modules holds. */
function sqliteFrom(packageDir) {
  return {
    name: 'better-sqlite3',
    setup(build) {
      build.onResolve({ filter: /^better-sqlite3$/ }, () => ({ path: path.join(packageDir, 'lib', 'index.js') }));
    },
  };
}

/**
 * The checkout's better-sqlite3 addon (release 12 builds it under build/Release), relative to
 * `outdir`, for storage/database.ts to load without searching for it at every start.
 */
function checkoutAddon(outdir) {
  const dir = path.dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json'));
  return path.relative(outdir, path.join(dir, 'build', 'Release', 'better_sqlite3.node'));
}

/**
 * `sqlite`: the better-sqlite3 package whose JavaScript to bundle (default: the checkout's), and
 * `sqliteAddon`: where its addon will be, relative to `outdir` (default: the checkout's build).
 */
export async function buildSidecar({ outdir = path.join(root, 'dist'), minify = true, sourcemap = 'linked', sqlite = undefined, sqliteAddon = checkoutAddon(outdir) } = {}) {
  // Chunk names carry content hashes: without a clean folder, stale chunks pile up and ship.
  rmSync(outdir, { recursive: true, force: true });
  const options = {
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outExtension: { '.js': '.mjs' },
    external: NATIVE_EXTERNALS,
    plugins: sqlite === undefined ? [] : [sqliteFrom(sqlite)],
    define: { __SQLITE_ADDON__: JSON.stringify(sqliteAddon.split(path.sep).join('/')) },
    minify,
    // Smaller to parse at every start; the linked source maps keep stack traces readable.
    keepNames: true,
    sourcemap,
    metafile: true,
    legalComments: 'none',
    // Some CommonJS dependencies call require(); give ESM output a real one.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: 'warning',
  };
  // Two builds, not one with two entries: code the sidecar shares with the runner would be split into
  // chunks of its own, and each module file on the start path costs Node 20 ~0.3 ms (resolve, read,
  // instantiate). Apart, the sidecar's start path is main.mjs and 4 chunks instead of 6.
  const result = await build({ ...options, entryPoints: { main: path.join(root, 'src/main.ts') } });
  await build({ ...options, entryPoints: { ask: path.join(root, 'src/cli/ask.ts') }, metafile: false });
  mkdirSync(outdir, { recursive: true });
  for (const boot of [PRELOAD, SIDECAR_BOOT]) copyFileSync(path.join(root, 'src/boot', boot), path.join(outdir, boot));
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const minify = !process.argv.includes('--no-minify');
  await buildSidecar({ minify });
}
