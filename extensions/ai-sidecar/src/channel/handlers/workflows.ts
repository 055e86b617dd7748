/** Handlers for workflows: thin, each one call into the WorkflowService (../../workflow/service.ts). */
import type { ImportReport, Workflow, WorkflowExecution, WorkflowExecutionSummary, WorkflowProblem, WorkflowSummary } from '../../workflow/model.js';
import type { Handlers } from '../dispatcher.js';

export interface ModelOverride {
  readonly provider: string;
  readonly model: string;
}

export interface ReferenceOption {
  readonly reference: string;
  readonly blockId?: string;
  readonly description: string;
}

/** What the handlers need; the composition root supplies the real one. */
export interface WorkflowService {
  list(): WorkflowSummary[];
  get(id: string): Workflow;
  save(workflow: Workflow): Workflow;
  validate(workflow: Workflow): WorkflowProblem[];
  references(workflow: Workflow, blockId: string): ReferenceOption[];
  delete(id: string): void;
  import(text: string, format: 'auto' | 'yaml' | 'json'): Promise<{ workflow: Workflow; report: ImportReport }>;
  export(id: string, format: 'yaml' | 'json'): Promise<{ text: string; fileName: string }>;
  run(source: { workflowId: string } | { workflow: Workflow }, input: string, override?: ModelOverride): string;
  /** True when `executionId` was a running workflow execution (now stopping). */
  cancel(executionId: string): boolean;
  executions(workflowId: string | undefined, limit: number, offset: number): WorkflowExecutionSummary[];
  trace(executionId: string): WorkflowExecution;
  rerunFrom(executionId: string, blockId: string, override?: ModelOverride): string;
}

type WorkflowHandlers = Pick<
  Handlers,
  | 'list_workflows'
  | 'get_workflow'
  | 'save_workflow'
  | 'validate_workflow'
  | 'list_workflow_references'
  | 'delete_workflow'
  | 'import_workflow'
  | 'export_workflow'
  | 'run_workflow'
  | 'list_workflow_executions'
  | 'get_workflow_trace'
  | 'rerun_from_block'
>;

export function workflowHandlers(service: WorkflowService): WorkflowHandlers {
  return {
    list_workflows: () => service.list(),
    get_workflow: ({ id }) => service.get(id),
    save_workflow: ({ workflow }) => service.save(workflow),
    validate_workflow: ({ workflow }) => ({ problems: service.validate(workflow) }),
    list_workflow_references: ({ workflow, blockId }) => service.references(workflow, blockId),
    delete_workflow: ({ id }) => {
      service.delete(id);
      return { ok: true };
    },
    import_workflow: ({ text, format }) => service.import(text, format ?? 'auto'),
    export_workflow: ({ id, format }) => service.export(id, format),
    run_workflow: ({ workflowId, workflow, input, override }) => {
      const source = workflowId !== undefined ? { workflowId } : { workflow: workflow as Workflow };
      return { executionId: service.run(source, input, override) };
    },
    list_workflow_executions: ({ workflowId, limit, offset }) => service.executions(workflowId, limit ?? 50, offset ?? 0),
    get_workflow_trace: ({ executionId }) => service.trace(executionId),
    rerun_from_block: ({ executionId, blockId, override }) => ({ executionId: service.rerunFrom(executionId, blockId, override) }),
  };
}
