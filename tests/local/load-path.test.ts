/**
 * What a first local run waits for: the model's load alone when the weights fit by a wide margin (the
 * memory check then uses the tensor table the load parsed), a check before it when the fit is in doubt. The real binding on the real tiny model, with its
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
  it('reads the tensor table once (node-llama-cpp’s, in the load) when the weights fit by a wide margin', async () => {
    const events: string[] = [];
    provider = new LocalLlamaProvider({ threads: 1, freeMemory: () => 16 * GiB, loadBinding: recordingBinding(events) });
    expect((await run(provider)).at(-1)).toMatchObject({ type: 'finish' });
    expect(events).toEqual(['load start', 'load end']);
  });

  it('checks first, and loads only after, when the fit is in doubt', async () => {
    const events: string[] = [];
    // Enough for the tiny model and its context, not by the wide margin.
    provider = new LocalLlamaProvider({ threads: 1, freeMemory: () => 64 * 2 ** 20, loadBinding: recordingBinding(events) });
    expect((await run(provider)).at(-1)).toMatchObject({ type: 'finish' });
    expect(events).toEqual(['check start', 'check end', 'load start', 'load end']);
  });

  it('refuses a doubtful fit that does not fit without loading anything, then loads when memory is back', async () => {
    const events: string[] = [];
    const free = [2 ** 20];
    provider = new LocalLlamaProvider({ threads: 1, freeMemory: () => free.shift() ?? 16 * GiB, loadBinding: recordingBinding(events) });
    const last = (await run(provider)).at(-1);
    expect(last).toMatchObject({ type: 'error', error: { code: 'insufficient_memory' } });
    expect(events).toEqual(['check start', 'check end']);
    expect(provider.loadedModel).toBeUndefined();
    expect((await run(provider)).at(-1)).toMatchObject({ type: 'finish' });
    expect(provider.loadedModel).toBe(MODEL);
  });
});
