/**
 * Conversations through the real sidecar's commands, against the OpenAI stand-in (which records
 * every request it receives, so what the provider was sent is checked where it arrives).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIServer, type OpenAIServer } from '../wire/openai-server.js';
import { startTestSidecar, useOpenAIStandIn, type TestSidecar } from './helpers.js';

let openai: OpenAIServer;
let app: TestSidecar;

beforeAll(async () => {
  openai = await startOpenAIServer();
  app = await startTestSidecar();
  await useOpenAIStandIn(app, `${openai.url}/v1`);
}, 30_000);
afterAll(async () => {
  await app?.close();
  await openai?.close();
});

const sentMessages = () => {
  const chats = openai.requests.filter((r) => r.path.endsWith('/chat/completions'));
  return (chats.at(-1)?.body as { messages: { role: string; content: string }[] }).messages;
};

async function say(conversationId: string, content: string, answer: string[]) {
  openai.script({ kind: 'ok', tokens: answer });
  const run = await app.call('send_message', { conversationId, content });
  const end = await app.ended(run.executionId);
  return { run, end };
}

async function newConversation(settings: { systemPrompt?: string; contextSize?: number } = {}) {
  return app.call('create_conversation', { provider: 'openai', model: 'gpt-4o-mini', settings });
}

describe('a conversation', () => {
  it('sends its whole history with each turn: the third request carries the first two turns, after the system prompt', async () => {
    const conversation = await newConversation({ systemPrompt: 'Answer briefly.' });
    const first = await say(conversation.id, 'What is the capital of France?', ['Par', 'is.']);
    expect(first.run.userMessage).toMatchObject({ role: 'user', content: 'What is the capital of France?', status: 'complete' });
    expect(first.run.assistantMessage).toMatchObject({ role: 'assistant', status: 'streaming', executionId: first.run.executionId });
    await say(conversation.id, 'And of Italy?', ['Rome.']);
    await say(conversation.id, 'Which is bigger?', ['Paris', ' is.']);

    expect(sentMessages()).toEqual([
      { role: 'system', content: 'Answer briefly.' },
      { role: 'user', content: 'What is the capital of France?' },
      { role: 'assistant', content: 'Paris.' },
      { role: 'user', content: 'And of Italy?' },
      { role: 'assistant', content: 'Rome.' },
      { role: 'user', content: 'Which is bigger?' },
    ]);

    const detail = await app.call('get_conversation', { id: conversation.id });
    expect(detail.title).toBe('What is the capital of France?');
    const renamed = app.events.find((e) => e.event === 'sim.conversation' && (e.data as { conversation: { id: string } }).conversation.id === conversation.id);
    expect(renamed?.data).toMatchObject({ conversation: { title: 'What is the capital of France?' } });
    expect(detail.messages.map((m) => [m.role, m.content, m.status])).toEqual([
      ['user', 'What is the capital of France?', 'complete'],
      ['assistant', 'Paris.', 'complete'],
      ['user', 'And of Italy?', 'complete'],
      ['assistant', 'Rome.', 'complete'],
      ['user', 'Which is bigger?', 'complete'],
      ['assistant', 'Paris is.', 'complete'],
    ]);
    const answer = detail.messages[5];
    expect(answer).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini', stats: { outputTokens: 2, finishReason: 'stop' } });
    expect(answer?.stats?.timeToFirstTokenMs).toBeGreaterThanOrEqual(0);
    expect(detail.context).toMatchObject({ droppedMessages: 0, estimated: true });
    expect(detail.context?.tokensUsed).toBeGreaterThan(0);

    // The stored answer's final state was announced.
    const stored = app.events.filter((e) => e.event === 'sim.conversation').map((e) => (e.data as { message?: { id: string; status: string } }).message);
    expect(stored).toContainEqual(expect.objectContaining({ id: answer?.id, status: 'complete' }));
  });

  it('links each run in the ledger to its conversation and keeps what was sent, not only what came back', async () => {
    const conversation = await newConversation({ systemPrompt: 'You are terse.' });
    await say(conversation.id, 'One', ['Uno']);
    const { run } = await say(conversation.id, 'Two', ['Dos']);
    const runs = await app.call('list_executions', { conversationId: conversation.id });
    expect(runs.map((r) => r.id)).toEqual([run.executionId, expect.any(String)]);
    expect(runs.every((r) => r.conversationId === conversation.id)).toBe(true);
    const detail = await app.call('get_execution', { id: run.executionId });
    expect(detail.text).toBe('Dos');
    expect(detail.request?.messages).toEqual([
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'One' },
      { role: 'assistant', content: 'Uno' },
      { role: 'user', content: 'Two' },
    ]);
  });

  it('regenerate replaces the last answer; edit and resend replaces everything after the edited message', async () => {
    const conversation = await newConversation();
    await say(conversation.id, 'Tell me a colour', ['Red']);
    await say(conversation.id, 'Another', ['Blue']);

    openai.script({ kind: 'ok', tokens: ['Green'] });
    const again = await app.call('regenerate', { conversationId: conversation.id });
    expect(again.userMessage).toBeUndefined();
    await app.ended(again.executionId);
    expect(sentMessages().map((m) => m.content)).toEqual(['Tell me a colour', 'Red', 'Another']);
    let detail = await app.call('get_conversation', { id: conversation.id });
    expect(detail.messages.map((m) => m.content)).toEqual(['Tell me a colour', 'Red', 'Another', 'Green']);

    const firstUser = detail.messages[0];
    openai.script({ kind: 'ok', tokens: ['Triangle'] });
    const edited = await app.call('edit_and_resend', { conversationId: conversation.id, messageId: firstUser?.id ?? '', content: 'Tell me a shape' });
    await app.ended(edited.executionId);
    expect(sentMessages()).toEqual([{ role: 'user', content: 'Tell me a shape' }]);
    detail = await app.call('get_conversation', { id: conversation.id });
    expect(detail.messages.map((m) => m.content)).toEqual(['Tell me a shape', 'Triangle']);
    expect(detail.messages[0]?.id).toBe(firstUser?.id);

    // Only the user's own messages can be edited.
    const answerId = detail.messages[1]?.id ?? '';
    expect(await app.fail('edit_and_resend', { conversationId: conversation.id, messageId: answerId, content: 'x' })).toMatchObject({ code: 'validation' });
  });

  it('refuses a second send while an answer streams; Stop keeps the partial answer, marked stopped', async () => {
    const conversation = await newConversation();
    openai.script({ kind: 'slow', intervalMs: 30, count: 400 });
    const run = await app.call('send_message', { conversationId: conversation.id, content: 'Count slowly' });
    expect(await app.fail('send_message', { conversationId: conversation.id, content: 'Hurry' })).toMatchObject({ code: 'busy', message: expect.stringMatching(/still being written/) });
    await expect.poll(() => app.events.filter((e) => e.event === 'sim.chunk' && (e.data as { executionId: string }).executionId === run.executionId).length, { timeout: 10_000 }).toBeGreaterThan(2);
    await app.call('cancel_execution', { executionId: run.executionId });
    await app.ended(run.executionId);
    const detail = await app.call('get_conversation', { id: conversation.id });
    const answer = detail.messages[1];
    expect(answer?.status).toBe('cancelled');
    expect(answer?.content).toMatch(/^t0 t1 t2 /);
    expect(answer?.stats?.finishReason).toBe('cancelled');
    // And the conversation takes the next message.
    await say(conversation.id, 'Thanks', ['OK']);
    expect(sentMessages().map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
  });

  it('drops the oldest turns when the history outgrows the context, keeps the system prompt, and says so', async () => {
    const conversation = await newConversation({ systemPrompt: 'Keep me.', contextSize: 400 });
    const long = (n: number) => `${n} ${'word '.repeat(80)}`; // about 100 estimated tokens each
    for (const n of [1, 2]) await say(conversation.id, long(n), [`answer ${n}`]);
    const { run } = await say(conversation.id, long(3), ['answer 3']);
    const sent = sentMessages();
    expect(sent[0]).toEqual({ role: 'system', content: 'Keep me.' });
    expect(sent.at(-1)?.content).toBe(long(3));
    expect(sent.some((m) => m.content === long(1))).toBe(false);
    expect(sent[1]?.role).toBe('user');
    const context = app.events.find((e) => e.event === 'sim.context' && (e.data as { executionId: string }).executionId === run.executionId)?.data as {
      usage: { tokensUsed: number; contextSize: number; droppedMessages: number };
      trimmed?: { droppedMessages: number; message: string };
    };
    expect(context.usage.contextSize).toBe(400);
    expect(context.usage.tokensUsed).toBeLessThanOrEqual(400);
    expect(context.trimmed?.droppedMessages).toBe(6 - sent.length);
    expect(context.trimmed?.droppedMessages).toBeGreaterThanOrEqual(2);
    expect(context.trimmed?.message).toMatch(/400-token context.*oldest messages were left out.*system prompt is always kept/);
    // Trimmed from the request only: the conversation keeps every message.
    expect((await app.call('get_conversation', { id: conversation.id })).messages).toHaveLength(6);
  });

  it('exports as Markdown and JSON, and imports the JSON back as a new, equal conversation', async () => {
    const conversation = await newConversation({ systemPrompt: 'Be kind.' });
    await say(conversation.id, 'Show code', ['```js\nconsole.log(1)\n```']);
    const markdown = await app.call('export_conversation', { id: conversation.id, format: 'markdown' });
    expect(markdown).toMatchObject({ fileName: 'Show-code.md', mimeType: 'text/markdown' });
    expect(markdown.content).toContain('# Show code');
    expect(markdown.content).toContain('## System prompt\n\nBe kind.');
    expect(markdown.content).toContain('## You\n\nShow code');
    expect(markdown.content).toContain('```js\nconsole.log(1)\n```');

    const json = await app.call('export_conversation', { id: conversation.id, format: 'json' });
    const imported = await app.call('import_conversation', { content: json.content });
    expect(imported.id).not.toBe(conversation.id);
    const [a, b] = await Promise.all([app.call('get_conversation', { id: conversation.id }), app.call('get_conversation', { id: imported.id })]);
    const strip = (d: typeof a) => ({ ...d, id: '', messages: d.messages.map((m) => ({ ...m, id: '', conversationId: '', executionId: null })), context: null, presetId: null });
    expect(strip(b)).toEqual(strip(a));

    expect(await app.fail('import_conversation', { content: '{"hello": 1}' })).toMatchObject({ code: 'validation', message: expect.stringMatching(/not a conversation exported by this app/) });
    expect(await app.fail('import_conversation', { content: 'not json' })).toMatchObject({ code: 'validation' });
  });
});

describe('the conversation list', () => {
  let fresh: TestSidecar;
  afterEach(async () => fresh?.close());

  it('lists newest first, searches titles and text, renames, and deletes with undo', async () => {
    fresh = await startTestSidecar();
    await useOpenAIStandIn(fresh, `${openai.url}/v1`);
    const make = async (title: string) => fresh.call('create_conversation', { provider: 'openai', model: 'gpt-4o', title });
    const a = await make('Holiday plans');
    const b = await make('Tax questions');
    openai.script({ kind: 'ok', tokens: ['Try a ', 'spreadsheet'] });
    await fresh.ended((await fresh.call('send_message', { conversationId: a.id, content: 'Budget for Rome' })).executionId);

    expect((await fresh.call('list_conversations', {})).map((c) => c.title)).toEqual(['Holiday plans', 'Tax questions']);
    expect((await fresh.call('list_conversations', {}))[0]?.messageCount).toBe(2);
    expect((await fresh.call('list_conversations', { query: 'tax' })).map((c) => c.id)).toEqual([b.id]);
    const byText = await fresh.call('list_conversations', { query: 'SPREADSHEET' });
    expect(byText).toEqual([expect.objectContaining({ id: a.id, snippet: 'Try a spreadsheet' })]);
    expect(await fresh.call('list_conversations', { query: '100%_' })).toEqual([]);

    await fresh.call('update_conversation', { id: b.id, title: 'Taxes 2026' });
    expect((await fresh.call('list_conversations', {}))[0]).toMatchObject({ id: b.id, title: 'Taxes 2026' });
    expect(await fresh.fail('update_conversation', { id: b.id, provider: 'anthropic' })).toMatchObject({ code: 'validation', message: expect.stringMatching(/model/) });

    await fresh.call('delete_conversation', { id: a.id });
    expect((await fresh.call('list_conversations', { query: 'spreadsheet' }))).toEqual([]);
    expect(await fresh.fail('get_conversation', { id: a.id })).toMatchObject({ code: 'not_found' });
    await fresh.call('restore_conversation', { id: a.id });
    expect((await fresh.call('get_conversation', { id: a.id })).messages).toHaveLength(2);
  });

  it('deleting a conversation stops its answer; undo finds the answer kept as stopped', async () => {
    fresh = await startTestSidecar();
    await useOpenAIStandIn(fresh, `${openai.url}/v1`);
    const c = await fresh.call('create_conversation', { provider: 'openai', model: 'gpt-4o', title: 'Doomed' });
    openai.script({ kind: 'slow', intervalMs: 20, count: 1000 });
    const run = await fresh.call('send_message', { conversationId: c.id, content: 'Talk' });
    await expect.poll(() => fresh.events.filter((e) => e.event === 'sim.chunk' && (e.data as { executionId: string }).executionId === run.executionId).length, { timeout: 10_000 }).toBeGreaterThan(1);
    await fresh.call('delete_conversation', { id: c.id });
    expect((await fresh.ended(run.executionId)).event).toBe('sim.done');
    const announced = fresh.events.filter((e) => e.event === 'sim.conversation' && (e.data as { message?: { id: string } }).message?.id === run.assistantMessage.id);
    expect(announced).toEqual([]);
    await fresh.call('restore_conversation', { id: c.id });
    const answer = (await fresh.call('get_conversation', { id: c.id })).messages[1];
    expect(answer?.status).toBe('cancelled');
    expect(answer?.content).toMatch(/^t0 /);
  });

  it('keeps everything across a restart of the sidecar', async () => {
    fresh = await startTestSidecar();
    await useOpenAIStandIn(fresh, `${openai.url}/v1`);
    const c = await fresh.call('create_conversation', { provider: 'openai', model: 'gpt-4o', settings: { systemPrompt: 'S', temperature: 0.4, stop: ['END'] } });
    openai.script({ kind: 'ok', tokens: ['kept'] });
    await fresh.ended((await fresh.call('send_message', { conversationId: c.id, content: 'remember me' })).executionId);
    await fresh.close({ keepData: true });
    fresh = await startTestSidecar({ dataDir: fresh.dataDir });
    const detail = await fresh.call('get_conversation', { id: c.id });
    expect(detail).toMatchObject({ title: 'remember me', settings: { systemPrompt: 'S', temperature: 0.4, stop: ['END'] } });
    expect(detail.messages.map((m) => m.content)).toEqual(['remember me', 'kept']);
  });
});

describe('quitting mid-answer', () => {
  let fresh: TestSidecar;
  afterEach(async () => fresh?.close());

  it('keeps the answer as stopped, with its text, when the app quits while it streams', async () => {
    fresh = await startTestSidecar();
    await useOpenAIStandIn(fresh, `${openai.url}/v1`);
    const c = await fresh.call('create_conversation', { provider: 'openai', model: 'gpt-4o' });
    openai.script({ kind: 'slow', intervalMs: 20, count: 1000 });
    const run = await fresh.call('send_message', { conversationId: c.id, content: 'Go on and on' });
    await expect.poll(() => fresh.events.filter((e) => e.event === 'sim.chunk' && (e.data as { executionId: string }).executionId === run.executionId).length, { timeout: 10_000 }).toBeGreaterThan(2);
    await fresh.close({ keepData: true });
    fresh = await startTestSidecar({ dataDir: fresh.dataDir });
    const answer = (await fresh.call('get_conversation', { id: c.id })).messages[1];
    expect(answer?.status).toBe('cancelled');
    expect(answer?.content).toMatch(/^t0 t1 t2 /);
  });
});

describe('presets', () => {
  it('ships a few, which cannot be deleted; a saved one starts a conversation with its settings', async () => {
    const presets = await app.call('list_presets', {});
    expect(presets.filter((p) => p.builtIn).length).toBeGreaterThanOrEqual(3);
    const builtIn = presets[0];
    expect(await app.fail('delete_preset', { id: builtIn?.id ?? '' })).toMatchObject({ code: 'validation' });
    expect(await app.fail('save_preset', { id: builtIn?.id ?? '', name: 'x', settings: {} })).toMatchObject({ code: 'validation' });

    const mine = await app.call('save_preset', { name: 'Pirate', provider: 'openai', model: 'gpt-4o', settings: { systemPrompt: 'Talk like a pirate.', temperature: 1.2 } });
    const conversation = await app.call('create_conversation', { presetId: mine.id });
    expect(conversation).toMatchObject({ provider: 'openai', model: 'gpt-4o', presetId: mine.id, settings: { systemPrompt: 'Talk like a pirate.', temperature: 1.2 } });
    openai.script({ kind: 'ok', tokens: ['Arr'] });
    const run = await app.call('send_message', { conversationId: conversation.id, content: 'Hello' });
    await app.ended(run.executionId);
    const body = openai.requests.at(-1)?.body as { messages: unknown[]; temperature: number };
    expect(body.messages[0]).toEqual({ role: 'system', content: 'Talk like a pirate.' });
    expect(body.temperature).toBe(1.2);

    // A built-in preset chooses no provider: the conversation takes the one given.
    const withBuiltIn = await app.call('create_conversation', { presetId: 'builtin:coder', provider: 'openai', model: 'gpt-4o-mini' });
    expect(withBuiltIn.settings.systemPrompt).toMatch(/programmer/);

    await app.call('delete_preset', { id: mine.id });
    expect((await app.call('list_presets', {})).some((p) => p.id === mine.id)).toBe(false);
  });
});

describe('first launch', () => {
  let fresh: TestSidecar;
  afterEach(async () => fresh?.close());

  it('answers list_providers at once, and refuses a key before the vault exists, in words, storing nothing', async () => {
    fresh = await startTestSidecar();
    expect((await fresh.call('list_providers', {})).map((p) => p.name)).toContain('openai');
    const status = await fresh.call('first_launch_status', {});
    expect(status).toEqual({ localModels: [], keys: [], vault: 'uninitialised', conversations: 0, suggested: null });
    expect(await fresh.fail('create_conversation', {})).toMatchObject({ code: 'validation', message: expect.stringMatching(/Choose a provider/) });
    expect(await fresh.fail('create_conversation', { provider: 'openai' })).toMatchObject({ code: 'validation', message: expect.stringMatching(/and a model/) });
    expect(await fresh.fail('set_secret', { provider: 'openai', secret: 'sk-proj-BEFOREvaultBEFOREvault1234' })).toEqual({
      code: 'vault_not_initialised',
      message: expect.stringMatching(/Create the vault first/),
      retryable: false,
    });
    expect(await fresh.call('list_secrets', {})).toEqual([]);
    await fresh.call('vault_init', { passphrase: 'correct horse battery' });
    await fresh.call('set_secret', { provider: 'openai', secret: 'sk-proj-AFTERvaultAFTERvault12345' });
    expect((await fresh.call('first_launch_status', {})).keys).toEqual(['openai']);
  });
});
