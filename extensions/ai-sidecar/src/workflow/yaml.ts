/**
 * Import and export: Sim's YAML 1.0 workflow format (`version: '1.0'`, `blocks:` by id, each with
 * `type`, `name`, `inputs`, `connections`) and this app's own JSON. Import takes what this app runs
 * and reports the rest: blocks of other types are listed by name and left out (the workflow still
 * opens), every `model` is mapped to a provider, and secrets never come in: `apiKey` fields and any
 * value holding a `{{VAR}}` are dropped and listed.
 */
import YAML from 'yaml';
import { workflowSchema } from '../protocol/contract.js';
import { WorkflowError } from './errors.js';
import { WorkflowGraph } from './graph.js';
import type { ConditionBranch, Connection, ImportReport, JsonObject, JsonSchemaFormat, Workflow, WorkflowBlock } from './model.js';
import { providerForModel } from './model-map.js';
import { validateWorkflow } from './validate.js';

export const JSON_FORMAT_TAG = 'sim-ai-desktop.workflow';
const ENV_PLACEHOLDER = /\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}/;
const SECRET_FIELDS = new Set(['apiKey', 'api_key', 'azureApiKey', 'token', 'password', 'secret']);

type Raw = Record<string, unknown>;

export function importWorkflow(text: string, format: 'auto' | 'yaml' | 'json' = 'auto'): { workflow: Workflow; report: ImportReport } {
  const detected = format === 'auto' ? (/^\s*[{[]/.test(text) ? 'json' : 'yaml') : format;
  let doc: unknown;
  try {
    doc = detected === 'json' ? JSON.parse(text) : YAML.parse(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new WorkflowError('validation', `The file is not valid ${detected.toUpperCase()}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (isRecord(doc) && doc.format === JSON_FORMAT_TAG) return importOwnJson(doc);
  return importSim(doc, detected);
}

export function exportWorkflow(workflow: Workflow, format: 'yaml' | 'json'): string {
  if (format === 'json') {
    const { createdAt: _c, updatedAt: _u, ...rest } = workflow;
    void _c;
    void _u;
    return `${JSON.stringify({ format: JSON_FORMAT_TAG, version: 1, workflow: rest }, null, 2)}\n`;
  }
  return YAML.stringify(toSim(workflow), { lineWidth: 0 }).replace(/^version: "1.0"/m, "version: '1.0'");
}

// ---- This app's JSON ------------------------------------------------------------------------------

function importOwnJson(doc: Raw): { workflow: Workflow; report: ImportReport } {
  const workflow: Workflow = { ...checked(doc.workflow), id: '' };
  return {
    workflow,
    report: {
      format: 'json',
      taken: workflow.blocks.map((b) => ({ id: b.id, name: b.name, type: b.type })),
      notTaken: [],
      models: [],
      ignored: [],
      problems: validateWorkflow(workflow),
    },
  };
}

/** The contract's own schema decides what a workflow may hold (lengths, ranges, id shapes). */
function checked(candidate: unknown): Workflow {
  const parsed = workflowSchema().safeParse(candidate);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = describePath(candidate, issue?.path ?? []);
  throw new WorkflowError('validation', `The workflow cannot be imported: ${where}${issue?.message ?? 'it has an unexpected shape'}.`);
}

/** `blocks.3.inputs.temperature` → `block "Writer", inputs.temperature: `. */
function describePath(candidate: unknown, path: readonly PropertyKey[]): string {
  if (path[0] === 'blocks' && typeof path[1] === 'number' && isRecord(candidate) && Array.isArray(candidate.blocks)) {
    const block = candidate.blocks[path[1]] as { name?: unknown } | undefined;
    return `block "${String(block?.name ?? path[1])}", ${path.slice(2).map(String).join('.')}: `;
  }
  return path.length === 0 ? '' : `${path.map(String).join('.')}: `;
}

// ---- Sim YAML 1.0 in -------------------------------------------------------------------------------

interface ImportState {
  readonly taken: ImportReport['taken'];
  readonly notTaken: ImportReport['notTaken'];
  readonly models: ImportReport['models'];
  readonly ignored: ImportReport['ignored'];
  readonly ids: Map<string, string>;
}

function importSim(doc: unknown, format: 'yaml' | 'json'): { workflow: Workflow; report: ImportReport } {
  if (!isRecord(doc) || !isRecord(doc.blocks)) throw new WorkflowError('validation', 'This is not a Sim workflow: it has no "blocks:" section.');
  if (doc.version !== undefined && String(doc.version) !== '1.0') {
    throw new WorkflowError('validation', `This workflow file is version ${String(doc.version)}; only Sim's YAML version '1.0' can be imported.`);
  }
  const state: ImportState = { taken: [], notTaken: [], models: [], ignored: [], ids: new Map() };
  const rawBlocks = Object.entries(doc.blocks).filter((entry): entry is [string, Raw] => isRecord(entry[1]));
  for (const [rawId] of rawBlocks) state.ids.set(rawId, safeId(rawId, state.ids));
  const containers = new Map(rawBlocks.filter(([, b]) => b.type === 'loop' || b.type === 'parallel').map(([id, b]) => [id, b]));
  const blocks: WorkflowBlock[] = [];
  for (const [rawId, raw] of rawBlocks) {
    const id = state.ids.get(rawId) as string;
    const name = typeof raw.name === 'string' && raw.name.trim() !== '' ? raw.name.trim() : rawId;
    const type = typeof raw.type === 'string' ? raw.type : 'unknown';
    const parent = typeof raw.parentId === 'string' ? containers.get(raw.parentId) : undefined;
    if (parent !== undefined) {
      state.notTaken.push({ id, name, type: `${type} (inside ${String(parent.type)} "${String(parent.name ?? raw.parentId)}")` });
      continue;
    }
    const block = convertBlock(id, name, type, isRecord(raw.inputs) ? raw.inputs : {}, raw, state);
    if (block === undefined) state.notTaken.push({ id, name, type });
    else {
      blocks.push(block);
      state.taken.push({ id, name, type: block.type });
    }
  }
  const kept = new Set(blocks.map((b) => b.id));
  const connections = rawBlocks.flatMap(([rawId, raw]) => convertConnections(state.ids.get(rawId) as string, raw.connections, state.ids)).filter((c) => kept.has(c.source) && kept.has(c.target));
  const name = isRecord(doc.metadata) && typeof doc.metadata.name === 'string' ? doc.metadata.name : typeof doc.name === 'string' ? doc.name : 'Imported workflow';
  const variables = isRecord(doc.variables) ? Object.fromEntries(Object.entries(doc.variables).filter(([, v]) => typeof v === 'string' && !ENV_PLACEHOLDER.test(v)) as [string, string][]) : {};
  const workflow = checked(layOut({ id: '', name, blocks, connections, variables }));
  return { workflow, report: { format, taken: state.taken, notTaken: state.notTaken, models: state.models, ignored: state.ignored, problems: validateWorkflow(workflow) } };
}

const TAKEN_TYPES = new Set(['starter', 'start', 'agent', 'router', 'condition', 'response']);

function convertBlock(id: string, name: string, type: string, rawInputs: Raw, raw: Raw, state: ImportState): WorkflowBlock | undefined {
  if (!TAKEN_TYPES.has(type)) return undefined;
  const inputs = withoutSecrets(id, rawInputs, state);
  const base = { id, name, ...(typeof raw.description === 'string' ? { description: raw.description } : {}), ...(isPosition(raw.position) ? { position: raw.position } : {}) };
  switch (type) {
    case 'starter':
    case 'start':
      return { ...base, type: 'starter', inputs: {} };
    case 'agent': {
      const choice = modelChoice(id, inputs, state);
      const responseFormat = toResponseFormat(id, inputs.responseFormat, state);
      return {
        ...base,
        type: 'agent',
        inputs: {
          ...(typeof inputs.systemPrompt === 'string' ? { systemPrompt: inputs.systemPrompt } : {}),
          userPrompt: typeof inputs.userPrompt === 'string' ? inputs.userPrompt : typeof inputs.context === 'string' ? inputs.context : '',
          ...choice,
          ...(typeof inputs.temperature === 'number' ? { temperature: inputs.temperature } : {}),
          ...(typeof inputs.maxTokens === 'number' ? { maxTokens: inputs.maxTokens } : {}),
          ...(responseFormat === undefined ? {} : { responseFormat }),
        },
      };
    }
    case 'router':
      return {
        ...base,
        type: 'router',
        inputs: { prompt: typeof inputs.prompt === 'string' ? inputs.prompt : '', ...modelChoice(id, inputs, state), ...(typeof inputs.temperature === 'number' ? { temperature: inputs.temperature } : {}) },
      };
    case 'condition':
      return { ...base, type: 'condition', inputs: { branches: toBranches(inputs.conditions) } };
    case 'response':
      return { ...base, type: 'response', inputs: { data: typeof inputs.data === 'string' ? inputs.data : inputs.data === undefined ? '' : JSON.stringify(inputs.data, null, 2) } };
    default:
      return undefined;
  }
}

/** Drops `apiKey`-like fields and any value carrying a `{{VAR}}`, and says so. */
function withoutSecrets(blockId: string, inputs: Raw, state: ImportState): Raw {
  const kept: Raw = {};
  for (const [field, value] of Object.entries(inputs)) {
    if (SECRET_FIELDS.has(field)) state.ignored.push({ blockId, field, reason: 'Keys come from the vault for the block\'s provider, never from a workflow file.' });
    else if (mentionsPlaceholder(value)) state.ignored.push({ blockId, field, reason: 'It holds an environment placeholder ({{…}}); this app does not fill those in.' });
    else kept[field] = value;
  }
  return kept;
}

function mentionsPlaceholder(value: unknown): boolean {
  if (typeof value === 'string') return ENV_PLACEHOLDER.test(value);
  if (Array.isArray(value)) return value.some(mentionsPlaceholder);
  return isRecord(value) && Object.values(value).some(mentionsPlaceholder);
}

function modelChoice(blockId: string, inputs: Raw, state: ImportState): { provider: string; model: string } {
  const model = typeof inputs.model === 'string' && inputs.model.trim() !== '' ? inputs.model.trim() : 'gpt-4o';
  // A file exported by this app names its provider; keep it.
  if (typeof inputs.provider === 'string' && /^[a-z0-9][a-z0-9._-]{0,63}$/.test(inputs.provider)) return { provider: inputs.provider, model };
  const choice = providerForModel(model);
  state.models.push({ blockId, model, provider: choice.provider });
  return choice;
}

function toResponseFormat(blockId: string, value: unknown, state: ImportState): JsonSchemaFormat | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      state.ignored.push({ blockId, field: 'responseFormat', reason: 'It is not valid JSON.' });
      return undefined;
    }
  }
  if (!isRecord(parsed)) return undefined;
  // Sim writes { name, schema, strict }; a bare JSON schema is accepted too.
  const schema = isRecord(parsed.schema) ? parsed.schema : parsed.type === 'object' ? parsed : undefined;
  if (schema === undefined) {
    state.ignored.push({ blockId, field: 'responseFormat', reason: 'It has no JSON schema.' });
    return undefined;
  }
  const name = typeof parsed.name === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(parsed.name) ? parsed.name : 'response';
  return { name, schema: schema as JsonObject };
}

/** `conditions: { if: expr, else-if: expr, else-if-2: expr, else: true }`, or Sim's stored list of `{ title, value }`. */
function toBranches(conditions: unknown): ConditionBranch[] {
  let entries: [string, unknown][] = [];
  if (isRecord(conditions)) entries = Object.entries(conditions);
  else if (typeof conditions === 'string' || Array.isArray(conditions)) {
    try {
      const list = (typeof conditions === 'string' ? JSON.parse(conditions) : conditions) as unknown[];
      let elseIfs = 0;
      entries = list.filter(isRecord).map((c) => {
        const title = String(c.title ?? 'if');
        const key = title === 'else if' || title === 'else-if' ? (elseIfs++ === 0 ? 'else-if' : `else-if-${elseIfs}`) : title;
        return [key, c.value ?? true];
      });
    } catch {
      entries = [];
    }
  }
  const branches: ConditionBranch[] = entries.map(([key, expression]) => {
    const kind = key === 'if' ? 'if' : key === 'else' ? 'else' : 'else-if';
    const id = key.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64) || 'if';
    return kind === 'else' ? { id, kind } : { id, kind, expression: String(expression ?? '') };
  });
  const order = { if: 0, 'else-if': 1, else: 2 } as const;
  return branches.length === 0 ? [{ id: 'if', kind: 'if', expression: 'true' }] : branches.sort((a, b) => order[a.kind] - order[b.kind]);
}

function convertConnections(source: string, raw: unknown, ids: Map<string, string>): Connection[] {
  if (!isRecord(raw)) return [];
  const targets = (value: unknown): string[] => (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string').map((t) => ids.get(t) ?? t);
  const out: Connection[] = [];
  for (const target of targets(raw.success)) out.push({ source, target, kind: 'success' });
  for (const target of targets(raw.error)) out.push({ source, target, kind: 'error' });
  if (isRecord(raw.conditions)) {
    for (const [branch, value] of Object.entries(raw.conditions)) {
      for (const target of targets(value)) out.push({ source, target, kind: 'branch', branch: branch.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64) });
    }
  }
  return out;
}

/** Sim's YAML has no positions: lay blocks out in columns by depth so the canvas opens readable. */
function layOut(workflow: Workflow): Workflow {
  if (workflow.blocks.every((b) => b.position !== undefined)) return workflow;
  const graph = new WorkflowGraph(workflow);
  const depth = new Map<string, number>();
  for (const id of graph.order) {
    const parents = graph.incoming.get(id)?.map((c) => depth.get(c.source) ?? 0) ?? [];
    depth.set(id, parents.length === 0 ? 0 : Math.max(...parents) + 1);
  }
  const rows = new Map<number, number>();
  const blocks = workflow.blocks.map((block) => {
    if (block.position !== undefined) return block;
    const column = depth.get(block.id) ?? 0;
    const row = rows.get(column) ?? 0;
    rows.set(column, row + 1);
    return { ...block, position: { x: column * 300, y: row * 160 } };
  });
  return { ...workflow, blocks };
}

function safeId(raw: string, taken: Map<string, string>): string {
  const base = raw.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 60) || 'block';
  const used = new Set(taken.values());
  let id = base;
  for (let n = 2; used.has(id); n += 1) id = `${base}-${n}`;
  return id;
}

// ---- Sim YAML 1.0 out ------------------------------------------------------------------------------

function toSim(workflow: Workflow): Raw {
  const blocks: Raw = {};
  for (const block of workflow.blocks) {
    const outgoing = workflow.connections.filter((c) => c.source === block.id);
    blocks[block.id] = {
      type: block.type,
      name: block.name,
      ...(block.description === undefined ? {} : { description: block.description }),
      inputs: simInputs(block),
      connections: simConnections(outgoing),
      ...(block.position === undefined ? {} : { position: block.position }),
    };
  }
  return {
    version: '1.0',
    metadata: { name: workflow.name, ...(workflow.description === undefined ? {} : { description: workflow.description }) },
    ...(Object.keys(workflow.variables).length === 0 ? {} : { variables: workflow.variables }),
    blocks,
  };
}

function simInputs(block: WorkflowBlock): Raw {
  switch (block.type) {
    case 'starter':
      return { startWorkflow: 'manual' };
    case 'agent': {
      const { responseFormat, ...rest } = block.inputs;
      return { ...rest, ...(responseFormat === undefined ? {} : { responseFormat: { name: responseFormat.name, schema: responseFormat.schema, strict: true } }) };
    }
    case 'condition':
      return { conditions: Object.fromEntries(block.inputs.branches.map((b) => [b.id, b.kind === 'else' ? true : (b.expression ?? '')])) };
    case 'router':
      return { ...block.inputs };
    case 'response':
      return { dataMode: 'json', data: block.inputs.data };
  }
}

function simConnections(outgoing: Connection[]): Raw {
  const one = (targets: string[]): string | string[] | undefined => (targets.length === 0 ? undefined : targets.length === 1 ? targets[0] : targets);
  const success = one(outgoing.filter((c) => c.kind === 'success').map((c) => c.target));
  const error = one(outgoing.filter((c) => c.kind === 'error').map((c) => c.target));
  const branches = outgoing.filter((c) => c.kind === 'branch');
  const conditions: Raw = {};
  for (const c of branches) {
    const key = c.branch ?? '';
    const existing = conditions[key];
    conditions[key] = existing === undefined ? c.target : [...(Array.isArray(existing) ? existing : [existing]), c.target];
  }
  return {
    ...(success === undefined ? {} : { success }),
    ...(error === undefined ? {} : { error }),
    ...(branches.length === 0 ? {} : { conditions }),
  };
}

function isRecord(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPosition(value: unknown): value is { x: number; y: number } {
  return isRecord(value) && typeof value.x === 'number' && typeof value.y === 'number';
}
