/**
 * A run always ends, and is always recorded: a provider whose parts break the contract, a final
 * event that would fail the UI's check, a shutdown in the middle of a run, a slow but steady stream
 * that must not be mistaken for a silent one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSidecar } from '../../extensions/ai-sidecar/src/app.js';
import { Dispatcher } from '../../extensions/ai-sidecar/src/channel/dispatcher.js';
import { RunStreamer } from '../../extensions/ai-sidecar/src/channel/run-streamer.js';
import { AIManager } from '../../extensions/ai-sidecar/src/core/manager.js';
import type { AIProvider, AIResponse, StreamPart, Usage } from '../../extensions/ai-sidecar/src/core/types.js';
import { OpenAICompatibleProvider } from '../../extensions/ai-sidecar/src/providers/openai-compatible.js';
import { EVENT_SCHEMAS, EVENTS, PROTOCOL_VERSION, type ReplyEnvelope } from '../../extensions/ai-sidecar/src/protocol/contract.js';
import { openDatabase } from '../../extensions/ai-sidecar/src/storage/database.js';
import { ExecutionsRepository } from '../../extensions/ai-sidecar/src/storage/repositories.js';
import { staticKeys, userRequest } from '../providers/fixtures.js';
import { useCloudStandIns } from '../wire/cloud-stand-ins.js';

const standIns = useCloudStandIns();
let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function history() {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sim-run-ends-'));
  const { db } = openDatabase(path.join(dir, 'sim-ai.db'));
  return { db, executions: new ExecutionsRepository(db) };
}

/** A provider that sends what a careless adapter might: usage with a count missing. */
function sloppyProvider(): AIProvider {
  return {
    providerName: 'sloppy',
    kind: 'openai-compatible',
    chatCompletion: () => Promise.reject(new Error('not used')),
    async *streamCompletion(): AsyncIterable<StreamPart> {
      yield { type: 'text-delta', text: 'partial answer' };
      yield { type: 'usage', usage: { outputTokens: 3 } as unknown as Usage };
      yield { type: 'finish', finishReason: 'stop' };
    },
    listModels: () => Promise.resolve([]),
    status: () => Promise.resolve({ state: 'ready' }),
  };
}

describe('a run always ends and is recorded', () => {
  it('a missing token count becomes 0: the done event passes the contract and History gets its row', async () => {
    const { db, executions } = await history();
    const manager = new AIManager({ onExecutionEnd: (record) => executions.record(record) });
    manager.register(sloppyProvider());
    const events: { event: string; payload: unknown }[] = [];
    const streamer = new RunStreamer('r1', (event, payload) => void events.push({ event, payload }), 1);
    const execution = manager.execute('sloppy', userRequest('m'), { onPart: streamer.onPart });
    const response = await execution.result;
    streamer.finish(response);
    expect(response.usage).toEqual({ inputTokens: 0, outputTokens: 3 });
    expect(events.at(-1)?.event).toBe(EVENTS.done);
    expect(EVENT_SCHEMAS[EVENTS.done].safeParse(events.at(-1)?.payload).success).toBe(true);
    expect(executions.get(execution.id)).toMatchObject({ status: 'completed', inputTokens: 0, outputTokens: 3, text: 'partial answer' });
    db.close();
  });

  it('a final event that would fail the contract goes out as an error naming the fault, text kept', () => {
    const events: { event: string; payload: unknown }[] = [];
    const broken = {
      provider: 'p', model: 'm', text: 'kept text', finishReason: 'stop',
      usage: { inputTokens: undefined, outputTokens: 2 }, timing: { totalMs: Number.NaN, tokensPerSecond: 1 },
    } as unknown as AIResponse;
    new RunStreamer('r2', (event, payload) => void events.push({ event, payload })).finish(broken);
    expect(events).toHaveLength(1);
    const [end] = events;
    expect(end?.event).toBe(EVENTS.error);
    const parsed = EVENT_SCHEMAS[EVENTS.error].parse(end?.payload);
    expect(parsed.error.code).toBe('internal');
    expect(parsed.error.message).toMatch(/final report was malformed.*Input tokens/);
    expect(parsed.response).toMatchObject({ text: 'kept text', finishReason: 'error', usage: { inputTokens: 0, outputTokens: 2 } });
  });

  it('dispose() (the window closing) ends running runs as cancelled and records them before it returns', async () => {
    const { db, executions } = await history();
    const manager = new AIManager({ onExecutionEnd: (record) => executions.record(record) });
    manager.register(new OpenAICompatibleProvider({ providerName: 'openai', baseURL: `${standIns.openai.url}/v1` }, staticKeys()));
    standIns.openai.script({ kind: 'slow', intervalMs: 20, count: 500 });
    let text = '';
    const execution = manager.execute('openai', userRequest('gpt-4o-mini'), {
      onPart: (part) => void (part.type === 'text-delta' && (text += part.text)),
    });
    await expect.poll(() => text.length, { timeout: 5_000 }).toBeGreaterThan(5);
    await manager.dispose();
    // Nothing awaited but dispose: the row is there at once, and the db can close.
    expect(executions.get(execution.id)).toMatchObject({ status: 'cancelled', finishReason: 'cancelled' });
    db.close();
  });

  it('a slow but steady stream is not mistaken for a silent one', async () => {
    const manager = new AIManager({ idleTimeoutMs: 400 });
    manager.register(new OpenAICompatibleProvider({ providerName: 'openai', baseURL: `${standIns.openai.url}/v1` }, staticKeys()));
    standIns.openai.script({ kind: 'slow', intervalMs: 100, count: 12 });
    const started = performance.now();
    const response = await manager.execute('openai', userRequest('gpt-4o-mini')).result;
    expect(response.finishReason).toBe('stop');
    // Longer in total than the idle timeout: only silence between parts counts.
    expect(performance.now() - started).toBeGreaterThan(400);
  });
});

describe('the idle timeout, set per provider in the app', () => {
  it('update_provider takes idleTimeoutSeconds (kept in settings), a silent stream then ends on it; out of range is refused in words', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sim-idle-'));
    const events: { event: string; payload: unknown }[] = [];
    const sidecar = createSidecar({ appDir: dir, env: { SIM_AI_DATA_DIR: dir }, emit: (event, payload) => void events.push({ event, payload }), frameMs: 1 });
    const replies: ReplyEnvelope[] = [];
    const dispatcher = new Dispatcher(sidecar.handlers, (reply) => replies.push(reply));
    const send = async (command: string, params: unknown): Promise<ReplyEnvelope> => {
      await dispatcher.handle({ v: PROTOCOL_VERSION, id: `r${replies.length}`, command, params });
      return replies.at(-1)!;
    };
    try {
      await send('vault_init', { passphrase: 'idle timeout passphrase' });
      expect(await send('update_provider', { provider: 'openai', idleTimeoutSeconds: 0 })).toMatchObject({ ok: false, error: { code: 'validation', message: 'Idle timeout (seconds) must be a whole number between 1 and 3600.' } });
      expect(await send('update_provider', { provider: 'openai', baseURL: `${standIns.openai.url}/v1`, idleTimeoutSeconds: 1 })).toMatchObject({ ok: true, result: { idleTimeoutSeconds: 1 } });
      // The key after the address: keys are sealed with the origin they are entered for.
      await send('set_secret', { provider: 'openai', secret: 'sk-proj-IDLEidleIDLEidle12345678' });
      expect(await send('list_providers', {})).toMatchObject({ ok: true, result: expect.arrayContaining([expect.objectContaining({ name: 'openai', idleTimeoutSeconds: 1 })]) });
      standIns.openai.script({ kind: 'silent_after_tokens' });
      const started = performance.now();
      expect(await send('call_ai_provider', { provider: 'openai', request: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] } })).toMatchObject({ ok: true });
      await expect.poll(() => events.find((e) => e.event === EVENTS.error), { timeout: 10_000 }).toBeDefined();
      const end = EVENT_SCHEMAS[EVENTS.error].parse(events.find((e) => e.event === EVENTS.error)?.payload);
      expect(end.error).toMatchObject({ code: 'timeout', message: expect.stringMatching(/went silent for 1 s/) });
      expect(end.response.text).toBe('Hello, world!');
      expect(performance.now() - started).toBeLessThan(5_000);
    } finally {
      await sidecar.dispose();
    }
  });
});
