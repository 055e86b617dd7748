/**
 * The workflow shapes the editor holds, taken from the contract (its zod output types, so mutable):
 * the store edits these in place and sends them back as they are.
 */
import type { CommandResult } from '@contract';

export type WorkflowDoc = CommandResult<'get_workflow'>;
export type WorkflowBlock = WorkflowDoc['blocks'][number];
export type BlockType = WorkflowBlock['type'];
export type WorkflowConnection = WorkflowDoc['connections'][number];
export type ConnectionKind = WorkflowConnection['kind'];
export type JsonObject = NonNullable<Extract<WorkflowBlock, { type: 'agent' }>['inputs']['responseFormat']>['schema'];
export type ConditionBranch = Extract<WorkflowBlock, { type: 'condition' }>['inputs']['branches'][number];
export type WorkflowSummary = CommandResult<'list_workflows'>[number];
export type ImportReport = CommandResult<'import_workflow'>['report'];
export type WorkflowProblem = CommandResult<'validate_workflow'>['problems'][number];
export type WorkflowExecution = CommandResult<'get_workflow_trace'>;
export type WorkflowExecutionSummary = CommandResult<'list_workflow_executions'>[number];
export type BlockTrace = WorkflowExecution['blocks'][number];

export const BLOCK_TYPES = ['starter', 'agent', 'condition', 'router', 'response'] as const satisfies readonly BlockType[];
