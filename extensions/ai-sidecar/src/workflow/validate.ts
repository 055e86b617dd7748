/**
 * The checks a workflow passes before it is saved or run, each problem in plain words naming the
 * block and, for references, the reference: one starter, connections between existing blocks and
 * branches, no cycle, names that give distinct references, condition expressions inside the
 * whitelist, and every reference pointing at a block that has certainly finished by then (an
 * ancestor) and at a field that block's output has.
 */
import { ExpressionError, parseExpression } from './expressions.js';
import { WorkflowGraph } from './graph.js';
import type { Workflow, WorkflowBlock, WorkflowProblem } from './model.js';
import { outputFields } from './outputs.js';
import { findReferences, referenceName, referencingFields, START_ROOT, VARIABLE_ROOT, type Reference } from './references.js';

export function validateWorkflow(workflow: Workflow, graph: WorkflowGraph = new WorkflowGraph(workflow)): WorkflowProblem[] {
  return [...blockProblems(workflow), ...connectionProblems(workflow, graph), ...referenceProblems(workflow, graph), ...secretProblems(workflow)];
}

/** Shapes of provider keys (OpenAI, Anthropic, Google, Groq, xAI, Hugging Face, age identities). */
const KEY_SHAPE = /\b(sk-(proj-|ant-(api\d+-)?)?[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{30,}|AGE-SECRET-KEY-1[0-9A-Z]{20,}|(gsk|xai|pplx|nvapi)[_-][A-Za-z0-9]{20,}|hf_[A-Za-z0-9]{20,})/;

/** Secrets never enter a workflow: a key pasted into a prompt or a variable is refused. */
function secretProblems(workflow: Workflow): WorkflowProblem[] {
  const problems: WorkflowProblem[] = [];
  const message = (where: string): string => `${where} holds what looks like an API key. Keys belong in the vault (Providers), never in a workflow: remove it.`;
  for (const block of workflow.blocks) {
    for (const [field, text] of referencingFields(block)) {
      if (KEY_SHAPE.test(text)) problems.push({ blockId: block.id, field, message: message(`Block "${block.name}", ${field},`) });
    }
  }
  for (const [name, value] of Object.entries(workflow.variables)) {
    if (KEY_SHAPE.test(value)) problems.push({ field: `variables.${name}`, message: message(`Variable "${name}"`) });
  }
  return problems;
}

/** Plain-words summary of problems, for an error message. */
export function describeProblems(problems: readonly WorkflowProblem[]): string {
  const shown = problems.slice(0, 5).map((p) => p.message);
  const more = problems.length > shown.length ? ` (and ${problems.length - shown.length} more)` : '';
  return `${shown.join(' ')}${more}`;
}

/** Blocks by reference name (`start` is always the starter). */
export function blocksByReferenceName(workflow: Workflow): Map<string, WorkflowBlock> {
  const byName = new Map<string, WorkflowBlock>();
  for (const block of workflow.blocks) {
    if (block.type === 'starter') byName.set(START_ROOT, block);
    const name = referenceName(block.name);
    if (!byName.has(name)) byName.set(name, block);
  }
  return byName;
}

function blockProblems(workflow: Workflow): WorkflowProblem[] {
  const problems: WorkflowProblem[] = [];
  const starters = workflow.blocks.filter((b) => b.type === 'starter');
  if (starters.length !== 1) problems.push({ message: `A workflow needs exactly one Start block; this one has ${starters.length}.` });
  const ids = new Set<string>();
  const names = new Map<string, string>();
  for (const block of workflow.blocks) {
    if (ids.has(block.id)) problems.push({ blockId: block.id, message: `Two blocks have the id "${block.id}".` });
    ids.add(block.id);
    const name = referenceName(block.name);
    const clash = names.get(name);
    if (name === '') problems.push({ blockId: block.id, field: 'name', message: `Block "${block.name}" needs a name with letters or digits, so other blocks can refer to it.` });
    else if (clash !== undefined) problems.push({ blockId: block.id, field: 'name', message: `Blocks "${clash}" and "${block.name}" would both be referred to as <${name}.…>: rename one.` });
    else if (block.type !== 'starter' && (name === START_ROOT || name === VARIABLE_ROOT)) {
      problems.push({ blockId: block.id, field: 'name', message: `Block "${block.name}" cannot be called "${name}": <${name}.…> means something else.` });
    }
    names.set(name, block.name);
    if (block.type === 'condition') problems.push(...branchProblems(block));
  }
  return problems;
}

function branchProblems(block: WorkflowBlock & { type: 'condition' }): WorkflowProblem[] {
  const problems: WorkflowProblem[] = [];
  const { branches } = block.inputs;
  const at = (message: string, field?: string): WorkflowProblem => ({ blockId: block.id, ...(field === undefined ? {} : { field }), message: `Condition "${block.name}": ${message}` });
  if (branches[0]?.kind !== 'if') problems.push(at('the first branch must be an "if".'));
  const seen = new Set<string>();
  branches.forEach((branch, i) => {
    const field = `branches.${branch.id}`;
    if (seen.has(branch.id)) problems.push(at(`two branches are called "${branch.id}".`, field));
    seen.add(branch.id);
    if (branch.kind === 'else' && i !== branches.length - 1) problems.push(at('"else" must be the last branch.', field));
    if (branch.kind !== 'else') {
      try {
        parseExpression(branch.expression ?? '');
      } catch (error) {
        if (!(error instanceof ExpressionError)) throw error;
        problems.push(at(`branch "${branch.id}": ${error.message}`, field));
      }
    }
  });
  return problems;
}

function connectionProblems(workflow: Workflow, graph: WorkflowGraph): WorkflowProblem[] {
  const problems: WorkflowProblem[] = [];
  const nameOf = (id: string): string => graph.blocks.get(id)?.name ?? id;
  for (const c of workflow.connections) {
    const source = graph.blocks.get(c.source);
    if (source === undefined || !graph.blocks.has(c.target)) {
      problems.push({ blockId: c.source, message: `A connection from "${nameOf(c.source)}" to "${nameOf(c.target)}" names a block that is not in the workflow.` });
      continue;
    }
    if (c.source === c.target) problems.push({ blockId: c.source, message: `Block "${source.name}" is connected to itself.` });
    if (c.kind === 'branch') {
      const branch = source.type === 'condition' ? source.inputs.branches.find((b) => b.id === c.branch) : undefined;
      if (branch === undefined) problems.push({ blockId: c.source, message: `The connection from "${source.name}" to "${nameOf(c.target)}" names branch "${c.branch ?? ''}", which "${source.name}" does not have.` });
    } else if (c.kind === 'success' && source.type === 'condition') {
      problems.push({ blockId: c.source, message: `Condition "${source.name}" leads on through its branches, not a plain connection to "${nameOf(c.target)}".` });
    }
    if (graph.blocks.get(c.target)?.type === 'starter') problems.push({ blockId: c.target, message: `Nothing can lead into the Start block (from "${source.name}").` });
  }
  for (const block of workflow.blocks) {
    if (block.type === 'router' && !graph.outgoing.get(block.id)?.some((c) => c.kind === 'success')) {
      problems.push({ blockId: block.id, message: `Router "${block.name}" needs at least one block to choose from: connect it to them.` });
    }
  }
  if (graph.cycle !== undefined) {
    problems.push({ blockId: graph.cycle[0] ?? '', message: `The blocks ${graph.cycle.map((id) => `"${nameOf(id)}"`).join(' → ')} form a loop; a workflow must run forward only.` });
  }
  return problems;
}

function referenceProblems(workflow: Workflow, graph: WorkflowGraph): WorkflowProblem[] {
  const byName = blocksByReferenceName(workflow);
  const problems: WorkflowProblem[] = [];
  for (const block of workflow.blocks) {
    const ancestors = graph.ancestors(block.id);
    for (const [field, text] of referencingFields(block)) {
      for (const ref of findReferences(text)) {
        const message = referenceProblem(ref, { workflow, byName, ancestors, block });
        if (message !== undefined) problems.push({ blockId: block.id, field, reference: ref.raw, message: `Block "${block.name}", ${field}: ${message}` });
      }
    }
  }
  return problems;
}

interface ReferenceContext {
  readonly workflow: Workflow;
  readonly byName: Map<string, WorkflowBlock>;
  readonly ancestors: Set<string>;
  readonly block: WorkflowBlock;
}

function referenceProblem(ref: Reference, { workflow, byName, ancestors, block }: ReferenceContext): string | undefined {
  const [field = ''] = ref.path;
  if (ref.root === VARIABLE_ROOT) {
    return Object.hasOwn(workflow.variables, field) ? undefined : `${ref.raw} names variable "${field}", which this workflow does not define.`;
  }
  const target = byName.get(ref.root);
  if (target === undefined) return `${ref.raw} names no block: there is no block called "${ref.root}".`;
  if (target.id === block.id) return `${ref.raw} refers to the block itself.`;
  if (!ancestors.has(target.id)) return `${ref.raw} refers to "${target.name}", which cannot have run before "${block.name}" (it is not connected before it).`;
  const fields = outputFields(target);
  if (fields.some((f) => f.field === field)) return undefined;
  const hint = target.type === 'agent' && target.inputs.responseFormat === undefined ? ' Give it a response format with that field, or use .content.' : '';
  return `${ref.raw}: "${target.name}" has no field "${field}" (it has ${fields.map((f) => f.field).join(', ')}).${hint}`;
}

/** References a block may use, for suggestions as the user types. */
export function referenceOptions(workflow: Workflow, blockId: string): { reference: string; blockId?: string; description: string }[] {
  const graph = new WorkflowGraph(workflow);
  const ancestors = graph.ancestors(blockId);
  const options: { reference: string; blockId?: string; description: string }[] = [];
  for (const block of workflow.blocks) {
    if (!ancestors.has(block.id)) continue;
    const root = block.type === 'starter' ? START_ROOT : referenceName(block.name);
    for (const { field, description } of outputFields(block)) options.push({ reference: `<${root}.${field}>`, blockId: block.id, description: `${block.name}: ${description}` });
  }
  for (const name of Object.keys(workflow.variables)) options.push({ reference: `<${VARIABLE_ROOT}.${name}>`, description: `workflow variable "${name}"` });
  return options;
}
