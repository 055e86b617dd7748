/**
 * The conversations store over the in-memory transport: replies and events are played at the
 * contract level (validated by the real client), so the store is tested as the window uses it.
 */
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Transport } from '../../resources/src/api/client.js';
import { sendBlocked, errorText, finishReason, providerState, retryText } from '../../resources/src/lib/words.js';
import { useConnectionStore } from '../../resources/src/stores/connection.js';
import { useConversationsStore } from '../../resources/src/stores/conversations.js';
import { wireEvents } from '../../resources/src/stores/events.js';
import { EVENTS, REPLY_EVENT, type RequestEnvelope } from '../../extensions/ai-sidecar/src/protocol/contract.js';

type Handler = (params: Record<string, unknown>) => unknown;

/** A sidecar played at the wire: each command answered by a handler (or a typed error), events emitted by hand. */
function fakeSidecar(handlers: Record<string, Handler>) {
  const listeners = new Map<string, ((data: unknown) => void)[]>();
  const sent: RequestEnvelope[] = [];
  const emit = (event: string, data: unknown) => listeners.get(event)?.forEach((h) => h(data));
  const transport: Transport = {
    send: async (envelope) => {
      sent.push(envelope);
      const handler = handlers[envelope.command];
      queueMicrotask(async () => {
        if (handler === undefined) return emit(REPLY_EVENT, { id: envelope.id, ok: false, error: { code: 'unknown_command', message: 'no', retryable: false } });
        try {
          emit(REPLY_EVENT, { id: envelope.id, ok: true, result: await handler(envelope.params as Record<string, unknown>) });
        } catch (e) {
          emit(REPLY_EVENT, { id: envelope.id, ok: false, error: e });
        }
      });
    },
    on: (event, handler) => void listeners.set(event, [...(listeners.get(event) ?? []), handler]),
    onOffline: () => undefined,
  };
  return { transport, sent, emit, commands: () => sent.map((s) => s.command) };
}

const T = '2026-01-01T00:00:00.000Z';
const conversation = (id: string, extra: Record<string, unknown> = {}) => ({ id, title: 'New conversation', provider: 'openai', model: 'gpt-4o-mini', settings: { systemPrompt: '' }, presetId: null, createdAt: T, updatedAt: T, ...extra });
const message = (id: string, role: 'user' | 'assistant', content: string, extra: Record<string, unknown> = {}) => ({
  id, conversationId: 'c1', role, content, status: role === 'user' ? 'complete' : 'streaming', executionId: role === 'user' ? null : `e-${id}`,
  provider: role === 'user' ? null : 'openai', model: role === 'user' ? null : 'gpt-4o-mini', stats: null, error: null, createdAt: T, ...extra,
});
const response = (finishReason: string, text = '') => ({ provider: 'openai', model: 'gpt-4o-mini', text, finishReason, usage: { inputTokens: 7, outputTokens: 3 }, timing: { timeToFirstTokenMs: 12, totalMs: 40, tokensPerSecond: 75 } });
const flush = () => new Promise((r) => setTimeout(r, 0));

async function setup(handlers: Record<string, Handler>) {
  setActivePinia(createPinia());
  const sidecar = fakeSidecar({ hello: () => ({ protocolVersion: 1, sidecarVersion: 't', dataDir: '/x', readOnly: false, storageError: null }), list_conversations: () => [], ...handlers });
  wireEvents(sidecar.transport);
  await useConnectionStore().connect(sidecar.transport);
  return { sidecar, store: useConversationsStore() };
}

describe('conversations store', () => {
  let turn = 0;
  beforeEach(() => (turn = 0));
  const sendHandlers = {
    create_conversation: () => conversation('c1'),
    send_message: (p: Record<string, unknown>) => {
      turn += 1;
      return { executionId: `e-a${turn}`, userMessage: message(`u${turn}`, 'user', String(p.content)), assistantMessage: message(`a${turn}`, 'assistant', '') };
    },
  };

  it('stores a draft only when its first message is sent, then streams the answer into it in order', async () => {
    const { sidecar, store } = await setup(sendHandlers);
    store.startDraft({ provider: 'openai', model: 'gpt-4o-mini' });
    expect(sidecar.commands()).not.toContain('create_conversation');
    expect(await store.send('Hello')).toBe(true);
    expect(sidecar.commands()).toEqual(expect.arrayContaining(['create_conversation', 'send_message']));
    expect(sidecar.sent.find((s) => s.command === 'create_conversation')?.params).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini' });
    expect(store.current?.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(store.busy).toBe(true);
    expect(store.live?.phase).toBe('waiting');
    sidecar.emit(EVENTS.chunk, { executionId: 'e-a1', seq: 1, text: ' world' });
    sidecar.emit(EVENTS.chunk, { executionId: 'e-a1', seq: 0, text: 'Hello' });
    expect(store.current?.messages[1]?.content).toBe('Hello world');
    expect(store.live?.phase).toBe('streaming');
    sidecar.emit(EVENTS.done, { executionId: 'e-a1', seq: 2, response: response('stop', 'Hello world') });
    expect(store.busy).toBe(false);
    expect(store.current?.messages[1]).toMatchObject({ status: 'complete', stats: { timeToFirstTokenMs: 12, inputTokens: 7, outputTokens: 3, finishReason: 'stop' } });
  });

  it('a stopped answer keeps its text and is marked cancelled; Stop sends cancel_execution for that run', async () => {
    const { sidecar, store } = await setup({ ...sendHandlers, cancel_execution: () => ({ ok: true }) });
    store.startDraft({ provider: 'openai', model: 'm' });
    await store.send('Go');
    sidecar.emit(EVENTS.chunk, { executionId: 'e-a1', seq: 0, text: 'part' });
    await store.stop();
    expect(sidecar.sent.at(-1)).toMatchObject({ command: 'cancel_execution', params: { executionId: 'e-a1' } });
    sidecar.emit(EVENTS.done, { executionId: 'e-a1', seq: 1, response: response('cancelled', 'part') });
    expect(store.current?.messages[1]).toMatchObject({ status: 'cancelled', content: 'part' });
  });

  it('regenerate replaces the last answer; edit and resend replaces everything from the edited message on', async () => {
    const { sidecar, store } = await setup({
      ...sendHandlers,
      regenerate: () => ({ executionId: 'e-r', assistantMessage: message('r', 'assistant', '') }),
      edit_and_resend: (p) => ({ executionId: 'e-x', userMessage: message('x', 'user', String(p.content)), assistantMessage: message('xa', 'assistant', '') }),
    });
    store.startDraft({ provider: 'openai', model: 'm' });
    for (const text of ['one', 'two']) {
      await store.send(text);
      sidecar.emit(EVENTS.done, { executionId: `e-a${turn}`, seq: 0, response: response('stop') });
    }
    expect(store.current?.messages.map((m) => m.id)).toEqual(['u1', 'a1', 'u2', 'a2']);
    await store.regenerate();
    expect(store.current?.messages.map((m) => m.id)).toEqual(['u1', 'a1', 'u2', 'r']);
    sidecar.emit(EVENTS.done, { executionId: 'e-r', seq: 0, response: response('stop') });
    await store.editAndResend('u1', 'uno');
    expect(store.current?.messages.map((m) => m.id)).toEqual(['x', 'xa']);
    expect(sidecar.sent.at(-1)?.params).toEqual({ conversationId: 'c1', messageId: 'u1', content: 'uno' });
  });

  it('refuses a second send while an answer is being written, and keeps a failed send in words', async () => {
    const { store } = await setup({
      ...sendHandlers,
      send_message: () => {
        throw { code: 'busy', message: 'An answer is still being written in this conversation. Stop it first.', retryable: true };
      },
    });
    store.startDraft({ provider: 'openai', model: 'm' });
    expect(await store.send('Hi')).toBe(false);
    expect(store.error).toMatch(/busy with another answer.*Stop it first/);
    expect(store.error).not.toMatch(/\bbusy\b:/);
  });

  it('applies stored changes (title, final message) and context usage with the trimmed-history note', async () => {
    const { sidecar, store } = await setup(sendHandlers);
    store.startDraft({ provider: 'openai', model: 'm' });
    await store.send('A long story');
    sidecar.emit(EVENTS.context, { conversationId: 'c1', executionId: 'e-a1', usage: { tokensUsed: 900, contextSize: 1024, droppedMessages: 2, estimated: false }, trimmed: { droppedMessages: 2, message: 'The 2 oldest messages were left out to fit the context.' } });
    expect(store.current?.context).toMatchObject({ tokensUsed: 900, contextSize: 1024 });
    expect(store.trimNotes.get('e-a1')).toMatch(/oldest messages/);
    sidecar.emit(EVENTS.conversation, { conversation: conversation('c1', { title: 'A long story' }), message: message('a1', 'assistant', 'Stored text', { status: 'failed', error: { code: 'network', message: 'Connection reset.', retryable: true } }) });
    expect(store.current?.title).toBe('A long story');
    expect(store.current?.messages[1]).toMatchObject({ content: 'Stored text', status: 'failed' });
  });

  it('shows the new turn before the sidecar answers, and puts the conversation back if the run cannot start', async () => {
    let release!: (fail: boolean) => void;
    const { store } = await setup({
      get_conversation: () => ({ ...conversation('c1'), messages: [message('u0', 'user', 'before'), message('a0', 'assistant', 'old', { status: 'complete' })], context: null }),
      send_message: () =>
        new Promise((resolve, reject) => {
          release = (fail) => (fail ? reject({ code: 'model_not_found', message: 'No model named x.gguf.', retryable: false }) : resolve({ executionId: 'e1', userMessage: message('u1', 'user', 'now'), assistantMessage: message('a1', 'assistant', '') }));
        }),
      cancel_execution: () => ({ ok: true }),
    });
    await store.open('c1');
    const sending = store.send('now');
    await flush();
    expect(store.current?.messages.map((m) => [m.role, m.content])).toEqual([['user', 'before'], ['assistant', 'old'], ['user', 'now'], ['assistant', '']]);
    expect(store.busy).toBe(true);
    release(true);
    expect(await sending).toBe(false);
    expect(store.current?.messages.map((m) => m.id)).toEqual(['u0', 'a0']);
    expect(store.busy).toBe(false);
    expect(store.error).toMatch(/That model was not found\. No model named x\.gguf\./);
    const again = store.send('now');
    await flush();
    release(false);
    expect(await again).toBe(true);
    expect(store.current?.messages.map((m) => m.id)).toEqual(['u0', 'a0', 'u1', 'a1']);
  });

  it('deletes at once and undoes by restoring', async () => {
    const { sidecar, store } = await setup({
      list_conversations: () => [],
      get_conversation: () => ({ ...conversation('c1', { title: 'Kept' }), messages: [], context: null }),
      delete_conversation: () => ({ ok: true }),
      restore_conversation: () => conversation('c1', { title: 'Kept' }),
    });
    await store.open('c1');
    await store.remove('c1');
    expect(store.deleted?.id).toBe('c1');
    expect(store.current).toBeUndefined();
    expect(store.draft).toBeDefined();
    await store.undoDelete();
    expect(sidecar.commands()).toContain('restore_conversation');
    expect(store.current?.title).toBe('Kept');
    expect(store.deleted).toBeUndefined();
  });

  it('a draft changes locally; an open conversation is updated in the sidecar', async () => {
    const { sidecar, store } = await setup({
      get_conversation: () => ({ ...conversation('c1'), messages: [], context: null }),
      update_conversation: (p) => conversation('c1', { provider: p.provider, model: p.model }),
    });
    store.startDraft({ provider: 'openai', model: 'gpt-4o-mini' });
    await store.configure({ provider: 'local', model: 'stories.gguf' });
    expect(store.provider).toBe('local');
    expect(sidecar.commands()).not.toContain('update_conversation');
    await store.open('c1');
    await store.configure({ provider: 'anthropic', model: 'claude' });
    expect(sidecar.sent.at(-1)).toMatchObject({ command: 'update_conversation', params: { id: 'c1', provider: 'anthropic', model: 'claude' } });
    expect(store.model).toBe('claude');
  });

  it('shows model loading where the answer waits, then streaming', async () => {
    const { sidecar, store } = await setup(sendHandlers);
    store.startDraft({ provider: 'local', model: 'm.gguf' });
    await store.send('Hi');
    sidecar.emit(EVENTS.modelLoad, { model: 'm.gguf', progress: 0.4 });
    expect(store.live?.phase).toBe('loading');
    expect(store.loadingModel?.progress).toBe(0.4);
    sidecar.emit(EVENTS.chunk, { executionId: 'e-a1', seq: 0, text: 'x' });
    expect(store.live?.phase).toBe('streaming');
    expect(store.loadingModel).toBeUndefined();
    await flush();
  });

  it('shows a real retry where the answer waits, in words, and clears it at the first token', async () => {
    const { sidecar, store } = await setup(sendHandlers);
    store.startDraft({ provider: 'openai', model: 'gpt-4o-mini' });
    await store.send('Hi');
    expect(store.live?.retry).toBeUndefined();
    const before = Date.now();
    sidecar.emit(EVENTS.retry, { executionId: 'e-a1', seq: 0, attempt: 2, delayMs: 3000, message: 'The server is busy (HTTP 429)' });
    const retry = store.live?.retry;
    expect(retry).toMatchObject({ attempt: 2, message: 'The server is busy (HTTP 429)' });
    expect(retry!.until - before).toBeGreaterThanOrEqual(3000);
    expect(store.live?.phase).toBe('waiting');
    // What ChatMessage shows at the moment the notice arrives, and once the wait is over.
    expect(retryText(retry!, Math.ceil((retry!.until - Date.now()) / 1000))).toBe('The server is busy (HTTP 429). Retrying in 3 s (attempt 2)…');
    expect(retryText(retry!, 0)).toBe('The server is busy (HTTP 429). Retrying now (attempt 2)…');
    // A notice that breaks the contract is not shown.
    sidecar.emit(EVENTS.retry, { executionId: 'e-a1', seq: 1, attempt: 'three', delayMs: 1000, message: 'x' });
    expect(store.live?.retry).toEqual(retry);
    sidecar.emit(EVENTS.chunk, { executionId: 'e-a1', seq: 2, text: 'Hello' });
    expect(store.live?.phase).toBe('streaming');
    expect(store.live?.retry).toBeUndefined();
    expect(store.current?.messages[1]?.content).toBe('Hello');
  });

  it('never shows a retry after text, even when its event arrives late', async () => {
    const { sidecar, store } = await setup(sendHandlers);
    store.startDraft({ provider: 'openai', model: 'gpt-4o-mini' });
    await store.send('Hi');
    sidecar.emit(EVENTS.chunk, { executionId: 'e-a1', seq: 1, text: 'Hello' });
    expect(store.current?.messages[1]?.content).toBe('');
    sidecar.emit(EVENTS.retry, { executionId: 'e-a1', seq: 0, attempt: 2, delayMs: 1000, message: 'The server is busy (HTTP 429)' });
    expect(store.current?.messages[1]?.content).toBe('Hello');
    expect(store.live?.phase).toBe('streaming');
    expect(store.live?.retry).toBeUndefined();
  });
});

describe('words for people', () => {
  it('never shows a code', () => {
    expect(providerState('needs_key')).toBe('Needs an API key');
    expect(providerState('something_new')).toBe('Unavailable');
    expect(finishReason('length')).toMatch(/length limit/);
    expect(finishReason('length')).not.toMatch(/^length$/);
    expect(errorText({ code: 'auth', message: 'Incorrect API key provided: sk-…1234.' })).toMatch(/^The provider refused the API key\. Incorrect/);
    expect(errorText({ code: 'vault_not_initialised', message: '' })).toMatch(/no vault yet/);
  });

  it('says why Send is disabled', () => {
    const ok = { connected: true, provider: 'openai', model: 'gpt', state: 'ready', text: 'hi', busy: false };
    expect(sendBlocked(ok)).toBeUndefined();
    expect(sendBlocked({ ...ok, provider: '' })).toMatch(/Choose a provider/);
    expect(sendBlocked({ ...ok, state: 'needs_key' })).toMatch(/needs an API key/);
    expect(sendBlocked({ ...ok, state: 'locked' })).toMatch(/Unlock the vault/);
    expect(sendBlocked({ ...ok, model: ' ' })).toMatch(/Choose a model/);
    expect(sendBlocked({ ...ok, text: '' })).toMatch(/Type a message/);
    expect(sendBlocked({ ...ok, connected: false })).toMatch(/connect/);
    expect(sendBlocked({ ...ok, connected: false, stopped: true })).toMatch(/engine stopped: restart/);
  });
});
