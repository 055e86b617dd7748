/**
 * Pure helpers over a workflow document, shared by the store and the editor: reference names as Sim
 * writes them, which blocks can have run before a given block, and the references a prompt field may
 * offer there. No Vue, no I/O: the store owns the document, these only read it.
 */
import type { WorkflowBlock, WorkflowDoc, WorkflowProblem } from './workflow-types';

/** A block's reference name: lower-cased, spaces and punctuation removed ("AI Assistant" → "aiassistant"). */
export function referenceName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_]/g, '');
}

/** Ids of every block that runs before `blockId` on some path (its ancestors through any connection). */
export function ancestorsOf(doc: WorkflowDoc, blockId: string): Set<string> {
  const parents = new Map<string, string[]>();
  for (const c of doc.connections) parents.set(c.target, [...(parents.get(c.target) ?? []), c.source]);
  const seen = new Set<string>();
  const queue = [...(parents.get(blockId) ?? [])];
  for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
    if (seen.has(id) || id === blockId) continue;
    seen.add(id);
    queue.push(...(parents.get(id) ?? []));
  }
  return seen;
}

export interface ReferenceOption {
  /** What is inserted, e.g. `<writer.content>`. */
  readonly text: string;
  /** Plain words shown beside it. */
  readonly detail: string;
}

/** Field names of a JSON schema's top-level properties; empty when there is no usable schema. */
export function schemaFields(schema: unknown): string[] {
  if (typeof schema !== 'object' || schema === null) return [];
  const properties = (schema as { properties?: unknown }).properties;
  return typeof properties === 'object' && properties !== null ? Object.keys(properties) : [];
}

/** What a block exposes to later blocks, as reference texts. */
function outputsOf(block: WorkflowBlock): ReferenceOption[] {
  const name = referenceName(block.name);
  if (block.type === 'starter') return [{ text: '<start.input>', detail: 'the workflow input' }];
  if (block.type === 'agent') {
    const fields = schemaFields(block.inputs.responseFormat?.schema);
    return [
      { text: `<${name}.content>`, detail: `${block.name}: the answer` },
      ...fields.map((f) => ({ text: `<${name}.${f}>`, detail: `${block.name}: field "${f}" of the structured answer` })),
    ];
  }
  if (block.type === 'router') return [{ text: `<${name}.content>`, detail: `${block.name}: the chosen route` }];
  return [];
}

/** References a field of `blockId` may use: the start input, every block that can have run before it, and the variables. */
export function referenceOptions(doc: WorkflowDoc, blockId: string): ReferenceOption[] {
  const before = ancestorsOf(doc, blockId);
  const starter = doc.blocks.find((b) => b.type === 'starter');
  const options: ReferenceOption[] = starter && starter.id !== blockId ? outputsOf(starter) : [];
  for (const block of doc.blocks) if (before.has(block.id) && block.type !== 'starter') options.push(...outputsOf(block));
  for (const name of Object.keys(doc.variables)) options.push({ text: `<variable.${name}>`, detail: 'workflow variable' });
  return options;
}

/** The reference being typed at `caret`: the text from its last unclosed `<`, or undefined when not inside one. */
export function partialReference(text: string, caret: number): { start: number; typed: string } | undefined {
  const before = text.slice(0, caret);
  const start = before.lastIndexOf('<');
  if (start < 0) return undefined;
  const typed = before.slice(start);
  return /^<[a-z0-9_.]*$/i.test(typed) ? { start, typed } : undefined;
}

/** Options matching what is typed (prefix or contains, prefix first), at most `limit`. */
export function matchReferences(options: readonly ReferenceOption[], typed: string, limit = 8): ReferenceOption[] {
  const q = typed.toLowerCase();
  const prefix = options.filter((o) => o.text.toLowerCase().startsWith(q));
  const inside = options.filter((o) => !prefix.includes(o) && o.text.toLowerCase().includes(q.slice(1)));
  return [...prefix, ...inside].slice(0, limit);
}

/** A name no other block uses: "Agent", "Agent 2", … (references are by name, so names must differ). */
export function uniqueName(doc: WorkflowDoc, base: string): string {
  const taken = new Set(doc.blocks.map((b) => referenceName(b.name)));
  if (!taken.has(referenceName(base))) return base;
  for (let n = 2; ; n += 1) if (!taken.has(referenceName(`${base} ${n}`))) return `${base} ${n}`;
}

/**
 * What the editor can tell before asking the sidecar: blocks without a name or a model, and names that
 * collide once lower-cased (references are by name). The sidecar checks references and the graph.
 */
export function localProblems(doc: WorkflowDoc): WorkflowProblem[] {
  const problems: WorkflowProblem[] = [];
  const seen = new Map<string, string>();
  for (const block of doc.blocks) {
    const ref = referenceName(block.name);
    if (block.name.trim() === '') problems.push({ blockId: block.id, field: 'name', message: 'This block needs a name.' });
    else if (seen.has(ref)) problems.push({ blockId: block.id, field: 'name', message: `Another block is also called "${seen.get(ref) ?? ''}"; references need different names.` });
    else seen.set(ref, block.name);
    if ((block.type === 'agent' || block.type === 'router') && (block.inputs.provider === '' || block.inputs.model === '')) {
      problems.push({ blockId: block.id, field: 'model', message: 'Choose a provider and a model.' });
    }
  }
  return problems;
}
