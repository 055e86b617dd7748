/**
 * The Workflows feature behind the handlers: saving with validation, import/export, and executions
 * (started, recorded when they start and when they end, cancellable by id, rerun from a block).
 */
import { randomUUID } from 'node:crypto';
import type { ModelOverride, ReferenceOption, WorkflowService as Service } from '../channel/handlers/workflows.js';
import { log } from '../log.js';
import { WorkflowError } from './errors.js';
import type { ExecutionHandle, WorkflowEvent, WorkflowExecutor } from './executor.js';
import { WorkflowGraph } from './graph.js';
import type { ImportReport, Workflow, WorkflowExecution, WorkflowExecutionSummary, WorkflowProblem, WorkflowSummary } from './model.js';
import { reusableBlocks } from './rerun.js';
import type { WorkflowStore } from './store.js';
import { describeProblems, referenceOptions, validateWorkflow } from './validate.js';
import { lazyModule } from '../core/lazy-module.js';

/** The YAML library is loaded on the first import or export, not at every start. */
const formats = lazyModule(() => import('./yaml.js'));

export interface WorkflowServiceDeps {
  readonly store: WorkflowStore;
  readonly executor: WorkflowExecutor;
  /** Every event of every execution, for the window. */
  readonly onEvent: (event: WorkflowEvent) => void;
  readonly newId?: () => string;
}

export class WorkflowService implements Service {
  private readonly running = new Map<string, ExecutionHandle>();
  /** Each running execution's last write, for shutdown to wait on. */
  private readonly recorded = new Set<Promise<void>>();

  constructor(private readonly deps: WorkflowServiceDeps) {}

  list(): WorkflowSummary[] {
    return this.deps.store.list();
  }

  get(id: string): Workflow {
    const workflow = this.deps.store.get(id);
    if (workflow === undefined) throw new WorkflowError('not_found', `There is no workflow "${id}" (it may have been deleted).`);
    return workflow;
  }

  save(workflow: Workflow): Workflow {
    this.assertValid(workflow, 'cannot be saved');
    if (workflow.id !== '') this.get(workflow.id);
    return this.deps.store.save({ ...workflow, id: workflow.id === '' ? (this.deps.newId?.() ?? randomUUID()) : workflow.id });
  }

  validate(workflow: Workflow): WorkflowProblem[] {
    return validateWorkflow(workflow);
  }

  references(workflow: Workflow, blockId: string): ReferenceOption[] {
    if (!workflow.blocks.some((b) => b.id === blockId)) throw new WorkflowError('not_found', `There is no block "${blockId}" in this workflow.`);
    return referenceOptions(workflow, blockId);
  }

  delete(id: string): void {
    if (!this.deps.store.delete(id)) throw new WorkflowError('not_found', `There is no workflow "${id}" (it may have been deleted).`);
  }

  async import(text: string, format: 'auto' | 'yaml' | 'json'): Promise<{ workflow: Workflow; report: ImportReport }> {
    return (await formats.load()).importWorkflow(text, format);
  }

  async export(id: string, format: 'yaml' | 'json'): Promise<{ text: string; fileName: string }> {
    const workflow = this.get(id);
    const base = workflow.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'workflow';
    return { text: (await formats.load()).exportWorkflow(workflow, format), fileName: `${base}.${format === 'yaml' ? 'sim.yaml' : 'json'}` };
  }

  run(source: { workflowId: string } | { workflow: Workflow }, input: string, override?: ModelOverride): string {
    const workflow = 'workflowId' in source ? this.get(source.workflowId) : source.workflow;
    return this.start(workflow, { input, override });
  }

  cancel(executionId: string): boolean {
    const handle = this.running.get(executionId);
    handle?.cancel();
    return handle !== undefined;
  }

  executions(workflowId: string | undefined, limit: number, offset: number): WorkflowExecutionSummary[] {
    return this.deps.store.executions(workflowId, limit, offset);
  }

  trace(executionId: string): WorkflowExecution {
    const live = this.running.get(executionId);
    if (live !== undefined) return live.snapshot();
    const stored = this.deps.store.execution(executionId);
    if (stored === undefined) throw new WorkflowError('not_found', `There is no workflow execution "${executionId}".`);
    return stored.execution;
  }

  rerunFrom(executionId: string, blockId: string, override?: ModelOverride): string {
    if (this.running.has(executionId)) throw new WorkflowError('validation', 'This execution is still running; stop it or wait for it to end before running it again.');
    const stored = this.deps.store.execution(executionId);
    if (stored === undefined) throw new WorkflowError('not_found', `There is no workflow execution "${executionId}".`);
    const { execution, workflow } = stored;
    if (!workflow.blocks.some((b) => b.id === blockId)) throw new WorkflowError('not_found', `The workflow that ran had no block "${blockId}".`);
    const blocks = reusableBlocks(new WorkflowGraph(workflow), execution, blockId);
    return this.start(workflow, { input: execution.input, override, reuse: { from: execution, blocks, fromBlock: blockId } });
  }

  /**
   * Stops every running execution and waits (at most `timeoutMs`) until each has been recorded as
   * stopped, so a clean shutdown leaves no execution marked running.
   */
  async shutdown(timeoutMs = 3000): Promise<void> {
    for (const handle of this.running.values()) handle.cancel();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.all(this.recorded), timeout]);
    clearTimeout(timer);
  }

  private start(workflow: Workflow, options: { input: string; override: ModelOverride | undefined; reuse?: Parameters<WorkflowExecutor['start']>[0]['reuse'] }): string {
    // The executor checks the workflow and refuses one that cannot run, in the same plain words.
    const handle = this.deps.executor.start({ workflow, ...options, onEvent: this.deps.onEvent });
    this.running.set(handle.id, handle);
    this.record(handle.snapshot(), workflow);
    const recorded = handle.result.then((execution) => {
      this.running.delete(handle.id);
      this.record(execution, workflow);
    });
    this.recorded.add(recorded);
    void recorded.finally(() => this.recorded.delete(recorded));
    return handle.id;
  }

  private record(execution: WorkflowExecution, workflow: Workflow): void {
    try {
      this.deps.store.recordExecution(execution, workflow);
    } catch (error) {
      // A full disk must not stop a run; the trace still reaches the window through events.
      log('warn', `Could not store workflow execution ${execution.id}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private assertValid(workflow: Workflow, what: string): void {
    const problems = validateWorkflow(workflow);
    if (problems.length > 0) throw new WorkflowError('validation', `"${workflow.name}" ${what}. ${describeProblems(problems)}`, problems);
  }
}
