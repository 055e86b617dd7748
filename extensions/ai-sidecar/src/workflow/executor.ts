/**
 * Runs a workflow on one input. Whatever is ready runs: a block starts as soon as every connection
 * into it is settled and at least one of them was taken, so independent branches run at the same
 * time (local-model blocks queue on the one model inside the local provider). A connection is taken
 * when its source completed (`success`), failed (`error`) or chose it (a condition's branch, a
 * router's target); the rest are dead, and a block whose every incoming connection is dead is
 * skipped, which carries on down the untaken path. A failure with no `error` connection fails the
 * execution. One AbortSignal per execution: cancelling stops every running block and starts none.
 */
import { randomUUID } from 'node:crypto';
import { handlerFor } from './blocks/index.js';
import { BlockFailure, type AICall, type BlockContext, type BlockOutcome, type ModelOverride } from './blocks/types.js';
import type { RetryNotice } from '../core/retry.js';
import { WorkflowError } from './errors.js';
import { WorkflowGraph } from './graph.js';
import type { BlockError, BlockTrace, Connection, JsonObject, JsonValue, Workflow, WorkflowBlock, WorkflowExecution } from './model.js';
import { START_ROOT, VARIABLE_ROOT } from './references.js';
import { TraceRecorder } from './trace.js';
import { blocksByReferenceName, describeProblems, validateWorkflow } from './validate.js';

export type WorkflowEvent =
  | { readonly type: 'block-started'; readonly executionId: string; readonly block: WorkflowBlock; readonly input: JsonObject }
  | { readonly type: 'block-text'; readonly executionId: string; readonly blockId: string; readonly text: string }
  | { readonly type: 'block-retry'; readonly executionId: string; readonly blockId: string; readonly retry: RetryNotice }
  | { readonly type: 'block-done'; readonly executionId: string; readonly trace: BlockTrace }
  | { readonly type: 'block-skipped'; readonly executionId: string; readonly trace: BlockTrace }
  | { readonly type: 'block-failed'; readonly executionId: string; readonly trace: BlockTrace; readonly handled: boolean }
  | { readonly type: 'done'; readonly executionId: string; readonly execution: WorkflowExecution };

export interface RunOptions {
  readonly workflow: Workflow;
  readonly input: string;
  readonly override?: ModelOverride | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onEvent?: ((event: WorkflowEvent) => void) | undefined;
  /** Rerun: take these blocks' stored traces instead of running them. */
  readonly reuse?: { readonly from: WorkflowExecution; readonly blocks: ReadonlySet<string>; readonly fromBlock: string } | undefined;
}

export interface ExecutionHandle {
  readonly id: string;
  /** Always resolves, with the whole trace; failures are in its status. */
  readonly result: Promise<WorkflowExecution>;
  /** The trace so far (status `running` until it ends). */
  snapshot(): WorkflowExecution;
  cancel(): void;
}

export interface ExecutorOptions {
  readonly ai: AICall;
  readonly newId?: () => string;
}

export class WorkflowExecutor {
  constructor(private readonly options: ExecutorOptions) {}

  /** Starts an execution; throws WorkflowError('validation') at once for a workflow that cannot run. */
  start(run: RunOptions): ExecutionHandle {
    const graph = new WorkflowGraph(run.workflow);
    const problems = validateWorkflow(run.workflow, graph);
    if (problems.length > 0) throw new WorkflowError('validation', `This workflow cannot run yet. ${describeProblems(problems)}`, problems);
    const id = this.options.newId?.() ?? randomUUID();
    const execution = new Execution(id, graph, run, this.options.ai);
    return { id, result: execution.run(), snapshot: () => execution.snapshot(), cancel: () => execution.cancel() };
  }
}

type EdgeState = 'taken' | 'dead';

class Execution {
  private readonly controller = new AbortController();
  private readonly trace: TraceRecorder;
  private readonly outputs = new Map<string, JsonObject>();
  private readonly edges = new Map<Connection, EdgeState>();
  private readonly settled = new Set<string>();
  private running = 0;
  private failure: BlockError | null = null;
  private response: { value: JsonValue; fromResponseBlock: boolean } | undefined;
  private resolveResult: ((execution: WorkflowExecution) => void) | undefined;
  private final: WorkflowExecution | undefined;
  private readonly names = new Map<string, string>();
  private readonly context: Omit<BlockContext, 'onText'>;

  constructor(
    private readonly id: string,
    private readonly graph: WorkflowGraph,
    private readonly options: RunOptions,
    ai: AICall,
  ) {
    const { workflow, reuse } = options;
    this.trace = new TraceRecorder(
      { id, workflowId: workflow.id, workflowName: workflow.name, input: options.input, rerunOf: reuse?.from.id ?? null, rerunFrom: reuse?.fromBlock ?? null },
      workflow.blocks,
    );
    for (const [name, block] of blocksByReferenceName(workflow)) this.names.set(name, block.id);
    const variables: JsonObject = { ...workflow.variables };
    const starterInput: JsonObject = { input: options.input };
    this.context = {
      graph,
      signal: this.controller.signal,
      ai,
      override: options.override,
      scope: (root) => {
        if (root === VARIABLE_ROOT) return variables;
        if (root === START_ROOT && !this.outputs.has(this.names.get(START_ROOT) ?? '')) return starterInput;
        const blockId = this.names.get(root);
        return blockId === undefined ? undefined : (this.outputs.get(blockId) ?? null);
      },
    };
    options.signal?.addEventListener('abort', () => this.cancel(), { once: true });
  }

  run(): Promise<WorkflowExecution> {
    const result = new Promise<WorkflowExecution>((resolve) => (this.resolveResult = resolve));
    if (this.options.signal?.aborted === true) this.controller.abort();
    // Begin on the next turn, so whoever started it holds the id (and the UI its reply) before events.
    setImmediate(() => this.begin());
    return result;
  }

  private begin(): void {
    this.seedReused();
    for (const id of this.graph.order) {
      if (this.settled.has(id) || (this.graph.incoming.get(id)?.length ?? 0) > 0) continue;
      const block = this.graph.block(id);
      if (block.type === 'starter') this.launch(block);
      else this.skip(id, 'It is not connected to the Start block.');
    }
    this.maybeFinish();
  }

  cancel(): void {
    if (!this.controller.signal.aborted) this.controller.abort();
  }

  snapshot(): WorkflowExecution {
    return this.final ?? this.trace.build('running', null, null);
  }

  private seedReused(): void {
    const reuse = this.options.reuse;
    if (reuse === undefined) return;
    const stored = new Map(reuse.from.blocks.map((t) => [t.blockId, t]));
    const seeded = this.graph.order.filter((id) => reuse.blocks.has(id) && stored.has(id));
    // Every reused block is settled before any edge is, so none of them is started as newly ready.
    for (const id of seeded) this.settled.add(id);
    for (const id of seeded) {
      const copy = this.trace.reuse(stored.get(id) as BlockTrace);
      if (copy.status === 'completed' && copy.output !== null) {
        this.outputs.set(id, copy.output);
        this.noteResponse(this.graph.block(id), copy.output);
      }
      this.emit({ type: copy.status === 'skipped' ? 'block-skipped' : 'block-done', executionId: this.id, trace: copy });
    }
    for (const id of seeded) this.settleEdges(id, this.trace.get(id).status === 'completed' ? this.trace.get(id).output : null);
  }

  private launch(block: WorkflowBlock): void {
    if (this.stopped()) {
      this.skipStopped(block.id);
      return;
    }
    this.settled.add(block.id);
    this.running += 1;
    void this.runBlock(block).finally(() => {
      this.running -= 1;
      this.maybeFinish();
    });
  }

  private async runBlock(block: WorkflowBlock): Promise<void> {
    const handler = handlerFor(block);
    const context: BlockContext = {
      ...this.context,
      onText: (text) => this.emit({ type: 'block-text', executionId: this.id, blockId: block.id, text }),
      onRetry: (retry) => this.emit({ type: 'block-retry', executionId: this.id, blockId: block.id, retry }),
    };
    let input: JsonObject | null = null;
    let outcome: BlockOutcome;
    try {
      input = handler.resolve(block, context);
      this.trace.start(block.id, input);
      this.emit({ type: 'block-started', executionId: this.id, block, input });
      outcome = await handler.run(block, input, context);
    } catch (error) {
      if (input === null) this.trace.start(block.id, null);
      this.onFailure(block, toFailure(error, this.controller.signal.aborted));
      return;
    }
    this.outputs.set(block.id, outcome.output);
    this.noteResponse(block, outcome.output);
    const trace = this.trace.finish(block.id, 'completed', { output: outcome.output, ai: outcome.ai });
    this.emit({ type: 'block-done', executionId: this.id, trace });
    this.settleEdges(block.id, outcome.output);
  }

  private onFailure(block: WorkflowBlock, failure: BlockFailure): void {
    const error: BlockError = { code: failure.code, message: failure.message };
    if (failure.code === 'cancelled') {
      const trace = this.trace.finish(block.id, 'cancelled', { error, ai: failure.ai });
      this.emit({ type: 'block-failed', executionId: this.id, trace, handled: false });
      // A block stopped on its own (its model run cancelled by id, the app shutting down) stops the
      // execution too: what depends on it cannot run, and a half-run workflow must not hang.
      this.cancel();
      return;
    }
    const handled = (this.graph.outgoing.get(block.id) ?? []).some((c) => c.kind === 'error');
    const trace = this.trace.finish(block.id, 'failed', { error, ai: failure.ai });
    this.emit({ type: 'block-failed', executionId: this.id, trace, handled });
    if (handled) {
      // The error path can read what went wrong as `<block.error>`.
      this.outputs.set(block.id, { content: '', error: failure.message });
      this.settleEdges(block.id, null);
      return;
    }
    if (this.failure === null) {
      this.failure = { code: failure.code, message: `Block "${block.name}" failed: ${failure.message}` };
      this.controller.abort();
    }
  }

  /** Marks each outgoing connection taken or dead, then starts or skips the targets now settled. */
  private settleEdges(blockId: string, output: JsonObject | null): void {
    const source = this.graph.block(blockId);
    const failed = output === null && this.trace.get(blockId).status === 'failed';
    for (const connection of this.graph.outgoing.get(blockId) ?? []) {
      this.edges.set(connection, isTaken(source, connection, output, failed) ? 'taken' : 'dead');
    }
    for (const target of new Set((this.graph.outgoing.get(blockId) ?? []).map((c) => c.target))) this.visit(target);
  }

  private visit(blockId: string): void {
    if (this.settled.has(blockId)) return;
    const incoming = this.graph.incoming.get(blockId) ?? [];
    const states = incoming.map((c) => this.edges.get(c));
    if (states.includes(undefined)) return;
    if (states.includes('taken')) {
      this.launch(this.graph.block(blockId));
      return;
    }
    this.skip(blockId, 'The path leading to it was not taken.');
  }

  private skip(blockId: string, reason: string): void {
    this.settled.add(blockId);
    const trace = this.trace.skip(blockId, reason);
    this.emit({ type: 'block-skipped', executionId: this.id, trace });
    this.settleEdges(blockId, null);
  }

  /** After a Stop or a failure nothing starts; what is left is skipped and says why. */
  private skipStopped(blockId: string): void {
    this.settled.add(blockId);
    this.emit({ type: 'block-skipped', executionId: this.id, trace: this.trace.skip(blockId, this.stopReason()) });
  }

  private noteResponse(block: WorkflowBlock, output: JsonObject): void {
    const value = output.content ?? null;
    if (block.type === 'response') this.response = { value, fromResponseBlock: true };
    else if (this.response?.fromResponseBlock !== true && block.type !== 'starter' && block.type !== 'condition') this.response = { value, fromResponseBlock: false };
  }

  private stopped(): boolean {
    return this.controller.signal.aborted;
  }

  private stopReason(): string {
    return this.failure === null ? 'The execution was stopped before it reached this block.' : 'Not run: the execution failed before this block.';
  }

  private maybeFinish(): void {
    const resolve = this.resolveResult;
    if (this.running > 0 || resolve === undefined) return;
    if (this.stopped()) {
      for (const block of this.graph.workflow.blocks) if (!this.settled.has(block.id)) this.skipStopped(block.id);
    } else if (this.settled.size < this.graph.blocks.size) {
      return;
    }
    const status = this.failure !== null ? 'failed' : this.stopped() ? 'cancelled' : 'completed';
    const error = this.failure ?? (status === 'cancelled' ? { code: 'cancelled', message: 'Stopped by the user.' } : null);
    const execution = this.trace.build(status, status === 'completed' ? (this.response?.value ?? null) : null, error);
    this.resolveResult = undefined;
    this.final = execution;
    this.emit({ type: 'done', executionId: this.id, execution });
    resolve(execution);
  }

  private emit(event: WorkflowEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A listener's bug must not break the execution or leave it hanging.
    }
  }
}

function isTaken(source: WorkflowBlock, connection: Connection, output: JsonObject | null, failed: boolean): boolean {
  if (connection.kind === 'error') return failed;
  if (output === null) return false;
  if (connection.kind === 'branch') return output.selectedOption === connection.branch;
  if (source.type === 'router') return output.selectedPath === connection.target;
  return true;
}

function toFailure(error: unknown, aborted: boolean): BlockFailure {
  if (error instanceof BlockFailure) return aborted && error.code !== 'cancelled' ? new BlockFailure('cancelled', 'Stopped.', error.ai) : error;
  if (aborted) return new BlockFailure('cancelled', 'Stopped.');
  return new BlockFailure('internal', error instanceof Error ? error.message : String(error));
}
