/**
 * The AIManager over real adapters and wire stand-ins: dispatch, retries before the first token only,
 * cancel (also during a back-off), concurrent runs, timeouts, and listing with a provider down.
 */
import { describe, expect, it } from 'vitest';
import { AIManager, type ExecutionRecord } from '../../extensions/ai-sidecar/src/core/manager.js';
import type { StreamPart } from '../../extensions/ai-sidecar/src/core/types.js';
import { AnthropicProvider } from '../../extensions/ai-sidecar/src/providers/anthropic.js';
import { OllamaProvider } from '../../extensions/ai-sidecar/src/providers/ollama.js';
import { OpenAICompatibleProvider } from '../../extensions/ai-sidecar/src/providers/openai-compatible.js';
import { useCloudStandIns } from '../wire/cloud-stand-ins.js';
import { staticKeys, userRequest } from '../providers/fixtures.js';

const standIns = useCloudStandIns();

function managerWith(options: ConstructorParameters<typeof AIManager>[0] = {}) {
  const sleeps: number[] = [];
  const records: ExecutionRecord[] = [];
  const manager = new AIManager({
    sleep: (ms, signal) => {
      sleeps.push(ms);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, 5);
        signal?.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
      });
    },
    onExecutionEnd: (record) => records.push(record),
    ...options,
  });
  manager.register(new OpenAICompatibleProvider({ providerName: 'openai', baseURL: `${standIns.openai.url}/v1` }, staticKeys()));
  manager.register(new AnthropicProvider({ baseURL: standIns.anthropic.url }, staticKeys()));
  return { manager, sleeps, records };
}

describe('AIManager', () => {
  it('dispatches each request to its provider and records every run once', async () => {
    const { manager, records } = managerWith();
    const a = manager.execute('openai', userRequest('gpt-4o-mini'));
    const b = manager.execute('anthropic', userRequest('claude-test-1'));
    const [ra, rb] = await Promise.all([a.result, b.result]);
    expect(ra).toMatchObject({ provider: 'openai', finishReason: 'stop', text: 'Hello, world!' });
    expect(rb).toMatchObject({ provider: 'anthropic', finishReason: 'stop', text: 'Hello, world!' });
    expect(ra.timing.timeToFirstTokenMs).toBeGreaterThan(0);
    await expect.poll(() => records.map((r) => r.id).sort()).toEqual([a.id, b.id].sort());
  });

  it('rejects an unknown provider at once with a typed error', () => {
    const { manager } = managerWith();
    expect(() => manager.execute('nope', userRequest('m'))).toThrow(expect.objectContaining({ code: 'invalid_request' }));
  });

  it('retries a 429 after its Retry-After, then succeeds', async () => {
    const { manager, sleeps } = managerWith();
    standIns.openai.script({ kind: 'rate_limited', retryAfterSeconds: 2 });
    const before = standIns.openai.requests.length;
    const response = await manager.execute('openai', userRequest('gpt-4o-mini')).result;
    expect(response.finishReason).toBe('stop');
    expect(sleeps).toEqual([2000]);
    expect(standIns.openai.requests.length - before).toBe(2);
  });

  it('does not wait for a Retry-After beyond the cap', async () => {
    const { manager, sleeps } = managerWith();
    standIns.openai.script({ kind: 'rate_limited', retryAfterSeconds: 120 });
    const response = await manager.execute('openai', userRequest('gpt-4o-mini')).result;
    expect(response).toMatchObject({ finishReason: 'error', error: { code: 'rate_limited', retryAfterMs: 120_000 } });
    expect(sleeps).toEqual([]);
  });

  it('never retries quota or auth errors', async () => {
    const { manager, sleeps } = managerWith();
    standIns.openai.script({ kind: 'quota' }, { kind: 'auth_error' });
    const quota = await manager.execute('openai', userRequest('gpt-4o-mini')).result;
    const auth = await manager.execute('openai', userRequest('gpt-4o-mini')).result;
    expect([quota.error?.code, auth.error?.code]).toEqual(['quota', 'auth']);
    expect(sleeps).toEqual([]);
  });

  it('bounds retries of 5xx and overloaded errors', async () => {
    const { manager, sleeps } = managerWith();
    standIns.anthropic.script({ kind: 'overloaded' }, { kind: 'overloaded' }, { kind: 'overloaded' }, { kind: 'overloaded' });
    const before = standIns.anthropic.requests.length;
    const response = await manager.execute('anthropic', userRequest('claude-test-1')).result;
    expect(response).toMatchObject({ finishReason: 'error', error: { code: 'overloaded' } });
    expect(sleeps).toHaveLength(2);
    expect(standIns.anthropic.requests.length - before).toBe(3);
    standIns.anthropic.script(); // the fourth stays queued for nobody: drain it
    await manager.execute('anthropic', userRequest('claude-test-1')).result;
  });

  it('does not retry once text has arrived', async () => {
    const { manager, sleeps } = managerWith();
    standIns.anthropic.script({ kind: 'overloaded_in_stream', tokens: ['a', 'b', 'c'] });
    const response = await manager.execute('anthropic', userRequest('claude-test-1')).result;
    expect(sleeps).toEqual([]);
    expect(response.finishReason).toBe('error');
  });

  it('ends at once when cancelled during a back-off wait', async () => {
    const manager = new AIManager({ retry: { baseDelayMs: 60_000, maxDelayMs: 60_000 } });
    manager.register(new OpenAICompatibleProvider({ providerName: 'openai', baseURL: `${standIns.openai.url}/v1` }, staticKeys()));
    standIns.openai.script({ kind: 'server_error' });
    const execution = manager.execute('openai', userRequest('gpt-4o-mini'));
    await expect.poll(() => standIns.openai.requests.at(-1)?.closedAt).toBeDefined();
    const started = performance.now();
    expect(manager.cancel(execution.id)).toBe(true);
    const response = await execution.result;
    expect(response.finishReason).toBe('cancelled');
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('cancels one of two concurrent runs, keeping its partial text, while the other completes', async () => {
    const { manager } = managerWith();
    standIns.openai.script({ kind: 'slow', intervalMs: 5, count: 40 }, { kind: 'slow', intervalMs: 5, count: 40 });
    const seen: StreamPart[] = [];
    const a = manager.execute('openai', userRequest('gpt-4o-mini'), { onPart: (p) => seen.push(p) });
    const b = manager.execute('openai', userRequest('gpt-4o-mini'));
    expect(manager.runningExecutions().sort()).toEqual([a.id, b.id].sort());
    await expect.poll(() => seen.filter((p) => p.type === 'text-delta').length).toBeGreaterThan(3);
    expect(manager.cancel(a.id)).toBe(true);
    const [ra, rb] = await Promise.all([a.result, b.result]);
    expect(ra.finishReason).toBe('cancelled');
    expect(ra.text).toMatch(/^t0 t1 t2 /);
    expect(rb.finishReason).toBe('stop');
    expect(rb.text.split(' ').filter(Boolean)).toHaveLength(40);
    expect(manager.runningExecutions()).toEqual([]);
  });

  it('says so when asked to cancel an unknown id', () => {
    const { manager } = managerWith();
    expect(manager.cancel('no-such-execution')).toBe(false);
  });

  it('fails a provider that sends headers and then nothing with a timeout, long before the SDK default', async () => {
    const { manager, sleeps } = managerWith({ firstByteTimeoutMs: 150 });
    standIns.openai.script({ kind: 'stall' });
    const started = performance.now();
    const response = await manager.execute('openai', userRequest('gpt-4o-mini')).result;
    expect(response).toMatchObject({ finishReason: 'error', error: { code: 'timeout' } });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(sleeps).toEqual([]);
    await expect.poll(() => standIns.openai.requests.at(-1)?.closedAt).toBeDefined();
  });

  it('lists every provider at once; one that is down blocks none', async () => {
    const { manager } = managerWith();
    manager.register(new OllamaProvider({ host: 'http://127.0.0.1:9' }));
    manager.register(new OpenAICompatibleProvider({ providerName: 'groq', baseURL: `${standIns.openai.url}/v1` }, { getKey: () => Promise.resolve(undefined) }));
    const started = performance.now();
    const listing = await manager.listAllModels();
    expect(performance.now() - started).toBeLessThan(1500);
    const byName = Object.fromEntries(listing.map((e) => [e.provider, e]));
    expect(byName.openai?.status.state).toBe('ready');
    expect(byName.openai?.models.map((m) => m.id)).toContain('gpt-4o-mini');
    expect(byName.anthropic?.models.map((m) => m.id)).toContain('claude-test-1');
    expect(byName.ollama?.status.state).toBe('not_running');
    expect(byName.groq?.status.state).toBe('needs_key');
  });
});
