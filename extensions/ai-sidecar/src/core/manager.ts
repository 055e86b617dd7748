/**
 * AIManager: the one entry point for running AI blocks. It registers providers, dispatches each
 * request, keeps every running execution under an id with its AbortController, retries failures
 * that happen before the first token, and reports every run's outcome once.
 */
import { randomUUID } from 'node:crypto';
import { AIError, toAIError, type AIErrorData } from './errors.js';
import { ResponseBuilder } from './response-builder.js';
import { DEFAULT_RETRY_POLICY, retryDelay, retryReason, sleep, type RetryNotice, type RetryPolicy } from './retry.js';

export type { RetryNotice } from './retry.js';
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
  /**
   * A remote stream that goes silent this long between parts, once it has started, fails with
   * `timeout`, keeping the text so far. Default 60 s. `idleTimeoutsMs` sets it per provider name;
   * a provider may also declare its own (`AIProvider.idleTimeoutMs`). Local models are exempt.
   */
  readonly idleTimeoutMs?: number;
  readonly idleTimeoutsMs?: Readonly<Record<string, number>>;
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
  /** Called before each wait for a retry, so the window can say why nothing has arrived yet. */
  readonly onRetry?: (retry: RetryNotice) => void;
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
  private readonly running = new Map<string, { controller: AbortController; result: Promise<AIResponse> }>();
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
    const startedAt = Date.now();
    const result = this.run(provider, request, controller.signal, options.onPart ?? noop, options)
      .then(({ sent, response }) => {
        // Recorded before `result` settles, so whoever awaits a run (or `dispose`) finds it in History.
        try {
          this.options.onExecutionEnd?.({ id, startedAt, request: sent, response, conversationId: options.conversationId });
        } catch {
          // The recorder reports its own failures; a run's outcome must not depend on it.
        }
        return response;
      })
      .finally(() => {
        unlink();
        this.running.delete(id);
      });
    this.running.set(id, { controller, result });
    return { id, result };
  }

  /** Stops a running execution; it ends with finish reason `cancelled`. False for an unknown id. */
  cancel(executionId: string): boolean {
    const entry = this.running.get(executionId);
    if (entry === undefined) return false;
    entry.controller.abort(new AIError('cancelled', 'Stopped by the user.'));
    return true;
  }

  runningExecutions(): string[] {
    return [...this.running.keys()];
  }

  /** Asks every provider at once; each reports its own status, so one that is down blocks none. */
  listAllModels(signal?: AbortSignal): Promise<ProviderModels[]> {
    return Promise.all([...this.providers.values()].map((provider) => this.describe(provider, signal)));
  }

  /**
   * Cancels everything, waits (up to `graceMs`) for those runs to end and be recorded, so a run cut
   * short by closing the window is in History as cancelled, then releases providers in reverse order.
   */
  async dispose(graceMs = 300): Promise<void> {
    const ending = [...this.running.values()].map(({ controller, result }) => {
      controller.abort(new AIError('cancelled', 'Shutting down.'));
      return result;
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(ending), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const provider of [...this.providers.values()].reverse()) await provider.dispose?.();
    this.providers.clear();
  }

  private async run(
    provider: AIProvider,
    request: AIRequest,
    signal: AbortSignal,
    onPart: (part: StreamPart) => void,
    { prepare, onRetry }: Pick<ExecuteOptions, 'prepare' | 'onRetry'>,
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
        // A listener's fault must not change the run's course.
        onRetry?.({ attempt: retry + 2, delayMs: Math.round(delay), message: retryReason(failure) });
      } catch {
        // Nothing to do: the retry goes ahead regardless.
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
      for await (const part of provider.streamCompletion(request, { signal: controller.signal })) {
        if (watchdog.fired) {
          // The provider saw our abort: the run ends as a timeout, keeping the text so far.
          emit({ type: 'error', error: watchdog.error(builder.text.length) });
          return undefined;
        }
        watchdog.rearm();
        if (part.type === 'error' && !builder.hasText) return part.error;
        emit(part);
      }
      if (watchdog.fired) {
        emit({ type: 'error', error: watchdog.error(builder.text.length) });
      }
      return undefined;
    } catch (error) {
      // A provider broke its contract by throwing; report it rather than crash the run.
      return toAIError(error, 'unknown', provider.providerName).toData();
    } finally {
      watchdog.disarm();
      unlink();
    }
  }

  /**
   * Ends a remote stream that goes silent: before its first part after `firstByteTimeoutMs`, then
   * after `idleTimeoutMs` without a part. A part only stamps the time (this is on every token's
   * path); the one timer, when it comes due, sleeps again for whatever silence is left.
   */
  private startWatchdog(provider: AIProvider, controller: AbortController): Watchdog {
    const name = provider.providerName;
    const firstMs = this.options.firstByteTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    const idleMs = this.options.idleTimeoutsMs?.[name] ?? provider.idleTimeoutMs ?? this.options.idleTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    const state = { fired: false, started: false, lastPartAt: 0, timer: undefined as NodeJS.Timeout | undefined };
    const check = (): void => {
      const silentFor = state.started ? performance.now() - state.lastPartAt : Infinity;
      if (silentFor < idleMs) {
        state.timer = setTimeout(check, idleMs - silentFor);
        return;
      }
      state.fired = true;
      controller.abort(new AIError('timeout', `${name} went silent.`, { provider: name }));
    };
    if (provider.kind !== 'local') state.timer = setTimeout(check, firstMs);
    return {
      get fired() {
        return state.fired;
      },
      rearm: () => {
        state.lastPartAt = performance.now();
        if (state.started || state.timer === undefined) return;
        // First part: from now on only the idle limit applies.
        state.started = true;
        clearTimeout(state.timer);
        state.timer = setTimeout(check, idleMs);
      },
      disarm: () => clearTimeout(state.timer),
      error: (textLength) => {
        const message = !state.started
          ? `${name} sent nothing for ${seconds(firstMs)}.`
          : textLength > 0
            ? `${name} went silent for ${seconds(idleMs)} in the middle of the answer; the text so far is kept.`
            : `${name} went silent for ${seconds(idleMs)} before sending any text.`;
        return new AIError('timeout', message, { provider: name }).toData();
      },
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
  rearm(): void;
  disarm(): void;
  error(textLength: number): AIErrorData;
}

const DEFAULT_TIMEOUT_MS = 60_000;

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
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
