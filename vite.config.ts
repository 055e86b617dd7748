import path from 'node:path';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vitest/config';

// One config: the UI build (root `resources/`, output `resources/dist`) and the test runner.
export default defineConfig({
  root: path.resolve(import.meta.dirname, 'resources'),
  base: '/',
  plugins: [vue()],
  resolve: {
    // The one contract, shared with the sidecar; `@contract/names` is its zod-free part (ids, event
    // names), which the first screen imports without the schemas.
    alias: [
      { find: /^@contract$/, replacement: path.resolve(import.meta.dirname, 'extensions/ai-sidecar/src/protocol/contract.ts') },
      { find: /^@contract\/names$/, replacement: path.resolve(import.meta.dirname, 'extensions/ai-sidecar/src/protocol/names.ts') },
    ],
  },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: false },
  server: { port: 5173, strictPort: true },
  test: {
    root: import.meta.dirname,
    include: ['tests/**/*.test.ts'],
    // The real-runtime checks run only through `npm run check:real` (tests/real/vitest.config.ts).
    exclude: ['tests/real/**', '**/node_modules/**'],
    // Native addons (better-sqlite3, llama.cpp) and local servers: separate processes keep them apart.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
