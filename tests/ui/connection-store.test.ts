/**
 * The connection store greeting an engine that is slow to answer, over an in-memory transport whose
 * replies are played at the contract level: the window must wait out a long start (a whole-database
 * check after an unexpected shutdown) instead of giving up and staying stuck.
 */
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Transport } from '../../resources/src/api/client.js';
import { HELLO_TIMEOUT_MS, HUNG_START, SLOW_START, useConnectionStore } from '../../resources/src/stores/connection.js';
import { REPLY_EVENT, type RequestEnvelope } from '../../extensions/ai-sidecar/src/protocol/contract.js';

const HELLO = { protocolVersion: 1, sidecarVersion: 't', dataDir: '/x', readOnly: false, storageError: null };

/** An engine that answers nothing until `wake()`, then every greeting it was sent, in order (as the real one drains its socket). */
function busyEngine() {
  const listeners = new Map<string, ((data: unknown) => void)[]>();
  const offline: (() => void)[] = [];
  const sent: RequestEnvelope[] = [];
  const emit = (event: string, data: unknown) => listeners.get(event)?.forEach((h) => h(data));
  let awake = false;
  const answer = (envelope: RequestEnvelope) => emit(REPLY_EVENT, { id: envelope.id, ok: true, result: HELLO });
  const transport: Transport = {
    send: async (envelope) => {
      sent.push(envelope);
      if (awake) queueMicrotask(() => answer(envelope));
    },
    on: (event, handler) => void listeners.set(event, [...(listeners.get(event) ?? []), handler]),
    onOffline: (handler) => void offline.push(handler),
  };
  return {
    transport,
    sent,
    emit,
    wake: () => {
      awake = true;
      for (const envelope of sent) answer(envelope);
    },
    goOffline: () => offline.forEach((h) => h()),
  };
}

describe('connection store: a slow start', () => {
  beforeEach(async () => {
    setActivePinia(createPinia());
    // The store loads the client on connect; loaded here, with real timers, it is cached for the store.
    await import('../../resources/src/api/client.js');
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => vi.useRealTimers());

  it('keeps greeting past three timeouts, says why in plain words, and is ready once the engine answers', async () => {
    const engine = busyEngine();
    const store = useConnectionStore();
    const connecting = store.connect(engine.transport);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(store.error).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1_001);
    expect(store.error).toBe(SLOW_START);
    await vi.advanceTimersByTimeAsync(4 * HELLO_TIMEOUT_MS);
    expect(engine.sent.filter((s) => s.command === 'hello')).toHaveLength(5);
    expect(store.state).toBe('connecting');
    expect(store.error).toBe(SLOW_START);
    engine.wake();
    await connecting;
    expect(store.state).toBe('ready');
    expect(store.error).toBeUndefined();
    expect(store.info).toEqual(HELLO);
  });

  it('changes its words once ten minutes have passed, and still takes a late answer', async () => {
    const engine = busyEngine();
    const store = useConnectionStore();
    const connecting = store.connect(engine.transport);
    await vi.advanceTimersByTimeAsync(9 * 60_000);
    expect(store.error).toBe(SLOW_START);
    await vi.advanceTimersByTimeAsync(2 * 60_000);
    expect(store.error).toBe(HUNG_START);
    engine.wake();
    await connecting;
    expect(store.state).toBe('ready');
  });

  it('stops when the runtime goes away, and gives up after three failures that are not timeouts', async () => {
    const engine = busyEngine();
    const store = useConnectionStore();
    const connecting = store.connect(engine.transport);
    await vi.advanceTimersByTimeAsync(HELLO_TIMEOUT_MS + 1);
    engine.goOffline();
    await vi.advanceTimersByTimeAsync(HELLO_TIMEOUT_MS + 1);
    await connecting;
    expect(store.state).toBe('offline');

    setActivePinia(createPinia());
    let tries = 0;
    const refusing: Transport = { ...engine.transport, send: () => ((tries += 1), Promise.reject(new Error('the runtime refused the dispatch'))) };
    const other = useConnectionStore();
    await other.connect(refusing);
    expect(tries).toBe(3);
    expect(other.state).toBe('connecting');
    expect(other.error).toMatch(/^Still connecting: .*refused the dispatch/);
  });
});
