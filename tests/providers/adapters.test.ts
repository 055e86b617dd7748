/**
 * Every adapter, through its official SDK, against a stand-in that speaks its vendor's wire protocol:
 * normal streams, usage, errors and their codes, broken and unfinished streams, awkward byte splits,
 * and cancellation that reaches the server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AIError } from '../../extensions/ai-sidecar/src/core/errors.js';
import type { AIProvider, StreamPart } from '../../extensions/ai-sidecar/src/core/types.js';
import { DEFAULT_TOKENS, UTF8_TOKENS } from '../wire/scenarios.js';
import { TEST_KEY, VENDORS, userRequest, type VendorServer } from './fixtures.js';

async function drain(stream: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

const textOf = (parts: StreamPart[]) => parts.map((p) => (p.type === 'text-delta' ? p.text : '')).join('');
const last = (parts: StreamPart[]) => parts.at(-1);

type ErrorCase = readonly [kind: 'auth_error' | 'quota' | 'rate_limited' | 'server_error' | 'overloaded' | 'context_length', code: string, retryable: boolean];

/** A local Ollama has no keys, quotas or rate limits; its own failures are 500 and 503. */
function errorCasesFor(vendor: { cloud: boolean }): ErrorCase[] {
  const serverSide: ErrorCase[] = [
    ['server_error', 'provider_unavailable', true],
    ['overloaded', 'overloaded', true],
  ];
  if (!vendor.cloud) return serverSide;
  return [['auth_error', 'auth', false], ['quota', 'quota', false], ['rate_limited', 'rate_limited', true], ...serverSide, ['context_length', 'context_length', false]];
}

describe.each(VENDORS)('$name adapter', (vendor) => {
  let server: VendorServer;
  let provider: AIProvider;
  beforeAll(async () => {
    server = await vendor.start();
    provider = vendor.provider(server);
  });
  afterAll(() => server.close());

  it('streams text, usage and a stop finish', async () => {
    const parts = await drain(provider.streamCompletion(userRequest(vendor.model)));
    expect(textOf(parts)).toBe(DEFAULT_TOKENS.join(''));
    expect(parts.filter((p) => p.type === 'usage').at(-1)).toMatchObject({ usage: { outputTokens: DEFAULT_TOKENS.length } });
    expect(last(parts)).toEqual({ type: 'finish', finishReason: 'stop' });
  });

  it('maps a length stop', async () => {
    server.script({ kind: 'ok', finish: 'length' });
    const parts = await drain(provider.streamCompletion({ ...userRequest(vendor.model), maxTokens: 5 }));
    expect(last(parts)).toEqual({ type: 'finish', finishReason: 'length' });
  });

  it('answers a non-streaming call with one response', async () => {
    const response = await provider.chatCompletion(userRequest(vendor.model));
    expect(response).toMatchObject({ text: DEFAULT_TOKENS.join(''), finishReason: 'stop', provider: vendor.name });
    expect(response.usage.outputTokens).toBe(DEFAULT_TOKENS.length);
  });

  it('reassembles a stream split inside multi-byte characters', async () => {
    server.script({ kind: 'split_utf8', sliceBytes: 3 });
    const parts = await drain(provider.streamCompletion(userRequest(vendor.model)));
    expect(textOf(parts)).toBe(UTF8_TOKENS.join(''));
    expect(last(parts)?.type).toBe('finish');
  });

  it('reports a socket cut mid-stream as incomplete, keeping the text that arrived', async () => {
    server.script({ kind: 'cut_mid_stream' });
    const parts = await drain(provider.streamCompletion(userRequest(vendor.model)));
    expect(textOf(parts).length).toBeGreaterThan(0);
    expect(last(parts)).toMatchObject({ type: 'error', error: { code: 'incomplete_stream' } });
  });

  it('never reports a stream that ended without its final event as a success', async () => {
    server.script({ kind: 'no_final_event' });
    const parts = await drain(provider.streamCompletion(userRequest(vendor.model)));
    expect(textOf(parts)).toBe(DEFAULT_TOKENS.join(''));
    expect(last(parts)).toMatchObject({ type: 'error', error: { code: 'incomplete_stream' } });
  });

  it('stops a slow stream on abort: finish cancelled, partial text, and the server sees the close within 100 ms', async () => {
    server.script({ kind: 'slow', intervalMs: 10 });
    const controller = new AbortController();
    const parts: StreamPart[] = [];
    let abortedAt = 0;
    for await (const part of provider.streamCompletion(userRequest(vendor.model), { signal: controller.signal })) {
      parts.push(part);
      if (parts.filter((p) => p.type === 'text-delta').length === 5 && abortedAt === 0) {
        abortedAt = performance.now();
        controller.abort();
      }
    }
    expect(last(parts)).toEqual({ type: 'finish', finishReason: 'cancelled' });
    expect(textOf(parts)).toMatch(/^t0 t1 t2 t3 t4 /);
    const request = server.requests.at(-1);
    await expect.poll(() => request?.closedAt, { timeout: 1000 }).toBeDefined();
    expect((request?.closedAt ?? Infinity) - abortedAt).toBeLessThan(100);
  });

  it('maps a missing model to model_not_found', async () => {
    server.script({ kind: 'model_not_found' });
    const parts = await drain(provider.streamCompletion(userRequest('no-such-model')));
    expect(last(parts)).toMatchObject({ type: 'error', error: { code: 'model_not_found' } });
  });

  it('lists models', async () => {
    const models = await provider.listModels();
    expect(models.length).toBeGreaterThan(0);
    expect(models.map((m) => m.id)).toContain(vendor.model);
  });

  it.each(errorCasesFor(vendor))('maps %s to %s (retryable: %s)', async (kind, code, retryable) => {
    server.script({ kind });
    const parts = await drain(provider.streamCompletion(userRequest(vendor.model)));
    expect(last(parts)).toMatchObject({ type: 'error', error: { code, retryable } });
    await expect(provider.chatCompletion(userRequest(vendor.model))).resolves.toBeDefined();
  });

  // Registered for keyed vendors only: a local Ollama has no key to echo.
  if (vendor.cloud) {
    it('redacts the key the vendor echoes in a 401', async () => {
      server.script({ kind: 'auth_error' }, { kind: 'auth_error' });
      const parts = await drain(provider.streamCompletion(userRequest(vendor.model)));
      const error = last(parts);
      const text = JSON.stringify(error);
      expect(text).not.toContain(TEST_KEY.slice(-4));
      expect(text).not.toContain(TEST_KEY.slice(0, 12));
      await expect(provider.chatCompletion(userRequest(vendor.model))).rejects.toSatisfy(
        (e: unknown) => e instanceof AIError && e.code === 'auth' && !e.message.includes(TEST_KEY.slice(-4)),
      );
    });
  }
});

describe('vendor specifics', () => {
  it('OpenAI: asks for usage in the stream and sends the bearer key', async () => {
    const vendor = VENDORS[0]!;
    const server = await vendor.start();
    try {
      await drain(vendor.provider(server).streamCompletion({ ...userRequest(vendor.model), maxTokens: 7, stop: ['\n'] }));
      const request = server.requests.at(-1);
      expect(request?.headers.authorization).toBe(`Bearer ${TEST_KEY}`);
      expect(request?.body).toMatchObject({ stream: true, stream_options: { include_usage: true }, max_tokens: 7, stop: ['\n'] });
    } finally {
      await server.close();
    }
  });

  it('Anthropic: maps the system prompt, defaults max_tokens, and fails on an in-stream error event', async () => {
    const vendor = VENDORS[1]!;
    const server = await vendor.start();
    try {
      const provider = vendor.provider(server);
      await drain(provider.streamCompletion({ model: vendor.model, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }] }));
      expect(server.requests.at(-1)?.body).toMatchObject({ system: 'Be brief.', max_tokens: 4096, messages: [{ role: 'user', content: 'Hi' }] });
      expect(server.requests.at(-1)?.headers['anthropic-version']).toBeTypeOf('string');
      server.script({ kind: 'overloaded_in_stream' });
      const parts = await drain(provider.streamCompletion(userRequest(vendor.model)));
      expect(last(parts)).toMatchObject({ type: 'error', error: { code: 'overloaded', retryable: true } });
    } finally {
      await server.close();
    }
  });

  it('Ollama: passes num_ctx, reports a truncated prompt, detects fast, pulls with progress, deletes', async () => {
    const { startOllamaServer } = await import('../wire/ollama-server.js');
    const { OllamaProvider } = await import('../../extensions/ai-sidecar/src/providers/ollama.js');
    const server = await startOllamaServer({ pullSteps: 4 });
    try {
      const provider = new OllamaProvider({ host: server.url, contextSize: 2048, keepAlive: '10m' });
      server.script({ kind: 'truncated_prompt', promptEvalCount: 2048 });
      const parts = await drain(provider.streamCompletion(userRequest('llama3.2:latest', 'word '.repeat(4000))));
      expect(server.requests.at(-1)?.body).toMatchObject({ options: { num_ctx: 2048 }, keep_alive: '10m' });
      expect(parts.find((p) => p.type === 'warning')).toMatchObject({ warning: { code: 'prompt_truncated' } });
      expect(last(parts)?.type).toBe('finish');

      const started = performance.now();
      expect(await provider.status()).toMatchObject({ state: 'ready' });
      expect(performance.now() - started).toBeLessThan(500);

      const progress = [];
      for await (const p of provider.pull('tinyllama')) progress.push(p);
      expect(progress.at(-1)?.status).toBe('success');
      expect(progress.some((p) => p.completed === 1_000_000 && p.total === 1_000_000)).toBe(true);
      expect((await provider.listModels()).map((m) => m.id)).toContain('tinyllama');
      expect(await provider.loadedModels()).toHaveLength(1);
      await provider.deleteModel('tinyllama');
      expect((await provider.listModels()).map((m) => m.id)).not.toContain('tinyllama');
    } finally {
      await server.close();
    }
  });

  it('Ollama: says "not running" in well under a second when nothing listens', async () => {
    const { OllamaProvider } = await import('../../extensions/ai-sidecar/src/providers/ollama.js');
    const started = performance.now();
    const status = await new OllamaProvider({ host: 'http://127.0.0.1:9' }).status();
    expect(status.state).toBe('not_running');
    expect(performance.now() - started).toBeLessThan(600);
  });
});
