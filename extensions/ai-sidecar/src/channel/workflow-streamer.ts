/**
 * Carries workflow executions to the window: every event tagged with the execution and block, one
 * `seq` per execution counting up from 0 across all its events, block text coalesced per block to
 * at most one event per frame interval (as RunStreamer does for single runs), a block's pending
 * text always flushed before that block's end, and exactly one `done` last.
 */
import { WORKFLOW_EVENTS } from '../protocol/contract.js';
import type { WorkflowEvent } from '../workflow/executor.js';
import { DEFAULT_FRAME_MS, flushWithinFrame, type EmitEvent } from './run-streamer.js';

interface Stream {
  seq: number;
  readonly pending: Map<string, string[]>;
  timer: NodeJS.Timeout | undefined;
  /** When text last went out (performance.now()). */
  flushedAt: number;
}

export class WorkflowEventRelay {
  private readonly streams = new Map<string, Stream>();

  constructor(
    private readonly emit: EmitEvent,
    private readonly frameMs: number = DEFAULT_FRAME_MS,
  ) {}

  readonly onEvent = (event: WorkflowEvent): void => {
    const stream = this.stream(event.executionId);
    const executionId = event.executionId;
    switch (event.type) {
      case 'block-text': {
        const buffer = stream.pending.get(event.blockId);
        if (buffer === undefined) stream.pending.set(event.blockId, [event.text]);
        else buffer.push(event.text);
        stream.timer ??= flushWithinFrame(stream.flushedAt, this.frameMs, () => this.flush(executionId));
        return;
      }
      case 'block-retry': {
        // Before the block's first text, so nothing is pending; it still goes out in `seq` order.
        this.flushBlock(executionId, stream, event.blockId);
        const { attempt, delayMs, message } = event.retry;
        this.emit(WORKFLOW_EVENTS.blockRetry, { executionId, seq: stream.seq++, blockId: event.blockId, attempt, delayMs, message });
        return;
      }
      case 'block-started':
        this.emit(WORKFLOW_EVENTS.blockStarted, { executionId, seq: stream.seq++, blockId: event.block.id, blockName: event.block.name, blockType: event.block.type, input: event.input });
        return;
      case 'block-done':
        this.flushBlock(executionId, stream, event.trace.blockId);
        this.emit(WORKFLOW_EVENTS.blockDone, { executionId, seq: stream.seq++, blockId: event.trace.blockId, trace: event.trace });
        return;
      case 'block-skipped':
        this.emit(WORKFLOW_EVENTS.blockSkipped, { executionId, seq: stream.seq++, blockId: event.trace.blockId, reason: event.trace.skipReason ?? '' });
        return;
      case 'block-failed': {
        const { trace } = event;
        this.flushBlock(executionId, stream, trace.blockId);
        const error = trace.error ?? { code: 'unknown', message: 'The block failed.' };
        this.emit(WORKFLOW_EVENTS.blockFailed, { executionId, seq: stream.seq++, blockId: trace.blockId, error, handled: event.handled, trace });
        return;
      }
      case 'done':
        this.flush(executionId);
        this.emit(WORKFLOW_EVENTS.done, { executionId, seq: stream.seq++, execution: event.execution });
        this.streams.delete(executionId);
    }
  };

  private stream(executionId: string): Stream {
    let stream = this.streams.get(executionId);
    if (stream === undefined) {
      stream = { seq: 0, pending: new Map(), timer: undefined, flushedAt: Number.NEGATIVE_INFINITY };
      this.streams.set(executionId, stream);
    }
    return stream;
  }

  private flush(executionId: string): void {
    const stream = this.streams.get(executionId);
    if (stream === undefined) return;
    clearTimeout(stream.timer);
    stream.timer = undefined;
    if (stream.pending.size > 0) stream.flushedAt = performance.now();
    for (const blockId of [...stream.pending.keys()]) this.flushBlock(executionId, stream, blockId);
  }

  private flushBlock(executionId: string, stream: Stream, blockId: string): void {
    const buffer = stream.pending.get(blockId);
    if (buffer === undefined) return;
    stream.pending.delete(blockId);
    this.emit(WORKFLOW_EVENTS.blockChunk, { executionId, seq: stream.seq++, blockId, text: buffer.join('') });
  }
}
