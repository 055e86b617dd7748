/**
 * Which blocks a rerun from one block takes as stored: every block that is not that block or after
 * it, that completed or was skipped last time, and whose own predecessors are all taken as stored
 * too (so nothing reused ever depends on something that runs again).
 */
import type { WorkflowGraph } from './graph.js';
import type { WorkflowExecution } from './model.js';

export function reusableBlocks(graph: WorkflowGraph, stored: WorkflowExecution, fromBlock: string): Set<string> {
  const rerun = graph.descendants(fromBlock);
  rerun.add(fromBlock);
  const status = new Map(stored.blocks.map((t) => [t.blockId, t.status]));
  const reused = new Set<string>();
  for (const id of graph.order) {
    if (rerun.has(id)) continue;
    const s = status.get(id);
    if (s !== 'completed' && s !== 'skipped') continue;
    if ((graph.incoming.get(id) ?? []).every((c) => reused.has(c.source))) reused.add(id);
  }
  return reused;
}
