/**
 * The Condition block: its branches' expressions are tried in order and the first true one is
 * taken (`else` when none is); no model is called. The trace shows each reference's value.
 */
import { evaluateCondition, ExpressionError } from '../expressions.js';
import type { ConditionBlock, JsonObject } from '../model.js';
import { findReferences, resolveReference, UnresolvedReferenceError } from '../references.js';
import { resolveOrFail } from './resolve.js';
import { BlockFailure, type BlockHandler } from './types.js';

export const conditionHandler: BlockHandler<ConditionBlock> = {
  resolve: (block, { scope }) => {
    const values: JsonObject = {};
    for (const branch of block.inputs.branches) {
      for (const ref of findReferences(branch.expression ?? '')) {
        // A missing value is shown as null here; the branch that reads it fails in `run`.
        try {
          values[ref.raw] = resolveReference(ref, scope);
        } catch (error) {
          if (!(error instanceof UnresolvedReferenceError)) throw error;
          values[ref.raw] = null;
        }
      }
    }
    return { branches: block.inputs.branches.map((b) => ({ id: b.id, kind: b.kind, expression: b.expression ?? null })), values };
  },
  run: (block, _input, { scope, graph }) => {
    for (const branch of block.inputs.branches) {
      const matched = branch.kind === 'else' || resolveOrFail(() => evaluate(block, branch.id, branch.expression ?? '', scope));
      if (!matched) continue;
      const next = graph.outgoing.get(block.id)?.find((c) => c.kind === 'branch' && c.branch === branch.id);
      return { output: { conditionResult: branch.kind !== 'else', selectedOption: branch.id, selectedPath: next?.target ?? null } };
    }
    // No branch matched and there is no else: nothing after the condition runs.
    return { output: { conditionResult: false, selectedOption: null, selectedPath: null } };
  },
};

function evaluate(block: ConditionBlock, branchId: string, expression: string, scope: Parameters<typeof evaluateCondition>[1]): boolean {
  try {
    return evaluateCondition(expression, scope);
  } catch (error) {
    if (error instanceof ExpressionError) throw new BlockFailure('expression', `Condition "${block.name}", branch "${branchId}": ${error.message}`);
    throw error;
  }
}
