/**
 * AIManager: the one entry point for running AI blocks. It registers providers, dispatches each
 * request, keeps every running execution under an id with its AbortController, retries failures
 * that happen before the first token, and reports every run's outcome once.
 */
import { randomUUID } from 'node:crypto';
import { AIError, toAIError, type AIErrorData } from './errors.js';
import { ResponseBuilder } from './response-builder.js';
import { DEFAULT_RETRY_POLICY, retryDelay, sleep, type RetryPolicy } from './retry.js';
import type { AIProvider, AIRequest, AIResponse, ModelInfo, ProviderKind, ProviderStatus, StreamPart } from './types.js';

export interface ExecutionRecord {
  readonly id: string;
  /** Wall-clock start, ms since the epoch. */
  readonly startedAt: number;
  readonly request: AIRequest;
  readonly response: AIResponse;
  /** The conversation the run belonged to, when it was started by one (the ledger links them). */
  readonly conversationId?: string | undefined;
}

export interface AIManagerOptions {
  readonly retry?: Partial<RetryPolicy>;
  /**
   * A remote request that yields nothing for this long fails with `timeout`. Default 60 s (the SDKs'
   * own default is 10 minutes). Local models are exempt: loading a model may legitimately take longer.
   */
  readonly firstByteTimeoutMs?: number;
  /** How long `listAllModels` waits for any one provider. Default 3 s. */
  readonly listTimeoutMs?: number;
  /** Called once per finished run (completed, cancelled or failed); the executions log hooks in here. */
  readonly onExecutionEnd?: (record: ExecutionRecord) => void;
  readonly newId?: () => string;
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface ExecuteOptions {
  readonly signal?: AbortSignal;
  /** Receives every part as it arrives, in order; the last is one `finish` or one `error`. */
  readonly onPart?: (part: StreamPart) => void;
  /** Recorded with the run (see `ExecutionRecord.conversationId`). */
  readonly conversationId?: string;
  /** Called with the id before any part is emitted, so a caller can route parts by it. */
  readonly onStart?: (executionId: string) => void;
  /**
   * Completes the request inside the run, once the id exists and Stop already works: a conversation
   * fits its history to the model's context here, which may have to load the model. Its failure ends
   * the run as a provider's would; the ledger records the request it returns.
   */
  readonly prepare?: (request: AIRequest, signal: AbortSignal) => Promise<AIRequest>;
}

export interface Execution {
  readonly id: string;
  /** Always resolves; failures are in `finishReason` and `error`. */
  readonly result: Promise<AIResponse>;
}

export interface ProviderModels {
  readonly provider: string;
  readonly kind: ProviderKind;
  readonly status: ProviderStatus;
  readonly models: readonly ModelInfo[];
}

export class AIManager {
  private readonly providers = new Map<string, AIProvider>();
  private readonly running = new Map<string, AbortController>();
  private readonly policy: RetryPolicy;

  constructor(private readonly options: AIManagerOptions = {}) {
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  }

  register(provider: AIProvider): void {
    this.providers.set(provider.providerName, provider);
  }

  /** Removes a provider from dispatch; runs already going on it continue. */
  unregister(name: string): void {
    this.providers.delete(name);
  }

  provider(name: string): AIProvider {
    const provider = this.providers.get(name);
    if (provider === undefined) {
      throw new AIError('invalid_request', `Unknown provider "${name}". Known: ${[...this.providers.keys()].join(', ')}.`);
    }
    return provider;
  }

  providerNames(): string[] {
    return [...this.providers.keys()];
  }

  /** Starts a run. Throws at once only for an unknown provider; everything else ends up in `result`. */
  execute(providerName: string, request: AIRequest, options: ExecuteOptions = {}): Execution {
    const provider = this.provider(providerName);
    const id = this.options.newId?.() ?? randomUUID();
    // Before anything is registered: a caller that fails here leaves nothing running.
    options.onStart?.(id);
    const controller = new AbortController();
    const unlink = linkAbort(options.signal, controller);
    this.running.set(id, controller);
    const startedAt = Date.now();
    const outcome = this.run(provider, request, controller.signal, options.onPart ?? noop, options.prepare).finally(() => {
      unlink();
      this.running.delete(id);
    });
    void outcome.then(({ sent, response }) => this.options.onExecutionEnd?.({ id, startedAt, request: sent, response, conversationId: options.conversationId }));
    return { id, result: outcome.then(({ response }) => response) };
  }

  /** Stops a running execution; it ends with finish reason `cancelled`. False for an unknown id. */
  cancel(executionId: string): boolean {
    const controller = this.running.get(executionId);
    if (controller === undefined) return false;
    controller.abort(new AIError('cancelled', 'Stopped by the user.'));
    return true;
  }

  runningExecutions(): string[] {
    return [...this.running.keys()];
  }

  /** Asks every provider at once; each reports its own status, so one that is down blocks none. */
  listAllModels(signal?: AbortSignal): Promise<ProviderModels[]> {
    return Promise.all([...this.providers.values()].map((provider) => this.describe(provider, signal)));
  }

  /** Cancels everything and releases providers in reverse order of registration. */
  async dispose(): Promise<void> {
    for (const controller of this.running.values()) controller.abort(new AIError('cancelled', 'Shutting down.'));
    for (const provider of [...this.providers.values()].reverse()) await provider.dispose?.();
    this.providers.clear();
  }

  private async run(
    provider: AIProvider,
    request: AIRequest,
    signal: AbortSignal,
    onPart: (part: StreamPart) => void,
    prepare: ExecuteOptions['prepare'],
  ): Promise<{ sent: AIRequest; response: AIResponse }> {
    const builder = new ResponseBuilder(provider.providerName, request.model, this.options.now);
    const emit = (part: StreamPart): void => {
      builder.add(part);
      onPart(part);
    };
    let sent = request;
    if (prepare !== undefined) {
      let end: StreamPart | undefined;
      try {
        // Stop ends the run at once; a preparation that cannot be interrupted (a model load) finishes unseen.
        sent = await Promise.race([prepare(request, signal), aborted(signal)]);
      } catch (error) {
        end = { type: 'error', error: toAIError(error, 'unknown', provider.providerName).toData() };
      }
      // Stopped while preparing: nothing reaches the provider.
      if (signal.aborted) end = { type: 'finish', finishReason: 'cancelled' };
      if (end !== undefined) {
        emit(end);
        return { sent, response: builder.build() };
      }
    }
    for (let retry = 0; ; retry += 1) {
      const failure = await this.attempt(provider, sent, signal, builder, emit);
      if (failure === undefined) break;
      const delay = retryDelay(failure, retry, this.policy);
      if (delay === undefined) {
        emit({ type: 'error', error: failure });
        break;
      }
      try {
        await (this.options.sleep ?? sleep)(delay, signal);
      } catch {
        emit({ type: 'finish', finishReason: 'cancelled' });
        break;
      }
    }
    return { sent, response: builder.build() };
  }

  /**
   * One try at the provider. Returns the error when it failed before any text (a retry candidate);
   * otherwise every part, the final one included, has been emitted.
   */
  private async attempt(
    provider: AIProvider,
    request: AIRequest,
    signal: AbortSignal,
    builder: ResponseBuilder,
    emit: (part: StreamPart) => void,
  ): Promise<AIErrorData | undefined> {
    const controller = new AbortController();
    const unlink = linkAbort(signal, controller);
    const watchdog = this.startWatchdog(provider, controller);
    try {
      let first = true;
      for await (const part of provider.streamCompletion(request, { signal: controller.signal })) {
        if (first) {
          watchdog.disarm();
          first = false;
        }
        if (part.type === 'error' && !builder.hasText) return part.error;
        if (part.type === 'finish' && part.finishReason === 'cancelled' && watchdog.fired) {
          return watchdog.error();
        }
        emit(part);
      }
      return watchdog.fired ? watchdog.error() : undefined;
    } catch (error) {
      // A provider broke its contract by throwing; report it rather than crash the run.
      return toAIError(error, 'unknown', provider.providerName).toData();
    } finally {
      watchdog.disarm();
      unlink();
    }
  }

  private startWatchdog(provider: AIProvider, controller: AbortController): Watchdog {
    const timeoutMs = this.options.firstByteTimeoutMs ?? 60_000;
    const state = { fired: false, timer: undefined as NodeJS.Timeout | undefined };
    if (provider.kind !== 'local') {
      state.timer = setTimeout(() => {
        state.fired = true;
        controller.abort();
      }, timeoutMs);
    }
    return {
      get fired() {
        return state.fired;
      },
      disarm: () => clearTimeout(state.timer),
      error: () =>
        new AIError('timeout', `${provider.providerName} sent nothing for ${timeoutMs} ms.`, {
          provider: provider.providerName,
        }).toData(),
    };
  }

  private async describe(provider: AIProvider, signal: AbortSignal | undefined): Promise<ProviderModels> {
    const base = { provider: provider.providerName, kind: provider.kind };
    const timeout = AbortSignal.timeout(this.options.listTimeoutMs ?? 3_000);
    const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    try {
      const status = await provider.status({ signal: combined });
      if (status.state !== 'ready') return { ...base, status, models: [] };
      return { ...base, status, models: await provider.listModels({ signal: combined }) };
    } catch (error) {
      const detail = combined.aborted ? 'did not answer in time' : toAIError(error).message;
      return { ...base, status: { state: 'error', detail }, models: [] };
    }
  }
}

interface Watchdog {
  readonly fired: boolean;
  disarm(): void;
  error(): AIErrorData;
}

function linkAbort(source: AbortSignal | undefined, target: AbortController): () => void {
  if (source === undefined) return noop;
  if (source.aborted) {
    target.abort(source.reason);
    return noop;
  }
  const onAbort = (): void => target.abort(source.reason);
  source.addEventListener('abort', onAbort, { once: true });
  return () => source.removeEventListener('abort', onAbort);
}

function noop(): void {}

/** Rejects when the signal aborts (never resolves). */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
