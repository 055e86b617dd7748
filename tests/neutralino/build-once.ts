/**
 * The stand-in starts the built sidecar, as the runtime would. `npm test` builds it first (pretest);
 * a lone test file run builds it here if it is missing. After changing sidecar code, run
 * `npm run build:sidecar` (or `npm test`).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// From import.meta.url, not __dirname: the benchmarks load this under tsx, where ES modules have no __dirname.
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let built: Promise<void> | undefined;

export function buildSidecarOnce(): Promise<void> {
  built ??= (async () => {
    if (existsSync(path.join(ROOT, 'extensions/ai-sidecar/dist/main.cjs'))) return;
    const { buildSidecar } = (await import(path.join(ROOT, 'extensions/ai-sidecar/scripts/build.mjs'))) as { buildSidecar: () => Promise<unknown> };
    await buildSidecar();
  })();
  return built;
}
