/**
 * The trace of one execution as it happens: each block's resolved input, output, status, timings
 * and tokens, in the order blocks started; then the execution's ending and final response.
 */
import type { BlockError, BlockRunStatus, BlockTrace, JsonObject, JsonValue, WorkflowBlock, WorkflowExecution, WorkflowExecutionStatus } from './model.js';
import type { AIUsage } from './blocks/types.js';

export interface ExecutionHeader {
  readonly id: string;
  readonly workflowId: string;
  readonly workflowName: string;
  readonly input: string;
  readonly rerunOf: string | null;
  readonly rerunFrom: string | null;
}

export class TraceRecorder {
  private readonly traces = new Map<string, BlockTrace>();
  private readonly started = new Map<string, number>();
  /** Blocks in the order they started (or were reused). */
  private readonly order: string[] = [];
  private readonly startedAt = new Date();
  private readonly t0: number;

  constructor(
    private readonly header: ExecutionHeader,
    blocks: readonly WorkflowBlock[],
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.t0 = clock();
    for (const block of blocks) this.traces.set(block.id, emptyTrace(block));
  }

  get(blockId: string): BlockTrace {
    return this.traces.get(blockId) as BlockTrace;
  }

  start(blockId: string, input: JsonObject | null): BlockTrace {
    this.started.set(blockId, this.clock());
    this.order.push(blockId);
    return this.set({ ...this.get(blockId), status: 'running', input, startedAt: new Date().toISOString() });
  }

  finish(blockId: string, status: BlockRunStatus, outcome: { output?: JsonObject | null; error?: BlockError; ai?: AIUsage | undefined }): BlockTrace {
    const began = this.started.get(blockId);
    const { ai } = outcome;
    return this.set({
      ...this.get(blockId),
      status,
      output: outcome.output ?? null,
      error: outcome.error ?? null,
      durationMs: began === undefined ? null : this.clock() - began,
      ...(ai === undefined
        ? {}
        : { provider: ai.provider, model: ai.model, inputTokens: ai.inputTokens, outputTokens: ai.outputTokens, timeToFirstTokenMs: ai.timeToFirstTokenMs }),
    });
  }

  skip(blockId: string, reason: string): BlockTrace {
    return this.set({ ...this.get(blockId), status: 'skipped', skipReason: reason });
  }

  /** A block taken from an earlier execution as it was stored. */
  reuse(stored: BlockTrace): BlockTrace {
    this.order.push(stored.blockId);
    return this.set({ ...stored, reused: true });
  }

  build(status: WorkflowExecutionStatus, response: JsonValue | null, error: BlockError | null): WorkflowExecution {
    const ended = status !== 'running';
    return {
      ...this.header,
      status,
      startedAt: this.startedAt.toISOString(),
      finishedAt: ended ? new Date().toISOString() : null,
      durationMs: ended ? this.clock() - this.t0 : null,
      response,
      error,
      blocks: [...this.order.map((id) => this.get(id)), ...[...this.traces.values()].filter((t) => !this.started.has(t.blockId) && !t.reused)],
    };
  }

  private set(trace: BlockTrace): BlockTrace {
    this.traces.set(trace.blockId, trace);
    return trace;
  }
}

function emptyTrace(block: WorkflowBlock): BlockTrace {
  return {
    blockId: block.id,
    blockName: block.name,
    blockType: block.type,
    status: 'pending',
    input: null,
    output: null,
    error: null,
    skipReason: null,
    provider: null,
    model: null,
    startedAt: null,
    durationMs: null,
    timeToFirstTokenMs: null,
    inputTokens: 0,
    outputTokens: 0,
    reused: false,
  };
}
