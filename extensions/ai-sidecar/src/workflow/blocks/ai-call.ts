/** Shared by the agent and the router: call the model, turn its ending into an outcome or a failure. */
import type { AIRequest, AIResponse } from '../../core/types.js';
import { BlockFailure, type AIUsage, type BlockContext } from './types.js';

export async function callModel(provider: string, request: AIRequest, context: BlockContext): Promise<{ response: AIResponse; usage: AIUsage }> {
  let response: AIResponse;
  try {
    response = await context.ai(provider, request, { signal: context.signal, onText: context.onText, ...(context.onRetry ? { onRetry: context.onRetry } : {}) });
  } catch (error) {
    // Only an unknown provider throws; every other failure arrives in the response.
    throw new BlockFailure('provider_unavailable', error instanceof Error ? error.message : String(error));
  }
  const usage: AIUsage = {
    provider: response.provider,
    model: response.model,
    inputTokens: response.usage.inputTokens,
    outputTokens: response.usage.outputTokens,
    timeToFirstTokenMs: response.timing.timeToFirstTokenMs ?? null,
  };
  if (response.finishReason === 'cancelled') throw new BlockFailure('cancelled', 'Stopped.', usage);
  if (response.finishReason === 'error' || response.finishReason === 'incomplete') {
    throw new BlockFailure(response.error?.code ?? 'unknown', response.error?.message ?? `${provider} ended the answer early.`, usage);
  }
  return { response, usage };
}

/** The provider and model a block uses this run: its own, or the run's override. */
export function modelFor(inputs: { readonly provider: string; readonly model: string }, context: BlockContext): { provider: string; model: string } {
  return context.override ?? { provider: inputs.provider, model: inputs.model };
}
