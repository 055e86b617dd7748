/**
 * OpenAI and every OpenAI-compatible endpoint, over the official `openai` SDK. The SDK is loaded on
 * first use. Retries belong to the AIManager, so the SDK's own are off.
 */
import type OpenAI from 'openai';
import type { ChatCompletionChunk, ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions';
import { AIError } from '../core/errors.js';
import { lazyModule } from '../core/lazy-module.js';
import { keyStatus, requireKey, type KeySource } from '../core/key-source.js';
import { ResponseBuilder } from '../core/response-builder.js';
import type { AIProvider, AIRequest, AIResponse, CallOptions, FinishReason, ModelInfo, ProviderStatus, StreamPart } from '../core/types.js';
import { doneDetectingFetch, type DoneDetectingFetch } from './done-detector.js';
import { ClientCache, DEFAULT_CONNECT_TIMEOUT_MS, type HttpProviderConfig } from './http-config.js';
import { apiFetch, findAIError } from './api-fetch.js';
import { connectionFailure, httpFailureToAIError, notAnAPIAnswer } from './http-errors.js';
import { sdkLogging } from './sdk-logging.js';
import { mapStream } from './map-stream.js';

export interface OpenAICompatibleConfig extends HttpProviderConfig {
  /** Id the app addresses this endpoint by, e.g. `openai`, `groq`, `lmstudio`. */
  readonly providerName: string;
  readonly baseURL: string;
  /** Extra headers sent with every request (e.g. OpenRouter's `HTTP-Referer`). Default none. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Whether requests need a key from the key source. Default true. */
  readonly keyRequired?: boolean;
  /** Default `max_tokens`. */
  readonly maxTokensField?: 'max_tokens' | 'max_completion_tokens';
  /** Default true. When false, a `json_schema` request falls back to plain JSON mode. */
  readonly supportsJsonSchema?: boolean;
}

type OpenAIModule = typeof import('openai');
const sdk = lazyModule<OpenAIModule>(() => import('openai'));

export class OpenAICompatibleProvider implements AIProvider {
  readonly kind = 'openai-compatible';
  readonly providerName: string;
  readonly idleTimeoutMs: number | undefined;
  private readonly detector: DoneDetectingFetch;
  private readonly clients = new ClientCache<OpenAI>();

  constructor(
    private readonly config: OpenAICompatibleConfig,
    private readonly keys: KeySource,
  ) {
    this.providerName = config.providerName;
    this.idleTimeoutMs = config.idleTimeoutMs;
    this.detector = doneDetectingFetch(apiFetch(config.fetch, {
      provider: config.providerName,
      baseURL: config.baseURL,
      endpointHint: 'OpenAI-compatible base URLs usually end in /v1 (for example http://localhost:1234/v1).',
    }));
  }

  async chatCompletion(request: AIRequest, options: CallOptions = {}): Promise<AIResponse> {
    const { OpenAI } = await sdk.load();
    const builder = new ResponseBuilder(this.providerName, request.model);
    try {
      const client = await this.client(OpenAI);
      const completion = await client.chat.completions.create(
        { ...this.body(request), stream: false },
        { signal: options.signal ?? null },
      );
      if (!Array.isArray(completion.choices)) throw notAnAPIAnswer(this.providerName, this.config.baseURL);
      const choice = completion.choices[0];
      builder.add({ type: 'text-delta', text: choice?.message.content ?? '' });
      if (completion.usage) builder.add({ type: 'usage', usage: toUsage(completion.usage) });
      builder.add({ type: 'finish', finishReason: toFinishReason(choice?.finish_reason) ?? 'stop' });
      return builder.build();
    } catch (error) {
      throw this.toAIError(error, options.signal);
    }
  }

  streamCompletion(request: AIRequest, options: CallOptions = {}): AsyncIterable<StreamPart> {
    const { signal } = options;
    let tracking: ReturnType<DoneDetectingFetch['track']> | undefined;
    let finishReason: FinishReason | undefined;
    return mapStream<ChatCompletionChunk>({
      open: async () => {
        const client = await this.client((await sdk.load()).OpenAI);
        tracking = this.detector.track();
        const { headers } = tracking;
        const params: ChatCompletionCreateParamsStreaming = { ...this.body(request), stream: true, stream_options: { include_usage: true } };
        return client.chat.completions.create(params, { signal: signal ?? null, headers });
      },
      map: (chunk, emit) => {
        if (typeof chunk !== 'object' || chunk === null) throw notAnAPIAnswer(this.providerName, this.config.baseURL);
        const choice = chunk.choices?.[0];
        const text = choice?.delta?.content;
        if (text) emit({ type: 'text-delta', text });
        if (chunk.usage) emit({ type: 'usage', usage: toUsage(chunk.usage) });
        finishReason = toFinishReason(choice?.finish_reason) ?? finishReason;
      },
      // Only a stream that ended with `data: [DONE]` is finished; the guard reports any other end.
      end: (emit) => {
        if (tracking?.tracker.sawDone() === true) emit({ type: 'finish', finishReason: finishReason ?? 'stop' });
      },
      close: () => tracking?.release(),
    }, { provider: this.providerName, signal, toAIError: (error) => this.toAIError(error) });
  }

  async listModels(options: CallOptions = {}): Promise<ModelInfo[]> {
    const { OpenAI } = await sdk.load();
    try {
      const client = await this.client(OpenAI);
      const models: ModelInfo[] = [];
      for await (const model of client.models.list({ signal: options.signal ?? null })) {
        models.push({ id: model.id, name: model.id });
      }
      return models.sort((a, b) => a.id.localeCompare(b.id));
    } catch (error) {
      throw this.toAIError(error, options.signal);
    }
  }

  status(): Promise<ProviderStatus> {
    return keyStatus(this.keys, this.providerName, this.keyRequired);
  }

  private get keyRequired(): boolean {
    return this.config.keyRequired ?? true;
  }

  private async client(OpenAIClass: OpenAIModule['OpenAI']): Promise<OpenAI> {
    const key = this.keyRequired ? await requireKey(this.keys, this.providerName) : await this.keys.getKey(this.providerName);
    return this.clients.get(key, () =>
      new OpenAIClass({
        apiKey: key ?? 'not-needed',
        baseURL: this.config.baseURL,
        defaultHeaders: { ...this.config.headers },
        maxRetries: 0,
        timeout: this.config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        fetch: this.detector.fetch,
        ...sdkLogging(this.providerName),
      }),
    );
  }

  private body(request: AIRequest): Omit<ChatCompletionCreateParamsStreaming, 'stream'> {
    const maxTokensField = this.config.maxTokensField ?? 'max_tokens';
    return {
      model: request.model,
      messages: request.messages.map((message) => ({ role: message.role, content: message.content })),
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      ...(request.topP === undefined ? {} : { top_p: request.topP }),
      ...(request.stop === undefined ? {} : { stop: [...request.stop] }),
      ...(request.maxTokens === undefined ? {} : { [maxTokensField]: request.maxTokens }),
      ...this.responseFormat(request),
    };
  }

  private responseFormat(request: AIRequest): Pick<ChatCompletionCreateParamsStreaming, 'response_format'> {
    const format = request.responseFormat;
    if (format === undefined || format.type === 'text') return {};
    if (format.type === 'json' || this.config.supportsJsonSchema === false) {
      return { response_format: { type: 'json_object' } };
    }
    return {
      response_format: { type: 'json_schema', json_schema: { name: format.name, schema: { ...format.schema }, strict: true } },
    };
  }

  private toAIError(error: unknown, signal?: AbortSignal): AIError {
    if (signal?.aborted) return new AIError('cancelled', 'Stopped by the user.', { provider: this.providerName });
    return findAIError(error) ?? mapOpenAIError(error, this.providerName, this.config.baseURL, sdk.current);
  }
}

function mapOpenAIError(error: unknown, provider: string, baseURL: string, mod: OpenAIModule | undefined): AIError {
  if (error instanceof AIError) return error;
  if (mod !== undefined) {
    if (error instanceof mod.APIConnectionTimeoutError) {
      return new AIError('timeout', `${provider} did not answer in time.`, { provider, cause: error });
    }
    if (error instanceof mod.APIConnectionError) {
      return connectionFailure(provider, baseURL, error);
    }
    if (error instanceof mod.APIError) {
      const body = error.error as { message?: unknown } | undefined;
      return httpFailureToAIError({
        provider,
        status: error.status ?? 500,
        message: typeof body?.message === 'string' ? body.message : error.message,
        headers: error.headers,
        vendorCodes: [error.code, error.type],
        cause: error,
      });
    }
  }
  return new AIError('network', `${provider}: ${error instanceof Error ? error.message : String(error)}`, { provider, cause: error });
}

function toUsage(usage: { prompt_tokens: number; completion_tokens: number }): { inputTokens: number; outputTokens: number } {
  return { inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens };
}

function toFinishReason(reason: string | null | undefined): FinishReason | undefined {
  if (reason === null || reason === undefined) return undefined;
  return reason === 'length' ? 'length' : 'stop';
}
