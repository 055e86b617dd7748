/** The workflow event relay: one seq per execution, the first text at once and the rest coalesced per block per frame, a block's text out before its end. */
import { describe, expect, it } from 'vitest';
import { WorkflowEventRelay } from '../../extensions/ai-sidecar/src/channel/workflow-streamer.js';
import { EVENT_SCHEMAS, WORKFLOW_EVENTS, type EventName } from '../../extensions/ai-sidecar/src/protocol/contract.js';
import type { BlockTrace } from '../../extensions/ai-sidecar/src/workflow/model.js';

const trace = (blockId: string): BlockTrace => ({
  blockId,
  blockName: blockId,
  blockType: 'agent',
  status: 'completed',
  input: {},
  output: { content: 'x' },
  error: null,
  skipReason: null,
  provider: 'openai',
  model: 'm',
  startedAt: new Date().toISOString(),
  durationMs: 1,
  timeToFirstTokenMs: 1,
  inputTokens: 1,
  outputTokens: 1,
  reused: false,
});

describe('workflow event relay', () => {
  it('sends the first text at once, coalesces each block\'s later text per frame, flushes a block before its done, and numbers everything per execution', async () => {
    const sent: { event: string; data: { executionId: string; seq: number; blockId?: string; text?: string } }[] = [];
    const relay = new WorkflowEventRelay((event, data) => {
      EVENT_SCHEMAS[event as EventName].parse(data);
      sent.push({ event, data: data as (typeof sent)[number]['data'] });
    }, 10);
    for (let i = 0; i < 100; i += 1) {
      relay.onEvent({ type: 'block-text', executionId: 'e1', blockId: 'a', text: `a${i} ` });
      relay.onEvent({ type: 'block-text', executionId: 'e1', blockId: 'b', text: `b${i} ` });
      relay.onEvent({ type: 'block-text', executionId: 'e2', blockId: 'a', text: 'z' });
    }
    relay.onEvent({ type: 'block-done', executionId: 'e1', trace: trace('a') });
    // Each execution's first text left at once; a's later text before a's done; b's waits for the frame.
    const chunk = `${WORKFLOW_EVENTS.blockChunk}`;
    expect(sent.map((s) => `${s.data.executionId}:${s.event}:${s.data.blockId ?? ''}`)).toEqual([`e1:${chunk}:a`, `e2:${chunk}:a`, `e1:${chunk}:a`, `e1:${WORKFLOW_EVENTS.blockDone}:a`]);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const e1 = sent.filter((s) => s.data.executionId === 'e1');
    expect(e1.map((s) => s.data.seq)).toEqual([0, 1, 2, 3]);
    expect(e1[0]?.data.text).toBe('a0 ');
    expect(e1[1]?.data.text).toBe(Array.from({ length: 99 }, (_, i) => `a${i + 1} `).join(''));
    expect(e1[3]).toMatchObject({ event: chunk, data: { blockId: 'b', text: Array.from({ length: 100 }, (_, i) => `b${i} `).join('') } });
    const e2 = sent.filter((s) => s.data.executionId === 'e2');
    expect(e2).toEqual([
      { event: chunk, data: { executionId: 'e2', seq: 0, blockId: 'a', text: 'z' } },
      { event: chunk, data: { executionId: 'e2', seq: 1, blockId: 'a', text: 'z'.repeat(99) } },
    ]);
  });
});
