/**
 * The Router block: a model reads the request and the descriptions of the router's targets and
 * names one; only that target runs. The answer is constrained to a JSON object naming one target
 * id (a grammar on local models), and plain text naming a target is accepted too.
 */
import type { AIRequest } from '../../core/types.js';
import type { JsonObject, RouterBlock, WorkflowBlock } from '../model.js';
import { resolveText } from '../references.js';
import { callModel, modelFor } from './ai-call.js';
import { resolveOrFail } from './resolve.js';
import { BlockFailure, type BlockContext, type BlockHandler } from './types.js';

export const routerHandler: BlockHandler<RouterBlock> = {
  resolve: (block, context) => {
    const { provider, model } = modelFor(block.inputs, context);
    const targets = targetsOf(block, context).map((t) => ({ id: t.id, name: t.name, description: describe(t) }));
    return { prompt: resolveOrFail(() => resolveText(block.inputs.prompt, context.scope)), provider, model, targets };
  },
  run: async (block, input, context) => {
    const targets = targetsOf(block, context);
    if (targets.length === 0) throw new BlockFailure('no_targets', `Router "${block.name}" is connected to no blocks to choose from.`);
    const request: AIRequest = {
      model: String(input.model),
      messages: [
        { role: 'system', content: 'You route a request to exactly one destination. Answer with the id of the best destination.' },
        { role: 'user', content: `Request:\n${String(input.prompt)}\n\nDestinations:\n${targets.map((t) => `- id "${t.id}": ${describe(t)}`).join('\n')}` },
      ],
      temperature: block.inputs.temperature ?? 0,
      maxTokens: 64,
      responseFormat: {
        type: 'json_schema',
        name: 'route',
        schema: { type: 'object', properties: { target: { type: 'string', enum: targets.map((t) => t.id) } }, required: ['target'], additionalProperties: false },
      },
    };
    const { response, usage } = await callModel(String(input.provider), request, context);
    const chosen = pick(response.text, targets);
    if (chosen === undefined) throw new BlockFailure('no_route', `Router "${block.name}" answered "${response.text.slice(0, 200)}", which names none of its destinations.`, usage);
    const output: JsonObject = { content: response.text, selectedPath: chosen.id, model: response.model, provider: response.provider, tokens: { input: usage.inputTokens, output: usage.outputTokens } };
    return { output, ai: usage };
  },
};

function targetsOf(block: RouterBlock, { graph }: BlockContext): WorkflowBlock[] {
  const ids = new Set((graph.outgoing.get(block.id) ?? []).filter((c) => c.kind === 'success').map((c) => c.target));
  return [...ids].map((id) => graph.block(id));
}

function describe(block: WorkflowBlock): string {
  if (block.description !== undefined && block.description.trim() !== '') return block.description;
  if (block.type === 'agent' && block.inputs.systemPrompt !== undefined) return `${block.name}: ${block.inputs.systemPrompt.slice(0, 300)}`;
  return block.name;
}

function pick(answer: string, targets: WorkflowBlock[]): WorkflowBlock | undefined {
  try {
    const parsed = JSON.parse(answer) as { target?: unknown };
    const byId = targets.find((t) => t.id === parsed.target);
    if (byId !== undefined) return byId;
  } catch {
    // Not JSON: look for a target's id or name in the text below.
  }
  const text = answer.toLowerCase();
  return targets.find((t) => text.includes(t.id.toLowerCase())) ?? targets.find((t) => text.includes(t.name.toLowerCase()));
}
