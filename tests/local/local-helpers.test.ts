import { describe, expect, it } from 'vitest';
import { fitToMemory } from '../../extensions/ai-sidecar/src/providers/local/memory-fit.js';
import { toChatHistory, toCompletionPrompt } from '../../extensions/ai-sidecar/src/providers/local/prompt.js';
import { RunQueue } from '../../extensions/ai-sidecar/src/providers/local/run-queue.js';
import { pickFastest, threadCandidates } from '../../extensions/ai-sidecar/src/providers/local/thread-tuning.js';

describe('thread tuning', () => {
  it('tries 1, 2, half and all cores', () => {
    expect(threadCandidates(1)).toEqual([1]);
    expect(threadCandidates(2)).toEqual([1, 2]);
    expect(threadCandidates(8)).toEqual([1, 2, 4, 8]);
  });

  it('picks the fastest measured setting, ties to fewer threads', async () => {
    const rates: Record<number, number> = { 1: 1400, 2: 85, 4: 2 };
    expect((await pickFastest([1, 2, 4], async (n) => rates[n] ?? 0)).threads).toBe(1);
    const big: Record<number, number> = { 1: 30, 2: 46, 4: 46.2 };
    expect((await pickFastest([1, 2, 4], async (n) => big[n] ?? 0)).threads).toBe(2);
  });
});

describe('memory fit', () => {
  const estimate = { modelBytes: 600e6, contextBytes: async (ctx: number) => ctx * 100_000 };
  it('keeps the requested context when it fits', async () => {
    expect(await fitToMemory(estimate, 4096, 8e9)).toMatchObject({ fits: true, contextSize: 4096, reduced: false });
  });
  it('halves the context until it fits, and says so', async () => {
    expect(await fitToMemory(estimate, 8192, 1.3e9)).toMatchObject({ fits: true, contextSize: 4096, reduced: true });
  });
  it('refuses with figures when even the smallest context does not fit', async () => {
    const decision = await fitToMemory(estimate, 4096, 500e6);
    expect(decision).toMatchObject({ fits: false });
    expect(!decision.fits && decision.reason).toMatch(/needs about 621 MiB .* only 477 MiB is free/);
  });
});

describe('prompts', () => {
  const messages = [
    { role: 'system' as const, content: 'You tell stories.' },
    { role: 'user' as const, content: 'Once upon a time' },
  ];
  it('joins texts for models with no chat template', () => {
    expect(toCompletionPrompt(messages)).toBe('You tell stories.\n\nOnce upon a time');
  });
  it('builds a chat history ending in an open model turn', () => {
    expect(toChatHistory(messages)).toEqual([
      { type: 'system', text: 'You tell stories.' },
      { type: 'user', text: 'Once upon a time' },
      { type: 'model', response: [] },
    ]);
  });
});

describe('RunQueue', () => {
  it('runs callers in order and lets an aborted waiter leave without blocking the rest', async () => {
    const queue = new RunQueue();
    const order: string[] = [];
    const releaseA = await queue.acquire();
    const controller = new AbortController();
    const b = queue.acquire(controller.signal);
    const c = queue.acquire().then((release) => (order.push('c'), release));
    controller.abort(new Error('gone'));
    await expect(b).rejects.toThrow('gone');
    order.push('a');
    releaseA();
    (await c)();
    expect(order).toEqual(['a', 'c']);
  });
});
