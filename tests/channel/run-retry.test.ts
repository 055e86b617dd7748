/**
 * A retry before the first token, end to end on the sidecar side: the real OpenAI adapter meets a
 * 429 with Retry-After from the wire stand-in, the manager waits and tries again, and the run's
 * events say so once (`sim.retry`, in `seq` order, checked against the contract) before the answer.
 */
import { describe, expect, it } from 'vitest';
import { RunStreamer } from '../../extensions/ai-sidecar/src/channel/run-streamer.js';
import { AIManager, type RetryNotice } from '../../extensions/ai-sidecar/src/core/manager.js';
import { OpenAICompatibleProvider } from '../../extensions/ai-sidecar/src/providers/openai-compatible.js';
import { EVENT_SCHEMAS, EVENTS } from '../../extensions/ai-sidecar/src/protocol/contract.js';
import { WorkflowEventRelay } from '../../extensions/ai-sidecar/src/channel/workflow-streamer.js';
import { WORKFLOW_EVENTS } from '../../extensions/ai-sidecar/src/protocol/contract.js';
import { managerAICall } from '../../extensions/ai-sidecar/src/workflow/manager-ai.js';
import { WorkflowExecutor } from '../../extensions/ai-sidecar/src/workflow/executor.js';
import { agent, edge, response, start, workflow } from '../workflow/helpers.js';
import { foldRunEvent, emptyRun } from '../../resources/src/stores/workflow-run.js';
import { useCloudStandIns } from '../wire/cloud-stand-ins.js';
import { staticKeys, userRequest } from '../providers/fixtures.js';

const standIns = useCloudStandIns();

function setup() {
  const sleeps: number[] = [];
  // The wait is recorded, not spent: the delay asked for is what this test checks.
  const manager = new AIManager({ sleep: async (ms) => void sleeps.push(ms) });
  manager.register(new OpenAICompatibleProvider({ providerName: 'openai', baseURL: `${standIns.openai.url}/v1` }, staticKeys()));
  const events: { event: string; payload: Record<string, unknown> }[] = [];
  const emit = (event: string, payload: unknown): void => {
    expect(EVENT_SCHEMAS[event as keyof typeof EVENT_SCHEMAS].safeParse(payload).success).toBe(true);
    events.push({ event, payload: payload as Record<string, unknown> });
  };
  return { manager, sleeps, events, emit };
}

describe('retry notices', () => {
  it('announces one retry after a 429 with Retry-After, with its attempt and delay, then streams the answer', async () => {
    const { manager, sleeps, events, emit } = setup();
    standIns.openai.script({ kind: 'rate_limited', retryAfterSeconds: 3 });
    let streamer: RunStreamer | undefined;
    const execution = manager.execute('openai', userRequest('gpt-4o-mini'), {
      onStart: (id) => (streamer = new RunStreamer(id, emit, 1)),
      onPart: (part) => streamer?.onPart(part),
      onRetry: (retry) => streamer?.onRetry(retry),
    });
    const response = await execution.result;
    streamer?.finish(response);

    expect(response).toMatchObject({ finishReason: 'stop', text: 'Hello, world!' });
    expect(sleeps).toEqual([3000]);
    const retries = events.filter((e) => e.event === EVENTS.retry);
    expect(retries).toEqual([{ event: EVENTS.retry, payload: { executionId: execution.id, seq: 0, attempt: 2, delayMs: 3000, message: 'The server is busy (HTTP 429)' } }]);
    // The notice comes first and the answer after it, every event in one unbroken `seq` order.
    expect(events[0]?.event).toBe(EVENTS.retry);
    expect(events.at(-1)?.event).toBe(EVENTS.done);
    expect(events.map((e) => e.payload.seq)).toEqual(events.map((_, i) => i));
    expect(events.filter((e) => e.event === EVENTS.chunk).map((e) => e.payload.text).join('')).toBe('Hello, world!');
  });

  it('says nothing about retries when the first try succeeds, and numbers repeated retries', async () => {
    const { manager } = setup();
    const quiet: RetryNotice[] = [];
    await manager.execute('openai', userRequest('gpt-4o-mini'), { onRetry: (r) => quiet.push(r) }).result;
    expect(quiet).toEqual([]);

    standIns.openai.script({ kind: 'rate_limited', retryAfterSeconds: 1 }, { kind: 'rate_limited', retryAfterSeconds: 2 });
    const notices: RetryNotice[] = [];
    const response = await manager.execute('openai', userRequest('gpt-4o-mini'), { onRetry: (r) => notices.push(r) }).result;
    expect(response.finishReason).toBe('stop');
    expect(notices.map((n) => [n.attempt, n.delayMs])).toEqual([[2, 1000], [3, 2000]]);
  });

  it('carries a workflow AI block\'s retry as sim.workflow.block-retry, in seq order, and the run panel notes it until text comes', async () => {
    const { manager, sleeps, events, emit } = setup();
    standIns.openai.script({ kind: 'rate_limited', retryAfterSeconds: 2 });
    const relay = new WorkflowEventRelay(emit, 1);
    const executor = new WorkflowExecutor({ ai: managerAICall(manager) });
    const wf = workflow([start(), agent('writer', { provider: 'openai' }), response('<writer.content>')], [edge('start', 'writer'), edge('writer', 'response')]);
    const execution = await executor.start({ workflow: wf, input: 'Hi', onEvent: relay.onEvent }).result;

    expect(execution.status).toBe('completed');
    expect(sleeps).toEqual([2000]);
    const retries = events.filter((e) => e.event === WORKFLOW_EVENTS.blockRetry);
    expect(retries.map((e) => e.payload)).toEqual([{ executionId: execution.id, seq: expect.any(Number), blockId: 'writer', attempt: 2, delayMs: 2000, message: 'The server is busy (HTTP 429)' }]);
    expect(events.map((e) => e.payload.seq)).toEqual(events.map((_, i) => i));
    // The run panel, folded from these very events: the note shows after the retry and is gone after the first text.
    const upTo = (n: number) => events.slice(0, n).reduce((run, e) => foldRunEvent(run, { name: e.event, payload: e.payload } as Parameters<typeof foldRunEvent>[1]), emptyRun());
    const at = events.findIndex((e) => e.event === WORKFLOW_EVENTS.blockRetry) + 1;
    expect(upTo(at).blocks.find((b) => b.blockId === 'writer')?.note).toBe('The server is busy (HTTP 429). Retrying in 2 s (attempt 2)…');
    const firstText = events.findIndex((e) => e.event === WORKFLOW_EVENTS.blockChunk && e.payload.blockId === 'writer') + 1;
    expect(firstText).toBeGreaterThan(at);
    expect(upTo(firstText).blocks.find((b) => b.blockId === 'writer')?.note).toBeUndefined();
  });

  it('keeps a retry notice that breaks the contract off the wire without leaving a gap in seq', () => {
    const events: { event: string; payload: { seq: number } }[] = [];
    const streamer = new RunStreamer('x', (event, payload) => events.push({ event, payload: payload as { seq: number } }), 1);
    streamer.onRetry({ attempt: 2, delayMs: Number.NaN, message: 'bad' });
    streamer.finish({ provider: 'p', model: 'm', text: '', finishReason: 'stop', usage: { inputTokens: 0, outputTokens: 0 }, timing: { timeToFirstTokenMs: undefined, totalMs: 1, tokensPerSecond: 0 } });
    expect(events.map((e) => [e.event, e.payload.seq])).toEqual([[EVENTS.done, 0]]);
  });
});
