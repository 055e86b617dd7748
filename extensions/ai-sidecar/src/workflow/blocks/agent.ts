/**
 * The Agent block: system and user prompt (references filled in) to one provider and model. With a
 * response format the answer is constrained to its JSON schema (cloud providers natively, local
 * models through a llama.cpp grammar) and each top-level field becomes `<agent.field>`.
 */
import type { AIRequest, ChatMessage } from '../../core/types.js';
import type { AgentBlock, JsonObject, JsonValue } from '../model.js';
import { RESERVED_AGENT_FIELDS } from '../outputs.js';
import { resolveText } from '../references.js';
import { callModel, modelFor } from './ai-call.js';
import { resolveOrFail } from './resolve.js';
import { BlockFailure, type BlockHandler } from './types.js';

export const agentHandler: BlockHandler<AgentBlock> = {
  resolve: (block, context) => {
    const { inputs } = block;
    const { provider, model } = modelFor(inputs, context);
    return resolveOrFail(() => ({
      ...(inputs.systemPrompt === undefined ? {} : { systemPrompt: resolveText(inputs.systemPrompt, context.scope) }),
      userPrompt: resolveText(inputs.userPrompt, context.scope),
      provider,
      model,
      ...(inputs.temperature === undefined ? {} : { temperature: inputs.temperature }),
      ...(inputs.maxTokens === undefined ? {} : { maxTokens: inputs.maxTokens }),
      ...(inputs.responseFormat === undefined ? {} : { responseFormat: { name: inputs.responseFormat.name, schema: inputs.responseFormat.schema } }),
    }));
  },
  run: async (block, input, context) => {
    const provider = String(input.provider);
    const { response, usage } = await callModel(provider, toRequest(block, input), context);
    const fields = block.inputs.responseFormat === undefined ? {} : structuredFields(block, response.text, response.finishReason);
    return {
      output: { ...fields, content: response.text, model: response.model, provider: response.provider, tokens: { input: usage.inputTokens, output: usage.outputTokens } },
      ai: usage,
    };
  },
};

function toRequest(block: AgentBlock, input: JsonObject): AIRequest {
  const { inputs } = block;
  const messages: ChatMessage[] = [
    ...(typeof input.systemPrompt === 'string' && input.systemPrompt !== '' ? [{ role: 'system' as const, content: input.systemPrompt }] : []),
    { role: 'user', content: String(input.userPrompt) },
  ];
  return {
    model: String(input.model),
    messages,
    temperature: inputs.temperature,
    maxTokens: inputs.maxTokens,
    ...(inputs.responseFormat === undefined ? {} : { responseFormat: { type: 'json_schema' as const, name: inputs.responseFormat.name, schema: inputs.responseFormat.schema } }),
  };
}

/** The structured answer's fields; an answer that is not a JSON object fails the block. */
function structuredFields(block: AgentBlock, text: string, finishReason: string): JsonObject {
  let parsed: JsonValue;
  try {
    parsed = JSON.parse(text) as JsonValue;
  } catch {
    const why = finishReason === 'length' ? ' It was cut off by the token limit: raise Max tokens.' : '';
    throw new BlockFailure('invalid_output', `Agent "${block.name}" was asked for JSON but its answer is not valid JSON.${why}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BlockFailure('invalid_output', `Agent "${block.name}" was asked for a JSON object but answered ${Array.isArray(parsed) ? 'a list' : 'a single value'}.`);
  }
  return Object.fromEntries(Object.entries(parsed).filter(([key]) => !RESERVED_AGENT_FIELDS.has(key)));
}
