/** Where workflows and their executions live: SQLite in the app (storage/workflow-repository.ts), memory without it. */
import type { Workflow, WorkflowExecution, WorkflowExecutionSummary, WorkflowSummary } from './model.js';

export interface WorkflowStore {
  list(): WorkflowSummary[];
  get(id: string): Workflow | undefined;
  save(workflow: Workflow): Workflow;
  delete(id: string): boolean;
  recordExecution(execution: WorkflowExecution, workflow: Workflow): void;
  executions(workflowId: string | undefined, limit: number, offset: number): WorkflowExecutionSummary[];
  execution(id: string): { execution: WorkflowExecution; workflow: Workflow } | undefined;
}

/** For a session without a database: everything works, nothing outlives the process. */
export class MemoryWorkflowStore implements WorkflowStore {
  private readonly workflows = new Map<string, Workflow>();
  private readonly runs = new Map<string, { execution: WorkflowExecution; workflow: Workflow }>();

  list(): WorkflowSummary[] {
    return [...this.workflows.values()].map((w) => ({ id: w.id, name: w.name, ...(w.description === undefined ? {} : { description: w.description }), blockCount: w.blocks.length, updatedAt: w.updatedAt ?? '' }));
  }

  get(id: string): Workflow | undefined {
    return this.workflows.get(id);
  }

  save(workflow: Workflow): Workflow {
    const now = new Date().toISOString();
    const saved = { ...workflow, createdAt: this.workflows.get(workflow.id)?.createdAt ?? now, updatedAt: now };
    this.workflows.set(workflow.id, saved);
    return saved;
  }

  delete(id: string): boolean {
    return this.workflows.delete(id);
  }

  recordExecution(execution: WorkflowExecution, workflow: Workflow): void {
    this.runs.set(execution.id, { execution, workflow });
  }

  executions(workflowId: string | undefined, limit: number, offset: number): WorkflowExecutionSummary[] {
    return [...this.runs.values()]
      .map((r) => r.execution)
      .filter((e) => workflowId === undefined || e.workflowId === workflowId)
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
      .slice(offset, offset + limit)
      .map((e) => ({ id: e.id, workflowId: e.workflowId, workflowName: e.workflowName, status: e.status, startedAt: e.startedAt, durationMs: e.durationMs, ...executionTokens(e) }));
  }

  execution(id: string): { execution: WorkflowExecution; workflow: Workflow } | undefined {
    return this.runs.get(id);
  }
}

/** Tokens this execution spent (blocks reused from an earlier one spent nothing now). */
export function executionTokens(execution: WorkflowExecution): { inputTokens: number; outputTokens: number } {
  let inputTokens = 0;
  let outputTokens = 0;
  for (const block of execution.blocks) {
    if (block.reused) continue;
    inputTokens += block.inputTokens;
    outputTokens += block.outputTokens;
  }
  return { inputTokens, outputTokens };
}
