import path from 'node:path';
import vue from '@vitejs/plugin-vue';
import { createServer, type Plugin } from 'vite';
import { defineConfig } from 'vitest/config';

const root = path.resolve(import.meta.dirname, 'resources');
// The one contract, shared with the sidecar; `@contract/names` is its zod-free part (ids, event
// names), which the first screen imports without the schemas.
const alias = [
  { find: /^@contract$/, replacement: path.resolve(import.meta.dirname, 'extensions/ai-sidecar/src/protocol/contract.ts') },
  { find: /^@contract\/names$/, replacement: path.resolve(import.meta.dirname, 'extensions/ai-sidecar/src/protocol/names.ts') },
];

/**
 * Puts the app's first screen, rendered at build time (resources/src/prerender.ts), into the built
 * index.html: the window then takes typing once the page is parsed and styled, instead of after the
 * app's script has been parsed, run and rendered. The script is fetched after that first frame
 * (public/boot.js); main.ts mounts over the screen, keeping what was typed.
 */
function prerenderFirstScreen(): Plugin {
  return {
    name: 'sim:prerender-first-screen',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      async handler(html) {
        const server = await createServer({
          configFile: false,
          root,
          logLevel: 'error',
          plugins: [vue()],
          resolve: { alias },
          server: { middlewareMode: true, hmr: false, ws: false },
          appType: 'custom',
        });
        try {
          const { renderFirstScreen } = (await server.ssrLoadModule('/src/prerender.ts')) as { renderFirstScreen: () => Promise<string> };
          const placeholder = '<div id="app"></div>';
          if (!html.includes(placeholder)) throw new Error(`index.html has no ${placeholder} to render the first screen into`);
          // The app's script: boot.js loads it once the first screen has been drawn.
          const entry = /<script type="module" crossorigin src="([^"]+)"><\/script>\s*/.exec(html);
          const boot = '<script src="/boot.js"></script>';
          if (entry === null || !html.includes(boot)) throw new Error('index.html has no module entry or no boot.js to hand it to');
          return html
            .replace(entry[0], '')
            .replace(boot, `<script src="/boot.js" data-app="${entry[1]}"></script>`)
            .replace(placeholder, `<div id="app" data-shell>${await renderFirstScreen()}</div>`);
        } finally {
          await server.close();
        }
      },
    },
  };
}

// One config: the UI build (root `resources/`, output `resources/dist`) and the test runner.
export default defineConfig({
  root,
  base: '/',
  plugins: [vue(), prerenderFirstScreen()],
  resolve: { alias },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // Everything the first screen needs in one file: WebKit fetched the 7 start chunks in a chain
    // (the entry, then what it imports), 15-25 ms of the launch.
    rolldownOptions: { output: { codeSplitting: { groups: [{ name: 'start', tags: ['$initial'] }] } } },
  },
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
