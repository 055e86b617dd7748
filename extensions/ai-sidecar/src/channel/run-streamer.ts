/**
 * Carries one execution's parts to the UI: text is coalesced to at most one chunk event per frame
 * interval (text after a quiet interval, the first token above all, goes at once), every event
 * carries the execution id and a sequence number, a retry before the first token is announced, and
 * the run ends with exactly one `done` (finish reasons stop, length, cancelled) or one `error` event.
 */
import type { RetryNotice } from '../core/manager.js';
import type { AIResponse, StreamPart } from '../core/types.js';
import { EVENT_SCHEMAS, EVENTS, STREAM_UPDATE_MS, type EventName, type EventPayload } from '../protocol/contract.js';
import { describeIssues } from '../protocol/issue-text.js';

export type EmitEvent = <E extends EventName>(event: E, payload: EventPayload<E>) => void;

/**
 * Text goes to the window at most this often (the first text, and text after a quiet spell, at
 * once): as often as the window changes its view, and no more. Every event costs the runtime, the
 * page and the sidecar's main thread, which for a local model on two cores comes out of the decode.
 * Against the same app sending no text events (one app per process, 6 alternating rounds, each the
 * median of 3 runs of 128 tokens): a chunk per token every 16 ms decoded at 0.964, every 100 ms at
 * 0.986.
 */
export const DEFAULT_FRAME_MS = STREAM_UPDATE_MS;

/**
 * Flushes now when the last flush is a frame or more ago (a quiet spell, the first text above all),
 * else schedules it for the rest of the frame and returns that timer. For every text stream.
 */
export function flushWithinFrame(lastFlushAt: number, frameMs: number, flush: () => void): NodeJS.Timeout | undefined {
  const wait = lastFlushAt + frameMs - performance.now();
  if (wait > 0) return setTimeout(flush, wait);
  flush();
  return undefined;
}

export class RunStreamer {
  private buffer: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  /** When the last chunk went out (performance.now()). */
  private lastChunkAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly executionId: string,
    private readonly emit: EmitEvent,
    private readonly frameMs: number = DEFAULT_FRAME_MS,
  ) {}

  /** Feed every part here (the manager's `onPart`). Only text is forwarded live. */
  readonly onPart = (part: StreamPart): void => {
    if (part.type !== 'text-delta') return;
    this.buffer.push(part.text);
    this.timer ??= flushWithinFrame(this.lastChunkAt, this.frameMs, () => this.flush());
  };

  /**
   * Says the run will try again (the manager's `onRetry`), in its place among the run's events. A
   * notice that fails the contract is not sent and takes no `seq`: the UI would wait on the gap.
   */
  readonly onRetry = (retry: RetryNotice): void => {
    this.flush();
    const payload = { executionId: this.executionId, seq: this.seq, attempt: retry.attempt, delayMs: retry.delayMs, message: retry.message };
    if (!EVENT_SCHEMAS[EVENTS.retry].safeParse(payload).success) return;
    this.seq += 1;
    this.emit(EVENTS.retry, payload);
  };

  /**
   * Flushes pending text, then sends the one terminal event. The event is checked against the
   * contract first: the UI drops an event that fails it, and a dropped `done` is a run that never
   * ends. A faulty one is replaced by an `error` event that names the fault and keeps the text.
   */
  finish(response: AIResponse): void {
    this.flush();
    const executionId = this.executionId;
    const seq = this.seq++;
    const failed = response.finishReason === 'error' || response.finishReason === 'incomplete';
    const [event, payload] = failed && response.error !== undefined
      ? [EVENTS.error, { executionId, seq, error: response.error, response: plain(response) }] as const
      : [EVENTS.done, { executionId, seq, response: plain(response) }] as const;
    const checked = EVENT_SCHEMAS[event].safeParse(payload);
    if (checked.success) {
      this.emit(event, payload as EventPayload<typeof event>);
      return;
    }
    const error = {
      code: 'internal' as const,
      message: `The run ended, but its final report was malformed (${describeIssues(checked.error.issues)}). The text received is kept.`,
      retryable: false,
    };
    this.emit(EVENTS.error, { executionId, seq, error, response: repaired(response, error) });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length === 0) return;
    const text = this.buffer.join('');
    this.buffer = [];
    this.lastChunkAt = performance.now();
    this.emit(EVENTS.chunk, { executionId: this.executionId, seq: this.seq++, text });
  }
}

/** A response that passes the contract whatever the original held: its text, and zeros where numbers were not. */
function repaired(response: AIResponse, error: EventPayload<typeof EVENTS.error>['error']): EventPayload<typeof EVENTS.error>['response'] {
  const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
  const text = (value: unknown): string => (typeof value === 'string' ? value : '');
  return {
    provider: text(response.provider),
    model: text(response.model),
    text: text(response.text),
    finishReason: 'error',
    usage: { inputTokens: num(response.usage?.inputTokens), outputTokens: num(response.usage?.outputTokens) },
    timing: { totalMs: num(response.timing?.totalMs), tokensPerSecond: num(response.timing?.tokensPerSecond) },
    error,
  };
}

/** The contract's optional fields are absent rather than undefined. */
function plain(response: AIResponse): EventPayload<typeof EVENTS.done>['response'] {
  const { timeToFirstTokenMs, ...timing } = response.timing;
  const { warnings, ...rest } = response;
  return {
    ...rest,
    timing: timeToFirstTokenMs === undefined ? timing : { ...timing, timeToFirstTokenMs },
    ...(warnings === undefined ? {} : { warnings: [...warnings] }),
  };
}
