/**
 * What the window parses before its first screen (issue 13, launch to input): the chunks reachable
 * from the page's entry through static imports. WebKit parses every one of them before any runs, so
 * the contract's schemas (zod), the channel code and the views opened later must load after.
 */
import path from 'node:path';
import { build, type Rolldown } from 'vite';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../neutralino/build-once.js';

type Chunk = Rolldown.OutputChunk;
let chunks: Map<string, Chunk>;
let startPath: Chunk[];
let indexHtml: string;

beforeAll(async () => {
  const result = await build({ configFile: path.join(ROOT, 'vite.config.ts'), logLevel: 'silent', build: { write: false } });
  const outputs = (Array.isArray(result) ? result : [result]).flatMap((r) => ('output' in r ? r.output : []));
  chunks = new Map(outputs.filter((o): o is Chunk => o.type === 'chunk').map((c) => [c.fileName, c]));
  const html = outputs.find((o) => o.type === 'asset' && o.fileName === 'index.html');
  indexHtml = html?.type === 'asset' ? String(html.source) : '';
  const entry = [...chunks.values()].find((c) => c.isEntry);
  if (entry === undefined) throw new Error('the UI build has no entry chunk');
  // Static closure of the entry: import statements only, not import() calls.
  const seen = new Set([entry.fileName]);
  for (const file of seen) for (const next of chunks.get(file)?.imports ?? []) seen.add(next);
  startPath = [...seen].map((file) => chunks.get(file)).filter((c): c is Chunk => c !== undefined);
}, 120_000);

const modulesAtStart = () => startPath.flatMap((c) => c.moduleIds).map((id) => id.replace(/^.*node_modules\//, 'node_modules/').replace(`${ROOT}/`, ''));

describe('the window at start', () => {
  it('parses the app, Vue and Pinia, and the contract\'s plain names', () => {
    const modules = modulesAtStart();
    expect(modules).toContain('resources/src/App.vue');
    expect(modules).toContain('extensions/ai-sidecar/src/protocol/names.ts');
    expect(modules.some((m) => m.startsWith('node_modules/@vue/runtime-core/'))).toBe(true);
  });

  it('leaves the schemas (zod), the client and the runtime library to after the first screen', () => {
    const modules = modulesAtStart();
    expect(modules.filter((m) => /^node_modules\/(zod|@neutralinojs)\//.test(m))).toEqual([]);
    expect(modules.filter((m) => /protocol\/contract\.ts$|resources\/src\/api\/client\.ts$|stores\/events\.ts$/.test(m))).toEqual([]);
    // They are in the build, behind import().
    const all = [...chunks.values()].flatMap((c) => c.moduleIds);
    expect(all.some((id) => id.includes('/node_modules/zod/'))).toBe(true);
    expect(all.some((id) => id.endsWith('/resources/src/api/client.ts'))).toBe(true);
  });

  it('keeps what the first screen parses small', () => {
    const bytes = startPath.reduce((sum, c) => sum + Buffer.byteLength(c.code), 0);
    // About 140 KB today (Vue's runtime is half of it); the contract with zod alone added 108 KB.
    expect(bytes).toBeLessThan(180_000);
  });

  it('fetches the first screen\'s script as one file, not a chain of imports', () => {
    // WebKit fetched the 7 start chunks of the old split one after another (the entry, then what it
    // imports). Left: rolldown's ~1 KB helper, which the lazy chunks import too.
    expect(startPath.filter((c) => Buffer.byteLength(c.code) > 2_000).map((c) => c.fileName)).toHaveLength(1);
    expect(startPath.length).toBeLessThanOrEqual(2);
  });

  it('carries the first screen in index.html, with the message box, before any script runs', () => {
    const app = /<div id="app" data-shell>([\s\S]*)<\/div>\s*<\/body>/.exec(indexHtml)?.[1] ?? '';
    expect(app).toMatch(/<textarea[^>]*data-testid="prompt"/);
    expect(app).toContain('data-testid="tab-chat"');
    // No style attribute: the page's policy (style-src 'self') would refuse it.
    expect(app).not.toMatch(/\sstyle="/);
    // The classic script that sets the font's platform and the theme comes before the first screen,
    // and it loads the app's entry after that screen is drawn: no module script in the page itself.
    const entry = [...chunks.values()].find((c) => c.isEntry)?.fileName;
    expect(indexHtml.indexOf(`<script src="/boot.js" data-app="/${entry}"></script>`)).toBeGreaterThan(indexHtml.indexOf('/__neutralino_globals.js'));
    expect(indexHtml).not.toMatch(/<script[^>]*type="module"/);
  });
});
