import { defineConfig } from 'vitest/config';

// One config for the UI build (added with the desktop app) and the test runner.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Native addons (better-sqlite3, llama.cpp) and local servers: separate processes keep them apart.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
