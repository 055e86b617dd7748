/**
 * Every run ends, every failure is named (issue 10): each fault, for each vendor, streaming and not,
 * through the official SDKs against the wire stand-ins. The outcome table in the closing note is
 * this file's cases.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RunStreamer } from '../../extensions/ai-sidecar/src/channel/run-streamer.js';
import { AIManager } from '../../extensions/ai-sidecar/src/core/manager.js';
import type { AIProvider, StreamPart } from '../../extensions/ai-sidecar/src/core/types.js';
import { OllamaProvider } from '../../extensions/ai-sidecar/src/providers/ollama.js';
import { EVENT_SCHEMAS, EVENTS } from '../../extensions/ai-sidecar/src/protocol/contract.js';
import { DEFAULT_TOKENS } from '../wire/scenarios.js';
import { startOllamaServer, type OllamaServer } from '../wire/ollama-server.js';
import { TEST_KEY, VENDORS, staticKeys, userRequest, type VendorServer } from './fixtures.js';

async function drain(stream: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}
const textOf = (parts: StreamPart[]) => parts.map((p) => (p.type === 'text-delta' ? p.text : '')).join('');
const last = (parts: StreamPart[]) => parts.at(-1);
/** Nothing from a page or a raw body may reach a message. */
const NO_MARKUP = /<|html|DOCTYPE|secret_session|\[object Object\]/i;

describe.each(VENDORS)('$name: every run ends, every failure is named', (vendor) => {
  let server: VendorServer;
  let provider: AIProvider;
  beforeAll(async () => {
    server = await vendor.start();
    provider = vendor.provider(server);
  });
  afterAll(() => server.close());

  it('ends a normal run with a done event that passes the contract, input tokens counted', async () => {
    const manager = new AIManager();
    manager.register(provider);
    const events: { event: string; payload: unknown }[] = [];
    const streamer = new RunStreamer('e1', (event, payload) => void events.push({ event, payload }), 1);
    const execution = manager.execute(vendor.name, userRequest(vendor.model), { onPart: streamer.onPart });
    const response = await execution.result;
    streamer.finish(response);
    const end = events.at(-1)!;
    expect(end.event).toBe(EVENTS.done);
    expect(EVENT_SCHEMAS[EVENTS.done].safeParse(end.payload).success).toBe(true);
    // The stand-ins' defaults: OpenAI 9, Anthropic 12 (from message_start: message_delta has none), Ollama 11.
    expect(response.usage).toEqual({ inputTokens: { openai: 9, anthropic: 12, ollama: 11 }[vendor.name], outputTokens: DEFAULT_TOKENS.length });
  });

  it('ends a stream that goes silent after its first tokens with a typed timeout, keeping the text', async () => {
    const manager = new AIManager({ idleTimeoutMs: 400 });
    manager.register(provider);
    server.script({ kind: 'silent_after_tokens' });
    const started = performance.now();
    const response = await manager.execute(vendor.name, userRequest(vendor.model)).result;
    expect(response).toMatchObject({ finishReason: 'error', text: DEFAULT_TOKENS.join(''), error: { code: 'timeout', retryable: false } });
    expect(response.error?.message).toMatch(/silent for 0\.4 s.*text so far is kept/);
    expect(performance.now() - started).toBeLessThan(5_000);
    // The socket was closed, not left hanging.
    await expect.poll(() => server.requests.at(-1)?.closedAt, { timeout: 2_000 }).toBeDefined();
  });

  it('takes the idle timeout per provider, over the manager default', async () => {
    const manager = new AIManager({ idleTimeoutMs: 60_000, idleTimeoutsMs: { [vendor.name]: 300 } });
    manager.register(provider);
    server.script({ kind: 'silent_after_tokens' });
    const response = await manager.execute(vendor.name, userRequest(vendor.model)).result;
    expect(response.error).toMatchObject({ code: 'timeout', message: expect.stringMatching(/0\.3 s/) });
  });

  it.each([
    [true, false],
    [false, false],
    [true, true],
    [false, true],
  ])('names a 200 web page (captive portal) as a web page instead of the API (streaming: %s, no content type: %s)', async (streaming, untyped) => {
    server.script({ kind: 'html_page', status: 200, untyped });
    const error = await failureOf(provider, vendor.model, streaming);
    expect(error).toMatchObject({ code: 'wrong_endpoint', retryable: false });
    expect(error.message).toMatch(/web page instead of the API/);
    expect(error.message).toContain(server.url);
    expect(error.message).not.toMatch(NO_MARKUP);
  });

  it.each([true, false])('tells an HTML 404 (a base URL missing /v1) from a missing model, with no raw body (streaming: %s)', async (streaming) => {
    server.script({ kind: 'html_page', status: 404 });
    const error = await failureOf(provider, vendor.model, streaming);
    expect(error.code).toBe('wrong_endpoint');
    expect(error.message).toMatch(/not the API endpoint/);
    if (vendor.name === 'openai') expect(error.message).toMatch(/\/v1/);
    expect(error.message).not.toMatch(NO_MARKUP);
    server.script({ kind: 'model_not_found' });
    expect((await failureOf(provider, 'no-such-model', streaming)).code).toBe('model_not_found');
  });

  if (vendor.name === 'openai') {
    it.each([true, false])("a base URL without /v1 (OpenAI's own JSON 404) is a wrong endpoint, not a missing model (streaming: %s)", async (streaming) => {
      const { OpenAICompatibleProvider } = await import('../../extensions/ai-sidecar/src/providers/openai-compatible.js');
      const error = await failureOf(new OpenAICompatibleProvider({ providerName: 'openai', baseURL: server.url }, staticKeys()), vendor.model, streaming);
      expect(error).toMatchObject({ code: 'wrong_endpoint', status: 404 });
      expect(error.message).toMatch(/Unknown request URL/);
    });
  }

  if (vendor.name !== 'ollama') {
    it('treats a `: ping` comment after the final event as a complete stream', async () => {
      server.script({ kind: 'comment_after_done' });
      const parts = await drain(provider.streamCompletion(userRequest(vendor.model)));
      expect(textOf(parts)).toBe(DEFAULT_TOKENS.join(''));
      expect(last(parts)).toEqual({ type: 'finish', finishReason: 'stop' });
    });

    it.each([true, false])('says a 401 in its own words, with the status, never the vendor text (streaming: %s)', async (streaming) => {
      server.script({ kind: 'auth_error' });
      const error = await failureOf(provider, vendor.model, streaming);
      expect(error).toMatchObject({ code: 'auth', status: 401 });
      expect(error.message).toMatch(/did not accept the API key \(HTTP 401\)/);
      expect(error.message).not.toMatch(/Incorrect API key|invalid x-api-key|platform\.openai\.com/);
      expect(error.message).not.toContain(TEST_KEY.slice(-4));
    });
  }
});

/** The error of a failed call, streaming (the final part) or not (the rejection). */
async function failureOf(provider: AIProvider, model: string, streaming: boolean): Promise<{ code: string; message: string; retryable: boolean; status?: number }> {
  if (streaming) {
    const final = last(await drain(provider.streamCompletion(userRequest(model))));
    if (final?.type !== 'error') throw new Error(`expected an error part, got ${JSON.stringify(final)}`);
    return final.error;
  }
  const outcome = await provider.chatCompletion(userRequest(model)).then(
    () => undefined,
    (error: unknown) => error as { code: string; message: string; retryable: boolean; status?: number },
  );
  if (outcome === undefined) throw new Error('expected the call to fail');
  return outcome;
}

describe('Ollama specifics', () => {
  let server: OllamaServer;
  beforeAll(async () => {
    server = await startOllamaServer();
  });
  afterAll(() => server.close());

  it('honours Retry-After: the manager waits what the server asked, then succeeds', async () => {
    const sleeps: number[] = [];
    const manager = new AIManager({ sleep: async (ms) => void sleeps.push(ms) });
    manager.register(new OllamaProvider({ host: server.url }));
    server.script({ kind: 'rate_limited', retryAfterSeconds: 3 });
    const response = await manager.execute('ollama', userRequest('llama3.2:latest')).result;
    expect(response.finishReason).toBe('stop');
    expect(sleeps).toEqual([3000]);
  });

  it.each([false, true])('reads an error object as its message, never [object Object] (in the stream: %s)', async (inStream) => {
    const provider = new OllamaProvider({ host: server.url });
    server.script({ kind: 'error_object', inStream });
    const parts = await drain(provider.streamCompletion(userRequest('llama3.2:latest')));
    const final = last(parts);
    expect(final?.type).toBe('error');
    const message = final?.type === 'error' ? final.error.message : '';
    expect(message).toMatch(/llama runner process has terminated/);
    expect(message).not.toMatch(/object Object/);
  });

  it('prints nothing to the console, whatever the server sends', async () => {
    const provider = new OllamaProvider({ host: server.url });
    const spies = [vi.spyOn(console, 'log'), vi.spyOn(console, 'warn'), vi.spyOn(console, 'error'), vi.spyOn(console, 'info'), vi.spyOn(console, 'debug')];
    const stdout = vi.spyOn(process.stdout, 'write');
    try {
      server.script({ kind: 'html_page', status: 404 }, { kind: 'html_page', status: 200 }, { kind: 'error_object' }, { kind: 'model_not_found' });
      for (let i = 0; i < 4; i += 1) await drain(provider.streamCompletion(userRequest('llama3.2:latest')));
      for (const spy of [...spies, stdout]) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of [...spies, stdout]) spy.mockRestore();
    }
  });
});

describe('Ollama detection tells three failures apart, each in under a second', () => {
  const servers: { close(): void }[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  async function listen(server: http.Server | net.Server): Promise<string> {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  async function freePort(): Promise<string> {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    return `http://127.0.0.1:${port}`;
  }

  it.each([
    ['nothing listening', 'not_running', /not running.*ollama serve/, 'provider_unavailable'],
    ['another HTTP server', 'error', /Something other than Ollama answers/, 'wrong_endpoint'],
    ['a port that accepts and never answers', 'error', /accepts connections but does not answer/, 'provider_unavailable'],
  ] as const)('%s', async (what, state, advice, code) => {
    const host =
      what === 'nothing listening' ? await freePort()
      : what === 'another HTTP server' ? await listen(http.createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Apache</h1>')))
      : await listen(net.createServer(() => undefined));
    const provider = new OllamaProvider({ host });
    for (const check of [
      async () => expect(await provider.status()).toMatchObject({ state, detail: expect.stringMatching(advice) }),
      async () => expect(last(await drain(provider.streamCompletion(userRequest('llama3.2:latest'))))).toMatchObject({ type: 'error', error: { code, message: expect.stringMatching(advice) } }),
      async () => expect(provider.listModels()).rejects.toMatchObject({ code, message: expect.stringMatching(advice) }),
    ]) {
      const started = performance.now();
      await check();
      expect(performance.now() - started).toBeLessThan(1_000);
    }
  });
});
