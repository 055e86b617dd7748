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
import { apiFetch, findAIError } from './api-fetch.js';
import { connectionFailure, httpFailureToAIError, notAnAPIAnswer } from './http-errors.js';
import { sdkLogging } from './sdk-logging.js';
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
  readonly idleTimeoutMs: number | undefined;
  private readonly clients = new ClientCache<Anthropic>();

  constructor(
    private readonly config: AnthropicConfig,
    private readonly keys: KeySource,
  ) {
    this.providerName = config.providerName ?? 'anthropic';
    this.idleTimeoutMs = config.idleTimeoutMs;
  }

  async chatCompletion(request: AIRequest, options: CallOptions = {}): Promise<AIResponse> {
    const builder = new ResponseBuilder(this.providerName, request.model);
    try {
      const client = await this.client();
      const message = await client.messages.create({ ...toParams(request), stream: false }, { signal: options.signal ?? null });
      if (!Array.isArray(message.content)) throw notAnAPIAnswer(this.providerName, this.baseURL);
      for (const block of message.content) if (block.type === 'text') builder.add({ type: 'text-delta', text: block.text });
      builder.add({ type: 'usage', usage: { inputTokens: tokenCount(message.usage?.input_tokens, 0), outputTokens: tokenCount(message.usage?.output_tokens, 0) } });
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
        fetch: apiFetch(this.config.fetch, {
          provider: this.providerName,
          baseURL: this.baseURL,
          endpointHint: 'The Anthropic base URL is the host alone, without /v1 (for example https://api.anthropic.com).',
        }),
        ...sdkLogging(this.providerName),
      }),
    );
  }

  private toAIError(error: unknown, signal?: AbortSignal): AIError {
    if (signal?.aborted) return new AIError('cancelled', 'Stopped by the user.', { provider: this.providerName });
    return findAIError(error) ?? mapAnthropicError(error, this.providerName, this.baseURL, sdk.current);
  }

  private get baseURL(): string {
    return this.config.baseURL ?? 'https://api.anthropic.com';
  }
}

interface StreamState {
  inputTokens: number;
  outputTokens: number;
  finishReason: FinishReason;
}

/** One stream event to our parts. `message_stop` is the final event; without it the guard reports incomplete. */
function eventParts(event: RawMessageStreamEvent, state: StreamState, emit: Emit): void {
  switch (event?.type) {
    case 'message_start':
      // The usage may be partial on the wire (and compatible servers omit fields): count what is there.
      state.inputTokens = tokenCount(event.message.usage?.input_tokens, state.inputTokens);
      state.outputTokens = tokenCount(event.message.usage?.output_tokens, state.outputTokens);
      // Known now: a run stopped before `message_delta` still reports its input.
      emit({ type: 'usage', usage: { inputTokens: state.inputTokens, outputTokens: state.outputTokens } });
      return;
    case 'content_block_delta':
      if (event.delta.type === 'text_delta' && event.delta.text !== '') emit({ type: 'text-delta', text: event.delta.text });
      return;
    case 'message_delta':
      // `message_delta` usage often has no `input_tokens` (the vendor's own example): keep the
      // count `message_start` gave rather than overwrite it with undefined.
      state.outputTokens = tokenCount(event.usage?.output_tokens, state.outputTokens);
      state.inputTokens = tokenCount(event.usage?.input_tokens, state.inputTokens);
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

/** A token count from the wire, or `fallback` when it is missing, null or not a count. */
function tokenCount(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback;
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

function mapAnthropicError(error: unknown, provider: string, baseURL: string, mod: AnthropicModule | undefined): AIError {
  if (error instanceof AIError) return error;
  if (mod !== undefined) {
    if (error instanceof mod.APIConnectionTimeoutError) {
      return new AIError('timeout', `${provider} did not answer in time.`, { provider, cause: error });
    }
    if (error instanceof mod.APIConnectionError) {
      return connectionFailure(provider, baseURL, error);
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
