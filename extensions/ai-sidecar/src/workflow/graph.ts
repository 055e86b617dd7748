/**
 * The workflow as a DAG, built once per save or run: edges by source and by target, one
 * topological order (Kahn), and the cycle, if any, named in plain words. Connections naming a
 * block that does not exist are left out here; validation reports them.
 */
import type { Connection, Workflow, WorkflowBlock } from './model.js';

export class WorkflowGraph {
  readonly blocks = new Map<string, WorkflowBlock>();
  readonly outgoing = new Map<string, Connection[]>();
  readonly incoming = new Map<string, Connection[]>();
  /** Every block, sources first. Blocks on a cycle are missing from it (see `cycle`). */
  readonly order: string[];
  /** The blocks on a cycle, in order, or undefined when there is none. */
  readonly cycle: string[] | undefined;

  constructor(readonly workflow: Workflow) {
    for (const block of workflow.blocks) {
      this.blocks.set(block.id, block);
      this.outgoing.set(block.id, []);
      this.incoming.set(block.id, []);
    }
    for (const connection of workflow.connections) {
      if (!this.blocks.has(connection.source) || !this.blocks.has(connection.target)) continue;
      this.outgoing.get(connection.source)?.push(connection);
      this.incoming.get(connection.target)?.push(connection);
    }
    this.order = this.topologicalOrder();
    this.cycle = this.order.length === this.blocks.size ? undefined : this.findCycle();
  }

  block(id: string): WorkflowBlock {
    const block = this.blocks.get(id);
    if (block === undefined) throw new Error(`No block "${id}" in this workflow.`);
    return block;
  }

  /** Every block that must have finished before `id` can run (transitively). */
  ancestors(id: string): Set<string> {
    return this.reach(id, (b) => this.incoming.get(b)?.map((c) => c.source) ?? []);
  }

  /** Every block that runs after `id` (transitively). */
  descendants(id: string): Set<string> {
    return this.reach(id, (b) => this.outgoing.get(b)?.map((c) => c.target) ?? []);
  }

  private reach(start: string, next: (id: string) => string[]): Set<string> {
    const seen = new Set<string>();
    const stack = next(start);
    for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
      if (seen.has(id)) continue;
      seen.add(id);
      stack.push(...next(id));
    }
    return seen;
  }

  private topologicalOrder(): string[] {
    const waiting = new Map<string, number>();
    for (const [id, edges] of this.incoming) waiting.set(id, new Set(edges.map((c) => c.source)).size);
    const ready = [...waiting].filter(([, n]) => n === 0).map(([id]) => id);
    const order: string[] = [];
    for (let i = 0; i < ready.length; i += 1) {
      const id = ready[i] as string;
      order.push(id);
      for (const target of new Set(this.outgoing.get(id)?.map((c) => c.target))) {
        const left = (waiting.get(target) ?? 0) - 1;
        waiting.set(target, left);
        if (left === 0) ready.push(target);
      }
    }
    return order;
  }

  /** A depth-first walk over the blocks left out of the order finds one loop to name. */
  private findCycle(): string[] {
    const placed = new Set(this.order);
    const state = new Map<string, 'open' | 'done'>();
    const path: string[] = [];
    const visit = (id: string): string[] | undefined => {
      state.set(id, 'open');
      path.push(id);
      for (const { target } of this.outgoing.get(id) ?? []) {
        if (placed.has(target)) continue;
        if (state.get(target) === 'open') return path.slice(path.indexOf(target));
        if (state.get(target) === undefined) {
          const found = visit(target);
          if (found !== undefined) return found;
        }
      }
      path.pop();
      state.set(id, 'done');
      return undefined;
    };
    for (const id of this.blocks.keys()) {
      if (placed.has(id) || state.has(id)) continue;
      const found = visit(id);
      if (found !== undefined) return found;
    }
    return [];
  }
}
