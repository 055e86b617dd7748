// Bundles the sidecar into dist/ with Rolldown (Vite's bundler), as CommonJS. SDKs, workflows and the
// vault's crypto are split into chunks that load on first use, so an idle sidecar parses only the
// channel, the contract and the storage layer. node-llama-cpp stays external (an ES module, loaded
// with import() on first local use): it is resolved from node_modules (or the portable folder's copy).
//
// CommonJS, not ES modules: on Node 20 an ES module entry starts the ESM loader (~5 ms), imports each
// built-in through a wrapper that reads every export once (node:crypto's webcrypto, node:util's MIME
// types...) and costs ~0.3 ms per file; the same code as CommonJS answered its first request 16 ms
// sooner (21 alternating rounds). Node 24's compile cache (the portable folder) covers CommonJS too.
//
// better-sqlite3's JavaScript is bundled (its addon is loaded by path, see storage/database.ts):
// required from node_modules, its dozen small CommonJS files cost ~5 ms of every start on Node 20
// (resolution and compiling). The bundled JS must match the addon: the checkout's own package by
// default, the portable folder's release when dist.mjs builds the folder.
import { createRequire } from 'node:module';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { build } from 'rolldown';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

/** Run with `node --require` before every entry point; sizes libuv's pool before Node starts it. */
export const PRELOAD = 'preload.cjs';
/** The sidecar's `--require` instead: the preload, then its auth read from stdin starts early. */
export const SIDECAR_BOOT = 'sidecar.cjs';
/** The sidecar's entry in the build. */
export const SIDECAR_MAIN = 'main.cjs';

// Node's built-ins are external already (platform: 'node').
const EXTERNAL = [/^node-llama-cpp(\/|$)/, /^@node-llama-cpp\//];

/** better-sqlite3 from `packageDir` (its `lib/`), whatever node_modules holds. */
function sqliteFrom(packageDir) {
  return {
    name: 'better-sqlite3',
    resolveId(id) {
      return id === 'better-sqlite3' ? path.join(packageDir, 'lib', 'index.js') : null;
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
 * Resolves with the sidecar build's chunks (file name, static and dynamic imports, modules).
 */
export async function buildSidecar({ outdir = path.join(root, 'dist'), minify = true, sourcemap = true, sqlite = undefined, sqliteAddon = checkoutAddon(outdir) } = {}) {
  // Chunk names carry content hashes: without a clean folder, stale chunks pile up and ship.
  rmSync(outdir, { recursive: true, force: true });
  const options = (input) => ({
    input,
    platform: 'node',
    external: EXTERNAL,
    plugins: sqlite === undefined ? [] : [sqliteFrom(sqlite)],
    transform: { define: { __SQLITE_ADDON__: JSON.stringify(sqliteAddon.split(path.sep).join('/')) } },
    output: {
      dir: outdir,
      format: 'cjs',
      entryFileNames: '[name].cjs',
      chunkFileNames: '[name]-[hash].cjs',
      minify,
      // Readable stack traces: names kept, and the linked source maps.
      keepNames: true,
      sourcemap,
    },
    logLevel: 'warn',
  });
  // Two builds, not one with two entries: code the sidecar shares with the runner would be split into
  // chunks of its own, each one more file to load before the first reply.
  const sidecar = await build(options({ main: path.join(root, 'src/main.ts') }));
  await build(options({ ask: path.join(root, 'src/cli/ask.ts') }));
  mkdirSync(outdir, { recursive: true });
  for (const boot of [PRELOAD, SIDECAR_BOOT]) copyFileSync(path.join(root, 'src/boot', boot), path.join(outdir, boot));
  return {
    chunks: sidecar.output
      .filter((item) => item.type === 'chunk')
      .map((chunk) => ({ fileName: chunk.fileName, imports: chunk.imports, dynamicImports: chunk.dynamicImports, modules: chunk.moduleIds })),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const minify = !process.argv.includes('--no-minify');
  await buildSidecar({ minify });
}
