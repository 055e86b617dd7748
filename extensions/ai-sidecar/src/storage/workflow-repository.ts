/**
 * Workflows and their executions in SQLite. A workflow is stored as its JSON definition; an
 * execution as the whole trace plus a snapshot of the workflow it ran (rerun needs both). An
 * execution is written when it starts and again when it ends, so one cut short by a crash is found
 * as `running` at the next start and marked failed instead of vanishing.
 */
import type { Workflow, WorkflowExecution, WorkflowExecutionSummary, WorkflowSummary } from '../workflow/model.js';
import { executionTokens, type WorkflowStore } from '../workflow/store.js';
import type { SqliteDatabase } from './database.js';

interface RawWorkflow {
  id: string;
  name: string;
  definition: string;
  created_at: string;
  updated_at: string;
}

interface RawExecution {
  id: string;
  workflow_id: string;
  workflow_name: string;
  workflow: string;
  status: WorkflowExecution['status'];
  started_at: string;
  duration_ms: number | null;
  input_tokens: number;
  output_tokens: number;
  trace: string;
}

export class WorkflowRepository implements WorkflowStore {
  constructor(private readonly db: SqliteDatabase) {}

  list(): WorkflowSummary[] {
    const rows = this.db.prepare('SELECT id, name, definition, created_at, updated_at FROM workflows ORDER BY updated_at DESC').all() as RawWorkflow[];
    return rows.map((row) => {
      const workflow = toWorkflow(row);
      return {
        id: row.id,
        name: row.name,
        ...(workflow.description === undefined ? {} : { description: workflow.description }),
        blockCount: workflow.blocks.length,
        updatedAt: row.updated_at,
      };
    });
  }

  get(id: string): Workflow | undefined {
    const row = this.db.prepare('SELECT id, name, definition, created_at, updated_at FROM workflows WHERE id = ?').get(id) as RawWorkflow | undefined;
    return row && toWorkflow(row);
  }

  /** Inserts or replaces; keeps the first creation time. Returns the workflow as stored. */
  save(workflow: Workflow): Workflow {
    const now = new Date().toISOString();
    const { createdAt: _c, updatedAt: _u, ...definition } = workflow;
    void _c;
    void _u;
    this.db
      .prepare(`INSERT INTO workflows (id, name, definition, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET name = excluded.name, definition = excluded.definition, updated_at = excluded.updated_at`)
      .run(workflow.id, workflow.name, JSON.stringify(definition), now, now);
    return this.get(workflow.id) as Workflow;
  }

  delete(id: string): boolean {
    return this.db.prepare('DELETE FROM workflows WHERE id = ?').run(id).changes > 0;
  }

  /** Writes an execution (started or finished) with the workflow it ran. */
  recordExecution(execution: WorkflowExecution, workflow: Workflow): void {
    const tokens = executionTokens(execution);
    this.db
      .prepare(`INSERT OR REPLACE INTO workflow_executions (id, workflow_id, workflow_name, workflow, status, input, started_at, finished_at, duration_ms, input_tokens, output_tokens, trace)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(
        execution.id,
        execution.workflowId,
        execution.workflowName,
        JSON.stringify(workflow),
        execution.status,
        execution.input,
        execution.startedAt,
        execution.finishedAt,
        execution.durationMs,
        tokens.inputTokens,
        tokens.outputTokens,
        JSON.stringify(execution),
      );
  }

  executions(workflowId: string | undefined, limit: number, offset: number): WorkflowExecutionSummary[] {
    const rows = (
      workflowId === undefined
        ? this.db.prepare('SELECT * FROM workflow_executions ORDER BY started_at DESC LIMIT ? OFFSET ?').all(limit, offset)
        : this.db.prepare('SELECT * FROM workflow_executions WHERE workflow_id = ? ORDER BY started_at DESC LIMIT ? OFFSET ?').all(workflowId, limit, offset)
    ) as RawExecution[];
    return rows.map((row) => ({
      id: row.id,
      workflowId: row.workflow_id,
      workflowName: row.workflow_name,
      status: row.status,
      startedAt: row.started_at,
      durationMs: row.duration_ms,
      inputTokens: row.input_tokens,
      outputTokens: row.output_tokens,
    }));
  }

  /** The stored trace and the workflow it ran. */
  execution(id: string): { execution: WorkflowExecution; workflow: Workflow } | undefined {
    const row = this.db.prepare('SELECT * FROM workflow_executions WHERE id = ?').get(id) as RawExecution | undefined;
    return row && { execution: JSON.parse(row.trace) as WorkflowExecution, workflow: JSON.parse(row.workflow) as Workflow };
  }

  /** Executions left `running` by a process that died are failed, with a reason, at the next start. */
  failInterrupted(): number {
    const rows = this.db.prepare("SELECT * FROM workflow_executions WHERE status = 'running'").all() as RawExecution[];
    for (const row of rows) {
      const stored = JSON.parse(row.trace) as WorkflowExecution;
      const error = { code: 'interrupted', message: 'The app stopped while this execution was running.' };
      this.recordExecution({ ...stored, status: 'failed', error, finishedAt: stored.finishedAt ?? new Date().toISOString() }, JSON.parse(row.workflow) as Workflow);
    }
    return rows.length;
  }
}

function toWorkflow(row: RawWorkflow): Workflow {
  const definition = JSON.parse(row.definition) as Workflow;
  return { ...definition, id: row.id, name: row.name, createdAt: row.created_at, updatedAt: row.updated_at };
}
