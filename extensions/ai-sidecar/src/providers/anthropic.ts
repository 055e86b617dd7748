/**
 * Anthropic over the official `@anthropic-ai/sdk`, loaded on first use. The system prompt goes to
 * Anthropic's `system` field; `max_tokens` is required there, so it gets a default.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type { MessageCreateParamsBase, RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import { AIError } from '../core/errors.js';
import { lazyModule } from '../core/lazy-module.js';
import { keyStatus, requireKey, type KeySource } from '../core/key-source.js';
import { ResponseBuilder } from '../core/response-builder.js';
import type { AIProvider, AIRequest, AIResponse, CallOptions, FinishReason, ModelInfo, ProviderStatus, StreamPart } from '../core/types.js';
import { ClientCache, DEFAULT_CONNECT_TIMEOUT_MS, type HttpProviderConfig } from './http-config.js';
import { httpFailureToAIError } from './http-errors.js';
import { mapStream, type Emit } from './map-stream.js';

/** Anthropic requires `max_tokens`; this is used when the block does not set one. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;

export interface AnthropicConfig extends HttpProviderConfig {
  /** Default `anthropic`. */
  readonly providerName?: string;
  /** Default the SDK's (`https://api.anthropic.com`). */
  readonly baseURL?: string;
}

type AnthropicModule = typeof import('@anthropic-ai/sdk');
const sdk = lazyModule<AnthropicModule>(() => import('@anthropic-ai/sdk'));

export class AnthropicProvider implements AIProvider {
  readonly kind = 'anthropic';
  readonly providerName: string;
  private readonly clients = new ClientCache<Anthropic>();

  constructor(
    private readonly config: AnthropicConfig,
    private readonly keys: KeySource,
  ) {
    this.providerName = config.providerName ?? 'anthropic';
  }

  async chatCompletion(request: AIRequest, options: CallOptions = {}): Promise<AIResponse> {
    const builder = new ResponseBuilder(this.providerName, request.model);
    try {
      const client = await this.client();
      const message = await client.messages.create({ ...toParams(request), stream: false }, { signal: options.signal ?? null });
      for (const block of message.content) if (block.type === 'text') builder.add({ type: 'text-delta', text: block.text });
      builder.add({ type: 'usage', usage: { inputTokens: message.usage.input_tokens, outputTokens: message.usage.output_tokens } });
      builder.add({ type: 'finish', finishReason: toFinishReason(message.stop_reason) });
      return builder.build();
    } catch (error) {
      throw this.toAIError(error, options.signal);
    }
  }

  streamCompletion(request: AIRequest, options: CallOptions = {}): AsyncIterable<StreamPart> {
    const { signal } = options;
    const state: StreamState = { inputTokens: 0, outputTokens: 0, finishReason: 'stop' };
    return mapStream<RawMessageStreamEvent>({
      open: async () => (await this.client()).messages.create({ ...toParams(request), stream: true }, { signal: signal ?? null }),
      map: (event, emit) => eventParts(event, state, emit),
      // `message_stop` emits the finish; without it the guard reports an incomplete stream.
      end: () => undefined,
    }, { provider: this.providerName, signal, toAIError: (error) => this.toAIError(error) });
  }

  async listModels(options: CallOptions = {}): Promise<ModelInfo[]> {
    try {
      const client = await this.client();
      const models: ModelInfo[] = [];
      for await (const model of client.models.list({}, { signal: options.signal ?? null })) {
        models.push({ id: model.id, name: model.display_name });
      }
      return models;
    } catch (error) {
      throw this.toAIError(error, options.signal);
    }
  }

  status(): Promise<ProviderStatus> {
    return keyStatus(this.keys, this.providerName);
  }

  private async client(): Promise<Anthropic> {
    const { Anthropic: AnthropicClass } = await sdk.load();
    const apiKey = await requireKey(this.keys, this.providerName);
    return this.clients.get(apiKey, () =>
      new AnthropicClass({
        apiKey,
        maxRetries: 0,
        timeout: this.config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        ...(this.config.baseURL === undefined ? {} : { baseURL: this.config.baseURL }),
        ...(this.config.fetch === undefined ? {} : { fetch: this.config.fetch }),
      }),
    );
  }

  private toAIError(error: unknown, signal?: AbortSignal): AIError {
    if (signal?.aborted) return new AIError('cancelled', 'Stopped by the user.', { provider: this.providerName });
    return mapAnthropicError(error, this.providerName, sdk.current);
  }
}

interface StreamState {
  inputTokens: number;
  outputTokens: number;
  finishReason: FinishReason;
}

/** One stream event to our parts. `message_stop` is the final event; without it the guard reports incomplete. */
function eventParts(event: RawMessageStreamEvent, state: StreamState, emit: Emit): void {
  switch (event.type) {
    case 'message_start':
      state.inputTokens = event.message.usage.input_tokens;
      state.outputTokens = event.message.usage.output_tokens;
      return;
    case 'content_block_delta':
      if (event.delta.type === 'text_delta' && event.delta.text !== '') emit({ type: 'text-delta', text: event.delta.text });
      return;
    case 'message_delta':
      state.outputTokens = event.usage.output_tokens;
      if (event.usage.input_tokens !== null) state.inputTokens = event.usage.input_tokens;
      state.finishReason = toFinishReason(event.delta.stop_reason);
      emit({ type: 'usage', usage: { inputTokens: state.inputTokens, outputTokens: state.outputTokens } });
      return;
    case 'message_stop':
      emit({ type: 'finish', finishReason: state.finishReason });
      return;
    default:
      return;
  }
}

function toParams(request: AIRequest): MessageCreateParamsBase {
  const system = request.messages.filter((m) => m.role === 'system').map((m) => m.content);
  const format = request.responseFormat;
  if (format?.type === 'json') system.push('Answer with one valid JSON value and nothing else.');
  return {
    model: request.model,
    max_tokens: request.maxTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
    messages: request.messages
      .filter((m) => m.role !== 'system')
      .map((m) => ({ role: m.role === 'assistant' ? 'assistant' : 'user', content: m.content })),
    ...(system.length === 0 ? {} : { system: system.join('\n\n') }),
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(request.topP === undefined ? {} : { top_p: request.topP }),
    ...(request.stop === undefined ? {} : { stop_sequences: [...request.stop] }),
    ...(format?.type === 'json_schema' ? { output_config: { format: { type: 'json_schema', schema: { ...format.schema } } } } : {}),
  };
}

function toFinishReason(reason: string | null | undefined): FinishReason {
  return reason === 'max_tokens' || reason === 'model_context_window_exceeded' ? 'length' : 'stop';
}

function mapAnthropicError(error: unknown, provider: string, mod: AnthropicModule | undefined): AIError {
  if (error instanceof AIError) return error;
  if (mod !== undefined) {
    if (error instanceof mod.APIConnectionTimeoutError) {
      return new AIError('timeout', `${provider} did not answer in time.`, { provider, cause: error });
    }
    if (error instanceof mod.APIConnectionError) {
      return new AIError('network', `Could not reach ${provider}: ${error.message}`, { provider, cause: error });
    }
    if (error instanceof mod.APIError) {
      return httpFailureToAIError({
        provider,
        // An `event: error` inside a 200 stream has no status of its own: treat it as a server failure.
        status: error.status ?? (error.type === 'overloaded_error' ? 529 : 500),
        message: error.apiMessage ?? error.message,
        headers: error.headers,
        vendorCodes: [error.type],
        cause: error,
      });
    }
  }
  return new AIError('network', `${provider}: ${error instanceof Error ? error.message : String(error)}`, { provider, cause: error });
}
