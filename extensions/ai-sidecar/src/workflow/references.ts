/**
 * References as Sim writes them: `<start.input>`, `<blockname.content>`, `<blockname.field>` (a
 * field of a structured answer, nested paths allowed) and `<variable.name>`. A block's reference
 * name is its display name lower-cased with spaces and other punctuation removed ("Email Writer" →
 * `emailwriter`). Pure functions, no sidecar dependencies: the UI may import this module too.
 */
import type { JsonObject, JsonValue, WorkflowBlock } from './model.js';

/** `<root.path.to.field>`: a root and at least one field, letters/digits/underscores only. */
const REFERENCE = /<([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+)+)>/g;

export const START_ROOT = 'start';
export const VARIABLE_ROOT = 'variable';

export interface Reference {
  /** As written, e.g. `<writer.content>`. */
  readonly raw: string;
  /** Lower-cased root: a block's reference name, `start` or `variable`. */
  readonly root: string;
  readonly path: string[];
  readonly index: number;
}

export function referenceName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_]/g, '');
}

export function findReferences(text: string): Reference[] {
  const found: Reference[] = [];
  for (const match of text.matchAll(REFERENCE)) {
    const [raw, root = '', dotted = ''] = match;
    found.push({ raw, root: root.toLowerCase(), path: dotted.slice(1).split('.'), index: match.index });
  }
  return found;
}

/** The fields of a block that may hold references, by field name (`branches.if` for a condition). */
export function referencingFields(block: WorkflowBlock): [field: string, text: string][] {
  switch (block.type) {
    case 'starter':
      return [];
    case 'agent':
      return [
        ...(block.inputs.systemPrompt === undefined ? [] : [['systemPrompt', block.inputs.systemPrompt] as [string, string]]),
        ['userPrompt', block.inputs.userPrompt],
      ];
    case 'condition':
      return block.inputs.branches.flatMap((b): [string, string][] => (b.expression === undefined ? [] : [[`branches.${b.id}`, b.expression]]));
    case 'router':
      return [['prompt', block.inputs.prompt]];
    case 'response':
      return [['data', block.inputs.data]];
  }
}

/**
 * Looks a reference root up: a finished block's output, the start input, or the variables; `null`
 * for a block of the workflow that did not run in this execution (a branch not taken), which reads
 * as empty, as in Sim; undefined for a name nothing answers to.
 */
export type ReferenceScope = (root: string) => JsonObject | null | undefined;

export class UnresolvedReferenceError extends Error {
  override readonly name = 'UnresolvedReferenceError';
  constructor(readonly reference: string, reason: string) {
    super(`${reference} ${reason}`);
  }
}

/** The value a reference points at; throws UnresolvedReferenceError when it points at nothing. */
export function resolveReference(ref: Reference, scope: ReferenceScope): JsonValue {
  const root = scope(ref.root);
  if (root === null) return null;
  if (root === undefined) throw new UnresolvedReferenceError(ref.raw, 'points at no block of this workflow.');
  let value: JsonValue | undefined = root;
  for (const key of ref.path) {
    value = isObject(value) && Object.hasOwn(value, key) ? value[key] : undefined;
    if (value === undefined) throw new UnresolvedReferenceError(ref.raw, `has no value: "${key}" is not in the block's output.`);
  }
  return value;
}

/**
 * Fills a field's references. A field that is exactly one reference keeps that value as it is (an
 * object stays an object); otherwise values are written into the text (objects as JSON).
 */
export function resolveValue(text: string, scope: ReferenceScope): JsonValue {
  const refs = findReferences(text);
  const only = refs[0];
  if (refs.length === 1 && only !== undefined && only.raw === text.trim()) return resolveReference(only, scope);
  return resolveText(text, scope, refs);
}

export function resolveText(text: string, scope: ReferenceScope, refs: Reference[] = findReferences(text)): string {
  if (refs.length === 0) return text;
  let out = '';
  let at = 0;
  for (const ref of refs) {
    out += text.slice(at, ref.index) + asText(resolveReference(ref, scope));
    at = ref.index + ref.raw.length;
  }
  return out + text.slice(at);
}

/** How a value reads inside text: strings as they are, nothing (a branch not taken) as empty, the rest as JSON. */
export function asText(value: JsonValue): string {
  return typeof value === 'string' ? value : value === null ? '' : JSON.stringify(value);
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
