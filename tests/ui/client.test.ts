/** The UI's sidecar client over an in-memory transport (our own seam, not a vendor mock). */
import { describe, expect, it } from 'vitest';
import { SidecarClient, type Transport } from '../../resources/src/api/client.js';
import { EVENTS, REPLY_EVENT, type RequestEnvelope } from '../../extensions/ai-sidecar/src/protocol/contract.js';

function memoryTransport() {
  const handlers = new Map<string, ((data: unknown) => void)[]>();
  const offline: (() => void)[] = [];
  const stopped: (() => void)[] = [];
  const sent: RequestEnvelope[] = [];
  const transport: Transport = {
    send: async (envelope) => void sent.push(envelope),
    on: (event, handler) => void handlers.set(event, [...(handlers.get(event) ?? []), handler]),
    onOffline: (handler) => void offline.push(handler),
    onSidecarStopped: (handler) => void stopped.push(handler),
  };
  const emit = (event: string, data: unknown) => handlers.get(event)?.forEach((h) => h(data));
  return { transport, sent, emit, goOffline: () => offline.forEach((h) => h()), sidecarStopped: () => stopped.forEach((h) => h()) };
}

const response = { provider: 'p', model: 'm', text: 'ab', finishReason: 'stop', usage: { inputTokens: 1, outputTokens: 2 }, timing: { totalMs: 5, tokensPerSecond: 10 } };

describe('SidecarClient', () => {
  it('matches each reply to its request by id and validates the result', async () => {
    const { transport, sent, emit } = memoryTransport();
    const client = new SidecarClient(transport);
    const a = client.invoke('vault_status', {});
    const b = client.invoke('list_secrets', {});
    await Promise.resolve();
    emit(REPLY_EVENT, { id: sent[1]?.id, ok: true, result: [] });
    emit(REPLY_EVENT, { id: sent[0]?.id, ok: true, result: { state: 'locked', autoLockMinutes: 15 } });
    await expect(a).resolves.toEqual({ state: 'locked', autoLockMinutes: 15 });
    await expect(b).resolves.toEqual([]);
  });

  it('rejects with the typed error a reply carries, and a reply that breaks the contract', async () => {
    const { transport, sent, emit } = memoryTransport();
    const client = new SidecarClient(transport);
    const a = client.invoke('vault_unlock', { passphrase: 'x' });
    const b = client.invoke('vault_status', {});
    await Promise.resolve();
    emit(REPLY_EVENT, { id: sent[0]?.id, ok: false, error: { code: 'wrong_passphrase', message: 'no', retryable: false } });
    emit(REPLY_EVENT, { id: sent[1]?.id, ok: true, result: { state: 'weird' } });
    await expect(a).rejects.toMatchObject({ code: 'wrong_passphrase' });
    await expect(b).rejects.toMatchObject({ code: 'bad_message' });
  });

  it('delivers a retry notice in seq order, also to a handler attached late, and never as text', () => {
    const { transport, emit } = memoryTransport();
    const client = new SidecarClient(transport);
    const notice = { executionId: 'e9', seq: 0, attempt: 2, delayMs: 1500, message: 'The server is busy (HTTP 429)' };
    const handle = client.track('e9');
    // Out of order, one of them broken, all before any handler is attached: replayed in order.
    emit(EVENTS.chunk, { executionId: 'e9', seq: 2, text: 'Hi' });
    emit(EVENTS.retry, { executionId: 'e9', seq: 1, attempt: 'x', delayMs: 1, message: 'broken' });
    emit(EVENTS.retry, notice);
    const order: string[] = [];
    handle.onRetry((r) => order.push(`retry ${r.attempt} ${r.delayMs}`)).onChunk((t) => order.push(`text ${t}`));
    // The broken notice held its place (the chunk after it came through) and reached no handler.
    expect(order).toEqual(['retry 2 1500', 'text Hi']);
  });

  it('times out a call that gets no reply', async () => {
    const { transport } = memoryTransport();
    const client = new SidecarClient(transport, { timeoutMs: 30 });
    await expect(client.invoke('vault_status', {})).rejects.toMatchObject({ code: 'timeout' });
  });

  it('rejects every pending call and fails running blocks when the channel goes away', async () => {
    const { transport, sent, emit, goOffline } = memoryTransport();
    const client = new SidecarClient(transport);
    const call = client.invoke('list_models', {});
    const started = client.callAIProvider('openai', { model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    await Promise.resolve();
    emit(REPLY_EVENT, { id: sent[1]?.id, ok: true, result: { executionId: 'e1' } });
    const handle = await started;
    const errors: string[] = [];
    handle.onError((e) => errors.push(e.error.code));
    goOffline();
    await expect(call).rejects.toMatchObject({ code: 'disconnected' });
    expect(errors).toEqual(['disconnected']);
    expect(client.state).toBe('offline');
    await expect(client.invoke('vault_status', {})).rejects.toMatchObject({ code: 'disconnected' });
  });

  it('delivers chunks in sequence order, including those that came before the reply, then one done', async () => {
    const { transport, sent, emit } = memoryTransport();
    const client = new SidecarClient(transport);
    const started = client.callAIProvider('openai', { model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    await Promise.resolve();
    expect(sent[0]?.params).toMatchObject({ provider: 'openai', request: { stream: true } });
    emit(EVENTS.chunk, { executionId: 'e9', seq: 1, text: 'b' });
    emit(EVENTS.chunk, { executionId: 'e9', seq: 0, text: 'a' });
    emit(REPLY_EVENT, { id: sent[0]?.id, ok: true, result: { executionId: 'e9' } });
    const handle = await started;
    const seen: string[] = [];
    handle.onChunk((t) => seen.push(t)).onDone((d) => seen.push(`done:${d.response.finishReason}`));
    emit(EVENTS.done, { executionId: 'e9', seq: 3, response });
    emit(EVENTS.chunk, { executionId: 'e9', seq: 2, text: 'c' });
    emit(EVENTS.chunk, { executionId: 'other', seq: 0, text: 'zzz' });
    emit(EVENTS.done, { executionId: 'e9', seq: 4, response });
    expect(seen).toEqual(['a', 'b', 'c', 'done:stop']);
  });

  it('ignores events that break the contract', async () => {
    const { transport, sent, emit } = memoryTransport();
    const client = new SidecarClient(transport);
    const started = client.callAIProvider('openai', { model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    await Promise.resolve();
    emit(REPLY_EVENT, { id: sent[0]?.id, ok: true, result: { executionId: 'e1' } });
    const handle = await started;
    const seen: string[] = [];
    handle.onChunk((t) => seen.push(t));
    emit(EVENTS.chunk, { executionId: 'e1', seq: 'zero', text: 'bad' });
    emit(EVENTS.chunk, { executionId: 'e1', seq: 0, text: 'good' });
    expect(seen).toEqual(['good']);
  });

  it('ends a run whose final report breaks the contract, naming the fault and keeping its text', async () => {
    const { transport, sent, emit } = memoryTransport();
    const client = new SidecarClient(transport);
    const started = client.callAIProvider('anthropic', { model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    await Promise.resolve();
    emit(REPLY_EVENT, { id: sent[0]?.id, ok: true, result: { executionId: 'e2' } });
    const handle = await started;
    const ended: { code: string; message: string; text: string }[] = [];
    handle.onError(({ error, response }) => ended.push({ code: error.code, message: error.message, text: response.text }));
    emit(EVENTS.chunk, { executionId: 'e2', seq: 0, text: 'Hello' });
    emit(EVENTS.chunk, { executionId: 'e2', seq: 1, text: 42 });
    emit(EVENTS.done, { executionId: 'e2', seq: 2, response: { ...response, usage: { outputTokens: 2 } } });
    expect(ended).toEqual([{ code: 'bad_message', message: expect.stringMatching(/final report was malformed.*Input tokens is required/), text: 'Hello' }]);
  });

  it('ends every pending call and run at once when the engine stops (extClientDisconnect)', async () => {
    const { transport, sent, emit, sidecarStopped } = memoryTransport();
    const client = new SidecarClient(transport, { timeoutMs: 60_000 });
    const states: string[] = [];
    client.onState((s) => states.push(s));
    const started = client.callAIProvider('openai', { model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    await Promise.resolve();
    emit(REPLY_EVENT, { id: sent[0]?.id, ok: true, result: { executionId: 'e3' } });
    const handle = await started;
    let failure: { code: string; message: string; text: string } | undefined;
    handle.onError(({ error, response }) => (failure = { code: error.code, message: error.message, text: response.text }));
    emit(EVENTS.chunk, { executionId: 'e3', seq: 0, text: 'partial' });
    const pending = client.invoke('list_providers', {});
    const at = performance.now();
    sidecarStopped();
    await expect(pending).rejects.toMatchObject({ code: 'disconnected', message: expect.stringMatching(/engine stopped/) });
    expect(performance.now() - at).toBeLessThan(50);
    expect(failure).toEqual({ code: 'disconnected', message: expect.stringMatching(/engine stopped.*Restart the app/), text: 'partial' });
    expect(states).toEqual(['stopped']);
    await expect(handle.cancel()).resolves.toBeUndefined();
    await expect(client.invoke('vault_status', {})).rejects.toMatchObject({ code: 'disconnected' });
  });

  it('ends a run whose end arrived after a gap (an event lost in transit) after a short grace, not never', async () => {
    const { transport, sent, emit } = memoryTransport();
    const client = new SidecarClient(transport);
    const started = client.callAIProvider('openai', { model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    await Promise.resolve();
    emit(REPLY_EVENT, { id: sent[0]?.id, ok: true, result: { executionId: 'e4' } });
    const handle = await started;
    const seen: string[] = [];
    let done: string | undefined;
    handle.onChunk((t) => seen.push(t)).onDone(({ response }) => (done = response.text));
    emit(EVENTS.chunk, { executionId: 'e4', seq: 0, text: 'a' });
    emit(EVENTS.chunk, { executionId: 'e4', seq: 2, text: 'c' });
    emit(EVENTS.done, { executionId: 'e4', seq: 3, response: { ...response, text: 'abc' } });
    expect(done).toBeUndefined();
    await expect.poll(() => done, { timeout: 3_000 }).toBe('abc');
    expect(seen).toEqual(['a', 'c']);
  });
});
