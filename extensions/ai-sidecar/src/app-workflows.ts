/**
 * The Workflows feature as the composition root builds it: the store, the executor over the
 * AIManager, and the event relay. A module of its own so that app.ts loads it (with the executor, the
 * validator and its expression parser) on the first workflow command, not at every start.
 */
import type { AIManager } from './core/manager.js';
import type { EmitEvent } from './channel/run-streamer.js';
import { WorkflowEventRelay } from './channel/workflow-streamer.js';
import { log } from './log.js';
import type { SqliteDatabase } from './storage/database.js';
import { WorkflowRepository } from './storage/workflow-repository.js';
import { WorkflowExecutor } from './workflow/executor.js';
import { managerAICall } from './workflow/manager-ai.js';
import { WorkflowService } from './workflow/service.js';
import { MemoryWorkflowStore } from './workflow/store.js';

export interface WorkflowFeatureDeps {
  /** Undefined without storage: workflows then live in memory for the session. */
  readonly db: SqliteDatabase | undefined;
  readonly manager: AIManager;
  readonly emit: EmitEvent;
  readonly frameMs?: number | undefined;
}

export function createWorkflowService(deps: WorkflowFeatureDeps): WorkflowService {
  return new WorkflowService({
    store: deps.db ? openWorkflowRepository(deps.db) : new MemoryWorkflowStore(),
    executor: new WorkflowExecutor({ ai: managerAICall(deps.manager) }),
    onEvent: new WorkflowEventRelay(deps.emit, deps.frameMs).onEvent,
  });
}

/** The workflows table, with executions a previous process left running marked as interrupted. */
function openWorkflowRepository(db: SqliteDatabase): WorkflowRepository {
  const repository = new WorkflowRepository(db);
  try {
    repository.failInterrupted();
  } catch (error) {
    log('warn', `Could not mark interrupted workflow executions: ${error instanceof Error ? error.message : String(error)}`);
  }
  return repository;
}
