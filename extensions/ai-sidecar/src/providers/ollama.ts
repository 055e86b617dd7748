/**
 * Ollama over the official `ollama` client (its fetch-only browser build: no fs, smaller). Besides
 * the provider contract it manages the local Ollama: detect, installed and loaded models, pull with
 * progress, delete. The context size is always sent explicitly, and a prompt Ollama cut to fit it is
 * reported instead of silently answered.
 */
import type { ChatRequest, ChatResponse, Ollama } from 'ollama/browser';
import { AIError } from '../core/errors.js';
import { lazyModule } from '../core/lazy-module.js';
import { collectStream } from '../core/response-builder.js';
import type { AIProvider, AIRequest, AIResponse, CallOptions, ModelInfo, ProviderStatus, StreamPart } from '../core/types.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, type HttpProviderConfig } from './http-config.js';
import { apiFetch, findAIError } from './api-fetch.js';
import { httpFailureToAIError } from './http-errors.js';
import { probeOllama, type OllamaProbe } from './ollama-probe.js';
import { mapStream, type Emit } from './map-stream.js';

export const OLLAMA_DEFAULT_HOST = 'http://127.0.0.1:11434';
export const OLLAMA_DEFAULT_CONTEXT = 4096;

export interface OllamaConfig extends HttpProviderConfig {
  /** Default `ollama`. */
  readonly providerName?: string;
  /** Default `http://127.0.0.1:11434`. */
  readonly host?: string;
  /** `num_ctx` sent when the request sets none. Default 4096 (Ollama's own default is smaller). */
  readonly contextSize?: number;
  /** The user's keep-alive (e.g. `10m`, `-1`). Default: not sent, so Ollama's own setting applies. */
  readonly keepAlive?: string | number;
  /** How long detection waits for `/api/version` before calling the port "not answering". Default 500 ms. */
  readonly detectTimeoutMs?: number;
}

export interface PullProgress {
  readonly status: string;
  readonly digest?: string;
  readonly total?: number;
  readonly completed?: number;
}

export interface LoadedModel {
  readonly id: string;
  readonly sizeBytes: number;
  readonly vramBytes: number;
  readonly expiresAt: string;
}

const sdk = lazyModule(() => import('ollama/browser'));

export class OllamaProvider implements AIProvider {
  readonly kind = 'ollama';
  readonly providerName: string;
  readonly idleTimeoutMs: number | undefined;
  private readonly host: string;

  constructor(private readonly config: OllamaConfig = {}) {
    this.providerName = config.providerName ?? 'ollama';
    this.idleTimeoutMs = config.idleTimeoutMs;
    this.host = config.host ?? OLLAMA_DEFAULT_HOST;
  }

  chatCompletion(request: AIRequest, options: CallOptions = {}): Promise<AIResponse> {
    return collectStream(this.providerName, request.model, this.streamCompletion(request, options));
  }

  streamCompletion(request: AIRequest, options: CallOptions = {}): AsyncIterable<StreamPart> {
    const { signal } = options;
    const numCtx = request.contextSize ?? this.config.contextSize ?? OLLAMA_DEFAULT_CONTEXT;
    return mapStream<ChatResponse>({
      open: async () => {
        await this.ensureOllama(signal);
        return (await this.client(signal)).chat({ ...this.chatBody(request, numCtx), stream: true });
      },
      map: (part, emit) => {
        if (part.message.content !== '') emit({ type: 'text-delta', text: part.message.content });
        if (part.done) finalParts(part, request, numCtx, emit);
      },
      // The `done: true` message emits the finish; without it the guard reports an incomplete stream.
      end: () => undefined,
    }, { provider: this.providerName, signal, toAIError: (error) => this.toAIError(error) });
  }

  async listModels(options: CallOptions = {}): Promise<ModelInfo[]> {
    await this.ensureOllama(options.signal);
    const client = await this.client(options.signal);
    const { models } = await client.list().catch((error: unknown) => Promise.reject(this.toAIError(error)));
    return models.map((model) => ({ id: model.name, name: model.name, sizeBytes: model.size, family: model.details.family }));
  }

  /**
   * Well under a second in every case: Ollama answers `/api/version` at once when it runs; nothing
   * listening, another program on the port, and a port that never answers are each told apart.
   */
  async status(options: CallOptions = {}): Promise<ProviderStatus> {
    const probe = await this.probe(options.signal);
    if (probe.state === 'ollama') return { state: 'ready', detail: `Ollama ${probe.version}` };
    return { state: probe.state === 'nothing_listening' ? 'not_running' : 'error', detail: probe.advice };
  }

  private probe(signal: AbortSignal | undefined): Promise<OllamaProbe> {
    return probeOllama(this.host, { timeoutMs: this.config.detectTimeoutMs ?? 500, signal, fetch: this.config.fetch ?? fetch });
  }

  /**
   * Before a chat or a listing: fail at once, with advice that fits, when what is at the address is
   * not a working Ollama (instead of a 15 s connect timeout or a misread answer). A positive answer
   * is trusted for a few seconds so back-to-back runs do not pay for it.
   */
  private async ensureOllama(signal: AbortSignal | undefined): Promise<void> {
    if (this.verifiedUntil > Date.now()) return;
    const probe = await this.probe(signal);
    if (signal?.aborted) return;
    if (probe.state === 'ollama') {
      this.verifiedUntil = Date.now() + 5_000;
      return;
    }
    const code = probe.state === 'something_else' ? 'wrong_endpoint' : 'provider_unavailable';
    throw new AIError(code, probe.advice, { provider: this.providerName });
  }

  private verifiedUntil = 0;

  /** Models Ollama holds in memory right now (`/api/ps`). */
  async loadedModels(options: CallOptions = {}): Promise<LoadedModel[]> {
    const client = await this.client(options.signal);
    const { models } = await client.ps().catch((error: unknown) => Promise.reject(this.toAIError(error)));
    return models.map((m) => ({ id: m.name, sizeBytes: m.size, vramBytes: m.size_vram, expiresAt: new Date(m.expires_at).toISOString() }));
  }

  /** Pulls a model, yielding Ollama's progress; an abort stops the download. */
  async *pull(model: string, options: CallOptions = {}): AsyncGenerator<PullProgress> {
    const client = await this.client(options.signal);
    try {
      for await (const progress of await client.pull({ model, stream: true })) {
        yield {
          status: progress.status,
          ...(progress.digest ? { digest: progress.digest } : {}),
          ...(typeof progress.total === 'number' ? { total: progress.total } : {}),
          ...(typeof progress.completed === 'number' ? { completed: progress.completed } : {}),
        };
      }
    } catch (error) {
      throw options.signal?.aborted ? new AIError('cancelled', `Pull of ${model} cancelled.`) : this.toAIError(error);
    }
  }

  async deleteModel(model: string, options: CallOptions = {}): Promise<void> {
    const client = await this.client(options.signal);
    await client.delete({ model }).catch((error: unknown) => Promise.reject(this.toAIError(error)));
  }

  private chatBody(request: AIRequest, numCtx: number): Omit<ChatRequest, 'stream'> {
    const format = request.responseFormat;
    return {
      model: request.model,
      messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
      options: {
        num_ctx: numCtx,
        ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
        ...(request.topP === undefined ? {} : { top_p: request.topP }),
        ...(request.maxTokens === undefined ? {} : { num_predict: request.maxTokens }),
        ...(request.stop === undefined ? {} : { stop: [...request.stop] }),
      },
      ...(format?.type === 'json' ? { format: 'json' } : {}),
      ...(format?.type === 'json_schema' ? { format: { ...format.schema } } : {}),
      ...(this.config.keepAlive === undefined ? {} : { keep_alive: this.config.keepAlive }),
    };
  }

  /** A client whose every request honours `signal` and a connect timeout (the client has neither). */
  private async client(signal: AbortSignal | undefined): Promise<Ollama> {
    const { Ollama: OllamaClass } = await sdk.load();
    const baseFetch = this.config.fetch ?? fetch;
    const connectTimeoutMs = this.config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    // Every non-OK answer becomes our error here: the client would print while reading it, drop
    // Retry-After, and turn an object `error` into "[object Object]".
    const checkedFetch = apiFetch(baseFetch, {
      provider: this.providerName,
      baseURL: this.host,
      endpointHint: "Ollama's address is its host and port alone, for example http://127.0.0.1:11434.",
      allErrors: true,
      flattenStreamErrors: true,
    });
    const boundFetch: typeof fetch = async (input, init) => {
      const connect = new AbortController();
      const timer = setTimeout(() => connect.abort(new AIError('timeout', `Ollama did not answer within ${connectTimeoutMs} ms.`)), connectTimeoutMs);
      const signals = [connect.signal, init?.signal, signal].filter((s): s is AbortSignal => s instanceof AbortSignal);
      try {
        return await checkedFetch(input, { ...init, signal: AbortSignal.any(signals) });
      } finally {
        clearTimeout(timer);
      }
    };
    return new OllamaClass({ host: this.host, fetch: boundFetch });
  }

  private toAIError(error: unknown): AIError {
    const provider = this.providerName;
    const ours = findAIError(error);
    if (ours !== undefined) return ours;
    if (error instanceof Error && error.name === 'ResponseError' && 'status_code' in error) {
      // The client does not export its ResponseError class; its name and status_code are stable.
      const status = typeof error.status_code === 'number' ? error.status_code : 500;
      return httpFailureToAIError({ provider, status, message: error.message, cause: error });
    }
    const message = error instanceof Error ? error.message : String(error);
    if (/did not receive done/i.test(message)) {
      return new AIError('incomplete_stream', `${provider} ended the stream without its final "done" message.`, { provider, cause: error });
    }
    if (error instanceof Error && error.cause instanceof AIError) return error.cause;
    const detail = `${message} ${String((error as { cause?: unknown }).cause ?? '')}`;
    if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH/i.test(detail)) {
      return new AIError('provider_unavailable', `Ollama is not reachable at ${this.host}: ${message}. Is "ollama serve" running?`, { provider, cause: error });
    }
    // A connection dropped after it was made (undici says "terminated"); mid-stream it means incomplete.
    if (/terminated|fetch failed|ECONNRESET|socket|other side closed/i.test(detail)) {
      return new AIError('network', `Lost the connection to Ollama at ${this.host}: ${message}`, { provider, cause: error });
    }
    // The client throws a plain Error for an `{"error": ...}` line inside a 200 stream.
    return new AIError('provider_unavailable', `${provider}: ${message}`, { provider, cause: error });
  }
}

/** The final `done: true` message: usage, a truncation warning when due, then the finish. */
function finalParts(part: ChatResponse, request: AIRequest, numCtx: number, emit: Emit): void {
  emit({ type: 'usage', usage: { inputTokens: part.prompt_eval_count ?? 0, outputTokens: part.eval_count ?? 0 } });
  const warning = truncationWarning(request, part.prompt_eval_count ?? 0, numCtx);
  if (warning !== undefined) emit({ type: 'warning', warning });
  emit({ type: 'finish', finishReason: part.done_reason === 'length' ? 'length' : 'stop' });
}

/**
 * Ollama silently drops the start of a prompt longer than `num_ctx`. We cannot tokenise here, so we
 * use a floor of the token count (4 characters a token is generous for English, and most other text
 * has more tokens per character): if even that floor exceeds the context and Ollama evaluated fewer
 * tokens, the prompt was cut.
 */
export function truncationWarning(request: AIRequest, promptEvalCount: number, numCtx: number) {
  const chars = request.messages.reduce((sum, m) => sum + m.content.length, 0);
  const floorTokens = Math.ceil(chars / 4);
  if (floorTokens <= numCtx || promptEvalCount >= floorTokens) return undefined;
  return {
    code: 'prompt_truncated' as const,
    message: `Ollama evaluated ${promptEvalCount} prompt tokens of at least ${floorTokens} sent: the prompt was cut to the context size (${numCtx}). Raise the context size or shorten the messages.`,
  };
}
