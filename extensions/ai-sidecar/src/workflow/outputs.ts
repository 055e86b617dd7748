/**
 * What each block type gives later blocks to reference: the fields of its output. An agent with a
 * response format adds its schema's top-level properties. Pure; the UI may import it.
 */
import type { WorkflowBlock } from './model.js';

export interface OutputField {
  readonly field: string;
  readonly description: string;
}

const AI_FIELDS: OutputField[] = [
  { field: 'model', description: 'the model that answered' },
  { field: 'provider', description: 'the provider that answered' },
  { field: 'tokens', description: 'tokens used: { input, output }' },
  { field: 'error', description: 'what went wrong (only on its error path)' },
];

export function outputFields(block: WorkflowBlock): OutputField[] {
  switch (block.type) {
    case 'starter':
      return [{ field: 'input', description: 'the text the workflow was run with' }];
    case 'agent':
      return [{ field: 'content', description: 'the answer as text' }, ...AI_FIELDS, ...schemaFields(block)];
    case 'condition':
      return [
        { field: 'conditionResult', description: 'true when an if/else-if branch matched' },
        { field: 'selectedOption', description: 'the branch taken (if, else-if, else)' },
        { field: 'selectedPath', description: 'the id of the block the branch leads to' },
      ];
    case 'router':
      return [
        { field: 'content', description: 'the router model\'s answer' },
        { field: 'selectedPath', description: 'the id of the block chosen' },
        ...AI_FIELDS,
      ];
    case 'response':
      return [{ field: 'content', description: 'what the workflow returns' }];
  }
}

/** Names an agent's output keeps for itself; a schema property of the same name is reachable only via `content`. */
export const RESERVED_AGENT_FIELDS: ReadonlySet<string> = new Set(['content', 'model', 'provider', 'tokens', 'error']);

function schemaFields(block: WorkflowBlock & { type: 'agent' }): OutputField[] {
  const properties = block.inputs.responseFormat?.schema.properties;
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) return [];
  return Object.keys(properties)
    .filter((field) => !RESERVED_AGENT_FIELDS.has(field))
    .map((field) => ({ field, description: `field "${field}" of the structured answer` }));
}
