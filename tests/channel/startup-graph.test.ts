/**
 * What the built sidecar loads before it can answer (issue 13, launch): the modules reachable from
 * main.cjs through the chunks it loads at once. Features the first requests do not need (workflows, YAML, the
 * SDKs, the vault's crypto, llama.cpp) must stay behind dynamic imports, or every start pays for them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../neutralino/build-once.js';

interface Chunk {
  readonly fileName: string;
  /** Chunks and external modules it loads when it loads. */
  readonly imports: readonly string[];
  readonly dynamicImports: readonly string[];
  /** The source modules it carries (absolute paths). */
  readonly modules: readonly string[];
}

let outdir: string;
let staticInputs: Set<string>;
/** Modules left external (Node builtins, native addons) that the start path loads, `node:` prefix dropped. */
let staticExternals: Set<string>;
let allInputs: Set<string>;
/** The files Node loads before main.cjs runs: main.cjs and the chunks it requires. */
let startFiles: number;

beforeAll(async () => {
  outdir = await mkdtemp(path.join(os.tmpdir(), 'sim-startup-graph-'));
  const { buildSidecar } = (await import(path.join(ROOT, 'extensions/ai-sidecar/scripts/build.mjs'))) as {
    buildSidecar: (o: { outdir: string; sourcemap: boolean }) => Promise<{ chunks: Chunk[] }>;
  };
  const { chunks } = await buildSidecar({ outdir, sourcemap: false });
  const byName = new Map(chunks.map((chunk) => [chunk.fileName, chunk]));
  if (!byName.has('main.cjs')) throw new Error('no main.cjs in the build');
  // Static closure of main.cjs: follow the chunks it loads when it loads, not import() calls.
  const seen = new Set<string>(['main.cjs']);
  staticExternals = new Set();
  for (const file of seen) {
    for (const id of byName.get(file)?.imports ?? []) {
      if (byName.has(id)) seen.add(id);
      else staticExternals.add(id.replace(/^node:/, ''));
    }
  }
  // Bundled CommonJS code (better-sqlite3's, say) calls require() itself: every module name a start
  // file requires counts, whether or not that line runs at start.
  for (const file of seen) {
    for (const match of readFileSync(path.join(outdir, file), 'utf8').matchAll(/require\(["`]([^"`.][^"`]*)["`]\)/g)) staticExternals.add((match[1] ?? '').replace(/^node:/, ''));
  }
  startFiles = seen.size;
  const inputsOf = (files: Iterable<string>) => new Set([...files].flatMap((file) => byName.get(file)?.modules ?? []).map((input) => input.replace(/^.*node_modules\//, 'node_modules/').replace(/^.*extensions\/ai-sidecar\//, '')));
  staticInputs = inputsOf(seen);
  allInputs = inputsOf(byName.keys());
}, 60_000);

afterAll(async () => {
  await rm(outdir, { recursive: true, force: true });
});

const loaded = (pattern: RegExp) => [...staticInputs].filter((input) => pattern.test(input));

describe('the sidecar at start', () => {
  it('loads the channel, the contract and storage', () => {
    expect(loaded(/^src\/protocol\/contract\.ts$/)).toHaveLength(1);
    expect(loaded(/^src\/channel\/dispatcher\.ts$/)).toHaveLength(1);
    expect(loaded(/^src\/storage\/database\.ts$/)).toHaveLength(1);
  });

  it('is few files, all CommonJS: no ESM loader on Node 20, and each file costs a resolve, read and compile', () => {
    // main.cjs, Rolldown's helpers and the contract (shared with what loads later); the runner
    // (cli/ask.ts) is built apart so its shared code adds no chunks.
    expect(startFiles).toBeLessThanOrEqual(3);
    expect(readFileSync(path.join(outdir, 'main.cjs'), 'utf8')).not.toMatch(/^\s*import\s/m);
  });

  it('leaves workflows (executor, validator, expressions, YAML) to their first command', () => {
    // They are in the build, just not on the start path.
    expect([...allInputs].filter((input) => /^src\/workflow\/executor\.ts$/.test(input))).toHaveLength(1);
    expect(loaded(/^src\/workflow\/(executor|service|validate|expressions|yaml)\.ts$/)).toEqual([]);
    expect(loaded(/^node_modules\/(jsep|yaml)\//)).toEqual([]);
  });

  it('connects back over node:net, without ws and the http, tls and zlib stack it loads', () => {
    expect(staticExternals.has('net')).toBe(true);
    expect(loaded(/^node_modules\/(ws|bufferutil|utf-8-validate|node-gyp-build)\//)).toEqual([]);
    expect([...staticExternals].filter((name) => /^(ws|bufferutil|utf-8-validate|node-gyp-build|http|https|http2|tls|zlib)$/.test(name))).toEqual([]);
  });

  it('validates with zod/mini: no zod classic, no locales, no JSON Schema on the start path', () => {
    // Zod classic gives every schema ~40 methods at construction and its bundle is twice the size:
    // with it the start path took ~9 ms longer to load and build the first schemas.
    expect(loaded(/^node_modules\/zod\/v4\/mini\//).length).toBeGreaterThan(0);
    expect(loaded(/^node_modules\/zod\/v4\/(classic|locales)\//)).toEqual([]);
    expect(loaded(/^node_modules\/zod\/v4\/core\/(to-json-schema|json-schema-processors|compile)\.js$/)).toEqual([]);
  });

  it("knows where better-sqlite3's addon is from the build, without searching node_modules at start", () => {
    const main = readFileSync(path.join(outdir, 'main.cjs'), 'utf8');
    // A path to it (the bundled JS names the bare file name too).
    const addon = /["`]([^"`]*\/better_sqlite3\.node)["`]/.exec(main)?.[1];
    expect(addon).toBeDefined();
    expect(existsSync(path.resolve(outdir, addon ?? ''))).toBe(true);
  });

  it("carries better-sqlite3's JavaScript in the bundle: from node_modules its CommonJS files cost ~5 ms to resolve and compile", () => {
    expect(loaded(/^node_modules\/better-sqlite3\/lib\/database\.js$/)).toHaveLength(1);
    expect(staticExternals.has('better-sqlite3')).toBe(false);
  });

  it('leaves the SDKs, the vault crypto and llama.cpp to first use', () => {
    expect(loaded(/^node_modules\/(openai|@anthropic-ai|ollama|age-encryption|node-llama-cpp)\//)).toEqual([]);
  });
});
