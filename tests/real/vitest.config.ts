/**
 * `npm run check:real`: checks against the real Neutralino runtime named by NEU_BIN, run under Xvfb
 * (`NEU_BIN=/path/to/neutralino-linux_x64 xvfb-run -a npm run check:real`). Not part of `npm test`.
 */
import path from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: path.resolve(import.meta.dirname, '../..'),
    include: ['tests/real/**/*.real.ts', 'tests/real/**/*.real.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
