/**
 * What the run panel shows, folded from an execution's events: each block's live text as it arrives,
 * its status and trace, then the whole execution when `done` comes. Pure, so the order of events
 * decides everything and tests can replay them.
 */
import { WORKFLOW_EVENTS } from '@contract/names';
import type { WorkflowRunEvent } from '../api/client';
import { retryText } from '../lib/words';
import type { BlockTrace, BlockType, WorkflowExecution } from './workflow-types';

export interface BlockRunView {
  readonly blockId: string;
  readonly name: string;
  readonly type: BlockType;
  readonly status: BlockTrace['status'];
  /** Text streamed so far (or the finished content). */
  readonly text: string;
  readonly trace?: BlockTrace;
  /** Plain words: why it failed or was skipped. */
  readonly note?: string;
}

export type RunStatus = 'idle' | 'starting' | 'running' | WorkflowExecution['status'];

export interface RunView {
  status: RunStatus;
  executionId?: string;
  input: string;
  /** In the order blocks started. */
  blocks: BlockRunView[];
  execution?: WorkflowExecution;
  error?: string;
}

export function emptyRun(): RunView {
  return { status: 'idle', input: '', blocks: [] };
}

/** The text a finished block shows: its streamed text, else its `content` output. */
function finishedText(text: string, trace: BlockTrace): string {
  const content = trace.output?.['content'];
  if (text !== '') return text;
  return typeof content === 'string' ? content : content === undefined || content === null ? '' : JSON.stringify(content);
}

function fromTrace(trace: BlockTrace, previous?: BlockRunView): BlockRunView {
  const note = trace.error?.message ?? trace.skipReason ?? undefined;
  return { blockId: trace.blockId, name: trace.blockName, type: trace.blockType, status: trace.status, text: finishedText(previous?.text ?? '', trace), trace, ...(note ? { note } : {}) };
}

function upsert(blocks: readonly BlockRunView[], blockId: string, change: (b: BlockRunView | undefined) => BlockRunView): BlockRunView[] {
  const i = blocks.findIndex((b) => b.blockId === blockId);
  if (i < 0) return [...blocks, change(undefined)];
  return blocks.map((b, j) => (j === i ? change(b) : b));
}

export function foldRunEvent(run: RunView, event: WorkflowRunEvent): RunView {
  switch (event.name) {
    case WORKFLOW_EVENTS.blockStarted: {
      const p = event.payload;
      return { ...run, blocks: upsert(run.blocks, p.blockId, (b) => ({ blockId: p.blockId, name: p.blockName, type: p.blockType, status: 'running', text: b?.text ?? '' })) };
    }
    case WORKFLOW_EVENTS.blockChunk: {
      const p = event.payload;
      // The first text ends any retry note.
      return { ...run, blocks: upsert(run.blocks, p.blockId, (b) => ({ blockId: p.blockId, name: b?.name ?? p.blockId, type: b?.type ?? 'agent', status: 'running', text: (b?.text ?? '') + p.text })) };
    }
    case WORKFLOW_EVENTS.blockRetry: {
      const p = event.payload;
      const note = retryText(p, Math.ceil(p.delayMs / 1000));
      return { ...run, blocks: upsert(run.blocks, p.blockId, (b) => ({ blockId: p.blockId, name: b?.name ?? p.blockId, type: b?.type ?? 'agent', status: 'running', text: b?.text ?? '', note })) };
    }
    case WORKFLOW_EVENTS.blockDone:
    case WORKFLOW_EVENTS.blockFailed: {
      const trace = event.payload.trace;
      return { ...run, blocks: upsert(run.blocks, trace.blockId, (b) => fromTrace(trace, b)) };
    }
    case WORKFLOW_EVENTS.blockSkipped: {
      const p = event.payload;
      return { ...run, blocks: upsert(run.blocks, p.blockId, (b) => ({ blockId: p.blockId, name: b?.name ?? p.blockId, type: b?.type ?? 'agent', status: 'skipped', text: b?.text ?? '', note: p.reason })) };
    }
    case WORKFLOW_EVENTS.done: {
      const execution = event.payload.execution;
      let blocks = run.blocks;
      for (const trace of execution.blocks) blocks = upsert(blocks, trace.blockId, (b) => fromTrace(trace, b));
      // The trace shows how it ended (execution.error), so `error` stays for failures outside it.
      return { ...run, status: execution.status, execution, blocks };
    }
    case 'lost':
      return { ...run, status: 'failed', error: event.error.message, blocks: run.blocks.map((b) => (b.status === 'running' ? { ...b, status: 'cancelled' } : b)) };
  }
}

/** A stored execution as the run panel shows it (a past run opened from the list). */
export function runFromExecution(execution: WorkflowExecution): RunView {
  return { status: execution.status, executionId: execution.id, input: execution.input, blocks: execution.blocks.map((t) => fromTrace(t)), execution };
}

/** The execution's response as text for people: strings as they are, anything else as indented JSON. */
export function responseText(execution: WorkflowExecution | undefined): string {
  const r = execution?.response;
  if (r === undefined || r === null) return '';
  return typeof r === 'string' ? r : JSON.stringify(r, null, 2);
}
