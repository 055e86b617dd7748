/** Small builders for workflows in tests, and a manager wired to the vendor stand-ins. */
import { AIManager } from '../../extensions/ai-sidecar/src/core/manager.js';
import type { AIProvider } from '../../extensions/ai-sidecar/src/core/types.js';
import { managerAICall } from '../../extensions/ai-sidecar/src/workflow/manager-ai.js';
import { WorkflowExecutor, type WorkflowEvent } from '../../extensions/ai-sidecar/src/workflow/executor.js';
import type { AgentInputs, Connection, Workflow, WorkflowBlock } from '../../extensions/ai-sidecar/src/workflow/model.js';

export const start = (name = 'Start'): WorkflowBlock => ({ id: 'start', name, type: 'starter', inputs: {} });

export const agent = (id: string, inputs: Partial<AgentInputs> & Pick<AgentInputs, 'provider'>, name = id): WorkflowBlock => ({
  id,
  name,
  type: 'agent',
  inputs: { userPrompt: '<start.input>', model: 'gpt-4o-mini', ...inputs },
});

export const response = (data: string, id = 'response'): WorkflowBlock => ({ id, name: 'Response', type: 'response', inputs: { data } });

export const edge = (source: string, target: string, kind: Connection['kind'] = 'success', branch?: string): Connection => ({
  source,
  target,
  kind,
  ...(branch === undefined ? {} : { branch }),
});

export const workflow = (blocks: WorkflowBlock[], connections: Connection[], variables: Record<string, string> = {}): Workflow => ({
  id: 'wf-test',
  name: 'Test workflow',
  blocks,
  connections,
  variables,
});

export function managerWith(...providers: AIProvider[]): AIManager {
  const manager = new AIManager({ retry: { maxRetries: 0 } });
  for (const provider of providers) manager.register(provider);
  return manager;
}

export function executorFor(manager: AIManager): WorkflowExecutor {
  return new WorkflowExecutor({ ai: managerAICall(manager) });
}

/** Runs and collects every event. */
export async function run(executor: WorkflowExecutor, wf: Workflow, input: string, extra: { signal?: AbortSignal; onEvent?: (e: WorkflowEvent) => void } = {}) {
  const events: WorkflowEvent[] = [];
  const handle = executor.start({ workflow: wf, input, signal: extra.signal, onEvent: (e) => (events.push(e), extra.onEvent?.(e)) });
  const execution = await handle.result;
  return { execution, events, handle };
}

export const traceOf = (execution: { blocks: { blockId: string }[] }, id: string) => {
  const trace = execution.blocks.find((b) => b.blockId === id);
  if (trace === undefined) throw new Error(`no trace for ${id}`);
  return trace as (typeof execution.blocks)[number] & import('../../extensions/ai-sidecar/src/workflow/model.js').BlockTrace;
};
