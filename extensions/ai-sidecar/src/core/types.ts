/**
 * The provider contract: the provider-neutral types every part of the sidecar speaks.
 * Vendor wire shapes never leave their adapter in `../providers/`; everything else sees only these.
 */
import type { AIErrorData } from './errors.js';

export type Role = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  readonly role: Role;
  readonly content: string;
}

/** Plain JSON output, or output constrained to a JSON schema where the provider supports it. */
export type ResponseFormat =
  | { readonly type: 'text' }
  | { readonly type: 'json' }
  | { readonly type: 'json_schema'; readonly name: string; readonly schema: Readonly<Record<string, unknown>> };

/** One AI block run: what to ask, of which model, with which settings. */
export interface AIRequest {
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly temperature?: number | undefined;
  /** Upper bound on generated tokens. Default: the provider's own (Anthropic: 4096, local: 512). */
  readonly maxTokens?: number | undefined;
  readonly topP?: number | undefined;
  readonly stop?: readonly string[] | undefined;
  /** Default: `{ type: 'text' }`. */
  readonly responseFormat?: ResponseFormat | undefined;
  /** Context window to request from local runtimes (Ollama `num_ctx`, llama.cpp context size). */
  readonly contextSize?: number | undefined;
  /**
   * Names the conversation a request continues (e.g. its id). Providers that keep state between
   * turns (the in-process local model keeps its evaluated tokens) reuse it for requests with the same
   * key; every other provider ignores it. Never sent anywhere.
   */
  readonly sessionKey?: string | undefined;
}

/**
 * Why a run ended. `cancelled` is a user's Stop (not a failure; partial text kept); `incomplete` is a
 * stream that ended without the provider's final event; `error` is any other failure.
 */
export type FinishReason = 'stop' | 'length' | 'cancelled' | 'error' | 'incomplete';

export interface Usage {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export interface Timing {
  /** From the start of the run to the first text delta; undefined when no text arrived. */
  readonly timeToFirstTokenMs: number | undefined;
  readonly totalMs: number;
  /** Output tokens per second of generation (after the first token). 0 when unknown. */
  readonly tokensPerSecond: number;
}

export interface AIResponse {
  readonly provider: string;
  readonly model: string;
  readonly text: string;
  readonly finishReason: FinishReason;
  readonly usage: Usage;
  readonly timing: Timing;
  /** Set when finishReason is `error` or `incomplete`. */
  readonly error?: AIErrorData;
  /** Non-fatal notes from the provider (e.g. Ollama truncated the prompt). */
  readonly warnings?: readonly ProviderWarning[];
}

export interface ProviderWarning {
  readonly code: 'prompt_truncated' | 'context_reduced';
  readonly message: string;
}

/** One part of a streamed completion. A well-formed stream ends with exactly one `finish` or `error`. */
export type StreamPart =
  | { readonly type: 'text-delta'; readonly text: string }
  | { readonly type: 'usage'; readonly usage: Usage }
  | { readonly type: 'warning'; readonly warning: ProviderWarning }
  | { readonly type: 'finish'; readonly finishReason: FinishReason }
  | { readonly type: 'error'; readonly error: AIErrorData };

export interface CallOptions {
  /** Aborting ends the call promptly: streams finish with reason `cancelled`. */
  readonly signal?: AbortSignal;
}

export interface ModelInfo {
  readonly id: string;
  readonly name?: string;
  readonly sizeBytes?: number;
  readonly family?: string;
  readonly contextLength?: number;
}

export type ProviderState = 'ready' | 'needs_key' | 'locked' | 'not_running' | 'error';

export interface ProviderStatus {
  readonly state: ProviderState;
  readonly detail?: string;
}

export type ProviderKind = 'openai-compatible' | 'anthropic' | 'ollama' | 'local';

/** The one interface every provider adapter implements. */
export interface AIProvider {
  /** Stable id the UI and the manager address this provider by, e.g. `openai`, `groq`, `local`. */
  readonly providerName: string;
  readonly kind: ProviderKind;
  /** Longest silence between stream parts before the run fails with `timeout`. Default: the manager's (60 s). */
  readonly idleTimeoutMs?: number | undefined;
  /** One complete response; rejects with an `AIError`. */
  chatCompletion(request: AIRequest, options?: CallOptions): Promise<AIResponse>;
  /**
   * Streamed response. Never throws for provider failures: they arrive as a final `error` part. An
   * abort ends the stream with `finish: cancelled`; a stream missing the vendor's final event ends
   * with an `incomplete_stream` error part.
   */
  streamCompletion(request: AIRequest, options?: CallOptions): AsyncIterable<StreamPart>;
  listModels(options?: CallOptions): Promise<ModelInfo[]>;
  /** Cheap check (no tokens spent): is the provider usable right now? */
  status(options?: CallOptions): Promise<ProviderStatus>;
  /** Releases sockets, models and native memory. The provider is unusable afterwards. */
  dispose?(): Promise<void>;
}
