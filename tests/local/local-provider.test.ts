/** The in-process llama.cpp provider on the real tiny GGUF model. */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamPart } from '../../extensions/ai-sidecar/src/core/types.js';
import { LocalLlamaProvider } from '../../extensions/ai-sidecar/src/providers/local-llama.js';

import { MODEL } from './model-path.js';

export { MODEL };
const story = (maxTokens: number, extra = {}) => ({ model: MODEL, messages: [{ role: 'user' as const, content: 'Once upon a time' }], maxTokens, ...extra });

let dir: string;
let provider: LocalLlamaProvider;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sim-local-'));
  provider = new LocalLlamaProvider({ modelsDir: dir, threadCacheFile: path.join(dir, 'threads.json') });
});
afterAll(async () => {
  await provider.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('local llama.cpp provider', () => {
  it('writes real text from the model, with usage, and stops at maxTokens', async () => {
    const response = await provider.chatCompletion(story(40));
    expect(response.text).toMatch(/\b(there|was|little|girl|boy|day)\b/);
    expect(response.finishReason).toBe('length');
    expect(response.usage.outputTokens).toBe(40);
    expect(response.usage.inputTokens).toBeGreaterThan(0);
  });

  it('measured a thread count on its first runs, cached it without any path, and a fresh provider reuses it', async () => {
    await provider.chatCompletion(story(40)); // the measurement spans runs: 2 x 40 tokens cover it
    expect(provider.loadedThreads).toBeGreaterThanOrEqual(1);
    expect(provider.loadedThreads).toBeLessThanOrEqual(os.cpus().length);
    const raw = await readFile(path.join(dir, 'threads.json'), 'utf8');
    expect(raw).not.toContain(path.sep + 'shared'); // the cache holds no path: runner and app share it
    expect(raw).not.toContain(dir);
    const entries = Object.values(JSON.parse(raw) as Record<string, { threads: number; rates: Record<string, number> }>);
    expect(entries).toHaveLength(1);
    expect(entries[0]?.threads).toBe(provider.loadedThreads);
    for (const rate of Object.values(entries[0]?.rates ?? {})) expect(rate).toBeGreaterThan(0);
    // A copy of the model under another name and folder is the same model to the cache.
    const copy = path.join(dir, 'copy-of-stories.gguf');
    await copyFile(MODEL, copy);
    const fresh = new LocalLlamaProvider({ threadCacheFile: path.join(dir, 'threads.json') });
    try {
      await fresh.chatCompletion({ ...story(8), model: copy });
      expect(fresh.loadedThreads).toBe(entries[0]?.threads);
      expect(fresh.threadMeasurements).toBe(0);
    } finally {
      await fresh.dispose();
    }
  });

  it('stops generating within 50 ms of an abort, keeping the partial text', async () => {
    const controller = new AbortController();
    const stamps: number[] = [];
    let abortedAt = 0;
    const parts: StreamPart[] = [];
    for await (const part of provider.streamCompletion(story(4000, { contextSize: 2048 }), { signal: controller.signal })) {
      parts.push(part);
      if (part.type === 'text-delta') {
        stamps.push(performance.now());
        if (stamps.length === 20) {
          abortedAt = performance.now();
          controller.abort();
        }
      }
    }
    expect(parts.at(-1)).toEqual({ type: 'finish', finishReason: 'cancelled' });
    const lastToken = stamps.at(-1) ?? 0;
    expect(lastToken - abortedAt).toBeLessThan(50);
    expect(performance.now() - abortedAt).toBeLessThan(50);
    expect(stamps.length).toBeLessThan(40);
  });

  it('runs two requests at once one after the other, both complete', async () => {
    const [a, b] = await Promise.all([provider.chatCompletion(story(30)), provider.chatCompletion(story(30))]);
    expect(a.usage.outputTokens).toBe(30);
    expect(b.usage.outputTokens).toBe(30);
    expect((b.timing.timeToFirstTokenMs ?? 0) >= 0).toBe(true);
  });

  it('constrains output to a JSON schema so it always parses', async () => {
    const schema = { type: 'object', properties: { name: { type: 'string' }, age: { type: 'number' } }, required: ['name', 'age'] };
    const response = await provider.chatCompletion(story(60, { responseFormat: { type: 'json_schema', name: 'person', schema } }));
    const parsed = JSON.parse(response.text) as { name: unknown; age: unknown };
    expect(typeof parsed.name).toBe('string');
    expect(typeof parsed.age).toBe('number');
  });

  it('gives a clear typed error for a missing file', async () => {
    const parts: StreamPart[] = [];
    for await (const part of provider.streamCompletion({ ...story(5), model: 'does-not-exist.gguf' })) parts.push(part);
    expect(parts.at(-1)).toMatchObject({ type: 'error', error: { code: 'model_not_found' } });
  });

  it('gives a clear typed error for a truncated GGUF, and the process lives on', async () => {
    const bytes = await readFile(MODEL);
    await writeFile(path.join(dir, 'truncated.gguf'), bytes.subarray(0, Math.floor(bytes.length / 3)));
    const parts: StreamPart[] = [];
    for await (const part of provider.streamCompletion({ ...story(5), model: 'truncated.gguf' })) parts.push(part);
    expect(parts.at(-1)).toMatchObject({ type: 'error', error: { code: 'invalid_request' } });
    expect((await provider.chatCompletion(story(5))).usage.outputTokens).toBe(5);
  });

  it('refuses to load a model that does not fit the free memory, and says why', async () => {
    await copyFile(MODEL, path.join(dir, 'copy.gguf'));
    const tight = new LocalLlamaProvider({ modelsDir: dir, threads: 1, freeMemory: () => 1024 * 1024 });
    try {
      const parts: StreamPart[] = [];
      for await (const part of tight.streamCompletion({ ...story(5), model: 'copy.gguf' })) parts.push(part);
      const last = parts.at(-1);
      expect(last).toMatchObject({ type: 'error', error: { code: 'insufficient_memory' } });
      expect(last?.type === 'error' && last.error.message).toMatch(/needs about .* but only 1 MiB is free/);
    } finally {
      await tight.dispose();
    }
  });

  it('picks a smaller context when memory is short, and says so once', async () => {
    await copyFile(MODEL, path.join(dir, 'copy.gguf'));
    // Enough for the weights and a small context, not for 32k tokens of KV cache.
    const roomy = new LocalLlamaProvider({ modelsDir: dir, threads: 1, freeMemory: () => 40 * 2 ** 20 });
    try {
      const first = await roomy.chatCompletion({ ...story(5), model: 'copy.gguf', contextSize: 32_768 });
      expect(first.warnings?.[0]).toMatchObject({ code: 'context_reduced', message: expect.stringMatching(/not the 32768 asked for/) });
      const second = await roomy.chatCompletion({ ...story(5), model: 'copy.gguf' });
      expect(second.warnings).toBeUndefined();
    } finally {
      await roomy.dispose();
    }
  });

  it('lists the GGUF files in its models folder', async () => {
    const models = await provider.listModels();
    expect(models.map((m) => m.id)).toEqual(expect.arrayContaining(['copy.gguf', 'truncated.gguf']));
  });
});
