/**
 * Carries one execution's parts to the UI: text is coalesced so a fast local model sends at most one
 * chunk event per frame interval, every event carries the execution id and a sequence number, and the
 * run ends with exactly one `done` (finish reasons stop, length, cancelled) or one `error` event.
 */
import type { AIResponse, StreamPart } from '../core/types.js';
import { EVENTS, type EventName, type EventPayload } from '../protocol/contract.js';

export type EmitEvent = <E extends EventName>(event: E, payload: EventPayload<E>) => void;

/** About one animation frame at 60 Hz. */
export const DEFAULT_FRAME_MS = 16;

export class RunStreamer {
  private buffer: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;

  constructor(
    private readonly executionId: string,
    private readonly emit: EmitEvent,
    private readonly frameMs: number = DEFAULT_FRAME_MS,
  ) {}

  /** Feed every part here (the manager's `onPart`). Only text is forwarded live. */
  readonly onPart = (part: StreamPart): void => {
    if (part.type !== 'text-delta') return;
    this.buffer.push(part.text);
    this.timer ??= setTimeout(() => this.flush(), this.frameMs);
  };

  /** Flushes pending text, then sends the one terminal event. */
  finish(response: AIResponse): void {
    this.flush();
    const executionId = this.executionId;
    const failed = response.finishReason === 'error' || response.finishReason === 'incomplete';
    if (failed && response.error !== undefined) {
      this.emit(EVENTS.error, { executionId, seq: this.seq++, error: response.error, response: plain(response) });
    } else {
      this.emit(EVENTS.done, { executionId, seq: this.seq++, response: plain(response) });
    }
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length === 0) return;
    const text = this.buffer.join('');
    this.buffer = [];
    this.emit(EVENTS.chunk, { executionId: this.executionId, seq: this.seq++, text });
  }
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
