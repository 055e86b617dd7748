/**
 * Editor helpers over a workflow document. The rules themselves (reference names, what a block can
 * reference, the save-time checks) are the sidecar's own pure modules, imported here so the editor
 * and the sidecar can never disagree; this file adds only what typing and placing blocks need.
 */
import { referenceOptions as sidecarReferenceOptions, validateWorkflow } from '../../../extensions/ai-sidecar/src/workflow/validate.js';
import { referenceName } from '../../../extensions/ai-sidecar/src/workflow/references.js';
import type { WorkflowDoc, WorkflowProblem } from './workflow-types';

export { referenceName };

export type ReferenceOption = ReturnType<typeof sidecarReferenceOptions>[number];

/** References a field of `blockId` may use: outputs of blocks that have certainly run before it, and the variables. */
export function referenceOptions(doc: WorkflowDoc, blockId: string): ReferenceOption[] {
  return sidecarReferenceOptions(doc, blockId);
}

/** The reference being typed at `caret`: the text from its last unclosed `<`, or undefined when not inside one. */
export function partialReference(text: string, caret: number): { start: number; typed: string } | undefined {
  const before = text.slice(0, caret);
  const start = before.lastIndexOf('<');
  if (start < 0) return undefined;
  const typed = before.slice(start);
  return /^<[a-z0-9_.]*$/i.test(typed) ? { start, typed } : undefined;
}

/** Options matching what is typed (prefix first, then containing), at most `limit`. */
export function matchReferences(options: readonly ReferenceOption[], typed: string, limit = 8): ReferenceOption[] {
  const q = typed.toLowerCase();
  const prefix = options.filter((o) => o.reference.toLowerCase().startsWith(q));
  const inside = options.filter((o) => !prefix.includes(o) && o.reference.toLowerCase().includes(q.slice(1)));
  return [...prefix, ...inside].slice(0, limit);
}

/** A name no other block uses: "Agent", "Agent 2", … (references are by name, so names must differ). */
export function uniqueName(doc: WorkflowDoc, base: string): string {
  const taken = new Set(doc.blocks.map((b) => referenceName(b.name)));
  if (!taken.has(referenceName(base))) return base;
  for (let n = 2; ; n += 1) if (!taken.has(referenceName(`${base} ${n}`))) return `${base} ${n}`;
}

/**
 * Every problem that stops a save or a run, found without a round trip: the sidecar's own checks
 * (references, connections, cycles, names) plus a workflow without a name and an agent or router with
 * no model chosen yet, which the contract would refuse as malformed rather than explain.
 */
export function localProblems(doc: WorkflowDoc): WorkflowProblem[] {
  const unchosen = doc.blocks
    .filter((b) => (b.type === 'agent' || b.type === 'router') && (b.inputs.provider === '' || b.inputs.model === ''))
    .map((b) => ({ blockId: b.id, field: 'model', message: `Block "${b.name}": choose a provider and a model.` }));
  const unnamed = doc.name.trim() === '' ? [{ message: 'The workflow needs a name.' }] : [];
  return [...unnamed, ...unchosen, ...validateWorkflow(doc)];
}
