// `npm run check:real`: checks only the real Neutralino runtime can answer. Not part of `npm test`
// (its files end in .real.ts). Run under Xvfb with NEU_BIN naming a runtime binary:
//   NEU_BIN=/work/neu-src/bin/neutralino-linux_x64 xvfb-run -a npm run check:real
import path from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: path.resolve(import.meta.dirname, '../..'),
    include: ['tests/real/**/*.real.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
