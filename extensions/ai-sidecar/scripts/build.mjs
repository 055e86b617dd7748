// Bundles the sidecar into dist/ with esbuild. SDKs are split into chunks that load on first use, so
// an idle sidecar parses only the channel, the contract and the storage layer. Native addons stay
// external: they are resolved from node_modules (or from the portable folder's copy) at run time.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

/** Run with `node --require` before every entry point; sizes libuv's pool before Node starts it. */
export const PRELOAD = 'preload.cjs';

export const NATIVE_EXTERNALS = ['better-sqlite3', 'node-llama-cpp', '@node-llama-cpp/*'];

export async function buildSidecar({ outdir = path.join(root, 'dist'), minify = true, sourcemap = 'linked' } = {}) {
  // Chunk names carry content hashes: without a clean folder, stale chunks pile up and ship.
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    entryPoints: { main: path.join(root, 'src/main.ts'), ask: path.join(root, 'src/cli/ask.ts') },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outExtension: { '.js': '.mjs' },
    external: NATIVE_EXTERNALS,
    minify,
    // Smaller to parse at every start; the linked source maps keep stack traces readable.
    keepNames: true,
    sourcemap,
    metafile: true,
    legalComments: 'none',
    // Some CommonJS dependencies call require(); give ESM output a real one.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  mkdirSync(outdir, { recursive: true });
  copyFileSync(path.join(root, 'src/boot', PRELOAD), path.join(outdir, PRELOAD));
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const minify = !process.argv.includes('--no-minify');
  await buildSidecar({ minify });
}
