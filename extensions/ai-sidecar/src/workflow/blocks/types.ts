/** One interface every block type implements: resolve its inputs, then run on them. */
import type { RetryNotice } from '../../core/retry.js';
import type { AIRequest, AIResponse } from '../../core/types.js';
import type { WorkflowGraph } from '../graph.js';
import type { JsonObject, WorkflowBlock } from '../model.js';
import type { ReferenceScope } from '../references.js';

/** Points every AI block of a run at one provider and model. */
export interface ModelOverride {
  readonly provider: string;
  readonly model: string;
}

/** Runs one AI request to its end; the executor hands the manager in here. */
export type AICall = (provider: string, request: AIRequest, options: { signal: AbortSignal; onText: (text: string) => void; onRetry?: (retry: RetryNotice) => void }) => Promise<AIResponse>;

export interface BlockContext {
  readonly graph: WorkflowGraph;
  readonly scope: ReferenceScope;
  readonly signal: AbortSignal;
  readonly ai: AICall;
  readonly override: ModelOverride | undefined;
  /** Streams the block's text as it arrives. */
  readonly onText: (text: string) => void;
  /** Says the model is being tried again before its first token. */
  readonly onRetry?: (retry: RetryNotice) => void;
}

/** What an AI block spent, for the trace. */
export interface AIUsage {
  readonly provider: string;
  readonly model: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly timeToFirstTokenMs: number | null;
}

export interface BlockOutcome {
  readonly output: JsonObject;
  readonly ai?: AIUsage;
}

export interface BlockHandler<B extends WorkflowBlock = WorkflowBlock> {
  /** The block's inputs with references filled in (what the trace shows); throws BlockFailure. */
  resolve(block: B, context: BlockContext): JsonObject;
  run(block: B, input: JsonObject, context: BlockContext): Promise<BlockOutcome> | BlockOutcome;
}

/** A block that did not finish: a code the UI can show and plain words; `ai` when a model was called. */
export class BlockFailure extends Error {
  override readonly name = 'BlockFailure';
  constructor(
    readonly code: string,
    message: string,
    readonly ai?: AIUsage,
  ) {
    super(message);
  }
}
