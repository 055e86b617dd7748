/**
 * Local conversations on the real tiny GGUF model: the kept context sequence evaluates only what a
 * turn adds (counted by llama.cpp's own token meter), starts afresh for another conversation or an
 * edited history, and a three-turn conversation through the sidecar sends the first two turns.
 */
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AIRequest, ChatMessage } from '../../extensions/ai-sidecar/src/core/types.js';
import { LocalLlamaProvider } from '../../extensions/ai-sidecar/src/providers/local-llama.js';
import { MODEL_FILE, startTestSidecar } from './helpers.js';

const TURNS = [
  'Once upon a time there was a little girl named Lily. She loved to play outside in the sun with her dog, and every day she ran to the big tree in the park to look for birds and flowers.',
  'One day Lily found a red ball under the tree. She wanted to share it with her friend Tom, so she ran to his house and knocked on the door very loudly, smiling all the way.',
  'Tom was very happy to see the ball. They played together all afternoon until the sky was dark, and then they said goodbye and went home to sleep.',
];

describe('local model sequence reuse', () => {
  let dir: string;
  let provider: LocalLlamaProvider;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sim-local-conv-'));
    provider = new LocalLlamaProvider({ threads: 1, idleUnloadMs: null });
  });
  afterAll(async () => {
    await provider.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const ask = async (messages: ChatMessage[], sessionKey: string | undefined) => {
    const request: AIRequest = { model: MODEL_FILE, messages, maxTokens: 16, temperature: 0, contextSize: 2048, ...(sessionKey === undefined ? {} : { sessionKey }) };
    const response = await provider.chatCompletion(request);
    expect(response.finishReason).not.toBe('error');
    return { response, evaluation: provider.lastEvaluation };
  };

  it('evaluates only the new turn when the same conversation continues, everything for another one or an edited history', async () => {
    const history: ChatMessage[] = [];
    let last;
    for (const turn of TURNS) {
      history.push({ role: 'user', content: turn });
      last = await ask([...history], 'conversation-a');
      history.push({ role: 'assistant', content: last.response.text });
    }
    const third = last?.evaluation;
    const thirdRequest = history.slice(0, -1);
    expect(third?.reused).toBe(true);

    // The same request for another conversation: the sequence is cleared and evaluated from scratch.
    const other = (await ask(thirdRequest, 'conversation-b')).evaluation;
    expect(other?.reused).toBe(false);
    const promptTokens = last?.response.usage.inputTokens ?? 0;
    expect(other?.evaluatedTokens).toBeGreaterThanOrEqual(promptTokens);
    // Reuse: about the third turn's own tokens (plus the generated ones fed back), a fraction of the whole.
    expect(third?.evaluatedTokens).toBeLessThan((other?.evaluatedTokens ?? 0) / 2);

    // Back to conversation b, continued: reused again.
    const continued = [...thirdRequest, { role: 'assistant' as const, content: 'The end.' }, { role: 'user' as const, content: 'The next day it rained.' }];
    const again = (await ask(continued, 'conversation-b')).evaluation;
    expect(again?.reused).toBe(true);
    expect(again?.evaluatedTokens).toBeLessThan((other?.evaluatedTokens ?? 0) / 2);

    // Conversation b edited at its first message: the matching prefix is gone, so nearly all is evaluated again.
    const edited = [{ role: 'user' as const, content: `Long ago, ${TURNS[0]}` }, ...continued.slice(1)];
    const afterEdit = (await ask(edited, 'conversation-b')).evaluation;
    expect(afterEdit?.evaluatedTokens).toBeGreaterThan((again?.evaluatedTokens ?? 0) * 2);

    // A plain AI block run (no conversation) never continues a conversation's sequence.
    expect((await ask(edited, undefined)).evaluation?.reused).toBe(false);
  }, 120_000);
});

describe('a local conversation through the sidecar', () => {
  it('three turns: the third request carries the first two turns, counted with the real tokenizer', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'sim-conv-local-'));
    await mkdir(path.join(dataDir, 'models'), { recursive: true });
    await copyFile(MODEL_FILE, path.join(dataDir, 'models', 'story.gguf'));
    const app = await startTestSidecar({ dataDir });
    try {
      expect(await app.call('first_launch_status', {})).toMatchObject({ localModels: ['story.gguf'], suggested: { provider: 'local', model: 'story.gguf' } });
      // No provider given: a new conversation starts on the model in the models folder.
      const conversation = await app.call('create_conversation', { settings: { maxTokens: 12, temperature: 0 } });
      expect(conversation).toMatchObject({ provider: 'local', model: 'story.gguf' });
      const answers: string[] = [];
      let lastRun = '';
      for (const turn of TURNS) {
        const run = await app.call('send_message', { conversationId: conversation.id, content: turn });
        const end = await app.ended(run.executionId);
        expect(end.event).toBe('sim.done');
        lastRun = run.executionId;
        const detail = await app.call('get_conversation', { id: conversation.id });
        answers.push(detail.messages.at(-1)?.content ?? '');
        expect(detail.messages.at(-1)?.status).toBe('complete');
      }
      expect(answers.every((a) => a.length > 0)).toBe(true);
      const sent = (await app.call('get_execution', { id: lastRun })).request?.messages;
      expect(sent).toEqual([
        { role: 'user', content: TURNS[0] },
        { role: 'assistant', content: answers[0] },
        { role: 'user', content: TURNS[1] },
        { role: 'assistant', content: answers[1] },
        { role: 'user', content: TURNS[2] },
      ]);
      const context = (await app.call('get_conversation', { id: conversation.id })).context;
      expect(context).toMatchObject({ estimated: false, droppedMessages: 0, contextSize: 2048 });
      expect(context?.tokensUsed).toBeGreaterThan(100);
    } finally {
      await app.close();
    }
  }, 120_000);
});

describe('a long local conversation', () => {
  it('drops its oldest turns to fit a small context, counted with the model\'s tokenizer, keeping the system prompt', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'sim-conv-local-trim-'));
    await mkdir(path.join(dataDir, 'models'), { recursive: true });
    await copyFile(MODEL_FILE, path.join(dataDir, 'models', 'story.gguf'));
    const app = await startTestSidecar({ dataDir });
    try {
      const conversation = await app.call('create_conversation', { provider: 'local', model: 'story.gguf', settings: { systemPrompt: 'A story for children.', contextSize: 256, maxTokens: 8, temperature: 0 } });
      let lastRun = '';
      for (const turn of TURNS) {
        const run = await app.call('send_message', { conversationId: conversation.id, content: turn });
        expect((await app.ended(run.executionId)).event).toBe('sim.done');
        lastRun = run.executionId;
      }
      const context = app.events.find((e) => e.event === 'sim.context' && (e.data as { executionId: string }).executionId === lastRun)?.data as {
        usage: { tokensUsed: number; contextSize: number; droppedMessages: number; estimated: boolean };
        trimmed?: { message: string };
      };
      expect(context.usage).toMatchObject({ contextSize: 256, estimated: false });
      expect(context.usage.droppedMessages).toBeGreaterThan(0);
      expect(context.usage.tokensUsed).toBeLessThanOrEqual(256 - 8);
      expect(context.trimmed?.message).toMatch(/256-token context/);
      const sent = (await app.call('get_execution', { id: lastRun })).request?.messages ?? [];
      expect(sent[0]).toEqual({ role: 'system', content: 'A story for children.' });
      expect(sent[1]?.role).toBe('user');
      expect(sent.at(-1)).toEqual({ role: 'user', content: TURNS[2] });
      expect(sent.some((m) => m.content === TURNS[0])).toBe(false);
    } finally {
      await app.close();
    }
  }, 120_000);
});
