/**
 * What a first local run waits for: the model's load, with the memory check beside it when the weights
 * surely fit, and before it when the fit is in doubt. The real binding on the real tiny model, with its
 * GGUF reader and `loadModel` wrapped to record when each starts and ends.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type * as LlamaCpp from 'node-llama-cpp';
import type { StreamPart } from '../../extensions/ai-sidecar/src/core/types.js';
import { LocalLlamaProvider } from '../../extensions/ai-sidecar/src/providers/local-llama.js';
import { MODEL } from './model-path.js';

const GiB = 2 ** 30;
const story = { model: MODEL, messages: [{ role: 'user' as const, content: 'Once upon a time' }], maxTokens: 3 };

/** The real binding, recording the provider's GGUF reads (its memory check) and model loads in order. */
function recordingBinding(events: string[]): () => Promise<typeof LlamaCpp> {
  return async () => {
    const real = await import('node-llama-cpp');
    return {
      ...real,
      readGgufFileInfo: (async (...args: Parameters<typeof real.readGgufFileInfo>) => {
        events.push('check start');
        try {
          return await real.readGgufFileInfo(...args);
        } finally {
          events.push('check end');
        }
      }) as typeof real.readGgufFileInfo,
      getLlama: (async (...args: Parameters<typeof real.getLlama>) => {
        const llama = await real.getLlama(...args);
        const loadModel = llama.loadModel.bind(llama);
        llama.loadModel = async (options) => {
          events.push('load start');
          try {
            return await loadModel(options);
          } finally {
            events.push('load end');
          }
        };
        return llama;
      }) as typeof real.getLlama,
    };
  };
}

async function run(provider: LocalLlamaProvider): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for await (const part of provider.streamCompletion(story)) parts.push(part);
  return parts;
}

let provider: LocalLlamaProvider | undefined;
afterEach(async () => {
  await provider?.dispose();
  provider = undefined;
});

describe('the first run’s load path', () => {
  it('starts loading before the memory check ends when the weights surely fit', async () => {
    const events: string[] = [];
    provider = new LocalLlamaProvider({ threads: 1, freeMemory: () => 16 * GiB, loadBinding: recordingBinding(events) });
    expect((await run(provider)).at(-1)).toMatchObject({ type: 'finish' });
    expect(events.indexOf('load start')).toBeGreaterThanOrEqual(0);
    expect(events.indexOf('load start')).toBeLessThan(events.indexOf('check end'));
  });

  it('checks first, and loads only after, when the fit is in doubt', async () => {
    const events: string[] = [];
    // Enough for the tiny model and its context, not by the wide margin.
    provider = new LocalLlamaProvider({ threads: 1, freeMemory: () => 64 * 2 ** 20, loadBinding: recordingBinding(events) });
    expect((await run(provider)).at(-1)).toMatchObject({ type: 'finish' });
    expect(events.slice(0, 3)).toEqual(['check start', 'check end', 'load start']);
  });

  it('stops a load it started when the check then refuses, and keeps nothing loaded', async () => {
    const events: string[] = [];
    // Plenty free when the load starts, then (another program took it) almost nothing at the check.
    const free = [16 * GiB, 2 ** 20];
    provider = new LocalLlamaProvider({ threads: 1, freeMemory: () => free.shift() ?? 16 * GiB, loadBinding: recordingBinding(events) });
    const last = (await run(provider)).at(-1);
    expect(last).toMatchObject({ type: 'error', error: { code: 'insufficient_memory' } });
    expect(events).toContain('load start');
    expect(events.at(-1)).toBe('load end'); // the refusal waited for the stopped load to end
    expect(provider.loadedModel).toBeUndefined();
    // Memory back: the same provider loads and runs.
    expect((await run(provider)).at(-1)).toMatchObject({ type: 'finish' });
    expect(provider.loadedModel).toBe(MODEL);
  });
});
