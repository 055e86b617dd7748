import { describe, expect, it } from 'vitest';
import { RunStreamer } from '../../extensions/ai-sidecar/src/channel/run-streamer.js';
import { EVENT_SCHEMAS, EVENTS } from '../../extensions/ai-sidecar/src/protocol/contract.js';
import type { AIResponse } from '../../extensions/ai-sidecar/src/core/types.js';

const response = (over: Partial<AIResponse> = {}): AIResponse => ({
  provider: 'p', model: 'm', text: 'abc', finishReason: 'stop',
  usage: { inputTokens: 1, outputTokens: 3 }, timing: { timeToFirstTokenMs: 5, totalMs: 10, tokensPerSecond: 300 }, ...over,
});

function collect() {
  const events: { event: string; payload: unknown }[] = [];
  const emit = (event: string, payload: unknown) => {
    const schema = EVENT_SCHEMAS[event as keyof typeof EVENT_SCHEMAS];
    expect(schema.safeParse(payload).success).toBe(true);
    events.push({ event, payload });
  };
  return { events, emit };
}

describe('RunStreamer', () => {
  it('sends the first token at once, then coalesces a burst into one chunk per frame, in order, then one done', async () => {
    const { events, emit } = collect();
    const streamer = new RunStreamer('x1', emit, 20);
    streamer.onPart({ type: 'text-delta', text: 'first ' });
    expect(events.map((e) => (e.payload as { text: string }).text)).toEqual(['first ']); // not a frame later
    for (let i = 0; i < 500; i += 1) streamer.onPart({ type: 'text-delta', text: `${i} ` });
    expect(events).toHaveLength(1); // the burst waits for the frame
    await new Promise((r) => setTimeout(r, 40));
    expect(events).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 40));
    streamer.onPart({ type: 'text-delta', text: 'tail' }); // after a quiet frame: at once again
    expect(events).toHaveLength(3);
    streamer.finish(response());
    expect(events.map((e) => e.event)).toEqual([EVENTS.chunk, EVENTS.chunk, EVENTS.chunk, EVENTS.done]);
    expect(events.map((e) => (e.payload as { seq: number }).seq)).toEqual([0, 1, 2, 3]);
    const text = events.slice(0, 3).map((e) => (e.payload as { text: string }).text).join('');
    expect(text).toBe('first ' + Array.from({ length: 500 }, (_, i) => `${i} `).join('') + 'tail');
  });

  it('ends a cancelled run with done, not error', () => {
    const { events, emit } = collect();
    new RunStreamer('x2', emit).finish(response({ finishReason: 'cancelled' }));
    expect(events.map((e) => e.event)).toEqual([EVENTS.done]);
  });

  it('ends a failed or incomplete run with one error event carrying the partial response', () => {
    const { events, emit } = collect();
    const error = { code: 'incomplete_stream' as const, message: 'cut', retryable: false };
    new RunStreamer('x3', emit).finish(response({ finishReason: 'incomplete', error }));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ event: EVENTS.error, payload: { executionId: 'x3', error, response: { text: 'abc' } } });
  });
});
