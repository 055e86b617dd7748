/**
 * The in-process local model over `node-llama-cpp`: a GGUF file loaded lazily on first use, one model
 * at a time, with a thread count measured for this model on this machine. Requests run one at a time
 * (later ones wait their turn). Models without a chat template get plain completion.
 */
import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type * as LlamaCpp from 'node-llama-cpp';
import { AIError } from '../core/errors.js';
import { collectStream } from '../core/response-builder.js';
import type { AIProvider, AIRequest, AIResponse, CallOptions, FinishReason, ModelInfo, ProviderStatus, ProviderWarning, StreamPart } from '../core/types.js';
import { fitToMemory, fitsByWideMargin, type MemoryEstimate } from './local/memory-fit.js';
import { toChatHistory, toCompletionPrompt } from './local/prompt.js';
import { PushStream } from './local/push-stream.js';
import { RunQueue } from './local/run-queue.js';
import { ThreadCache, ThreadTuner, modelKey, threadCandidates } from './local/thread-tuning.js';
import { guardStream } from './stream-guard.js';

type LlamaModule = typeof LlamaCpp;

export interface LocalLlamaOptions {
  /** Folder in which bare model names (`foo.gguf`) are looked up. Default: none (paths only). */
  readonly modelsDir?: string;
  /** Fixed thread count. Default: measured per model and machine on real runs, cached, re-checked. */
  readonly threads?: number;
  /** JSON file caching measured thread counts. Default: memory only. */
  readonly threadCacheFile?: string;
  /** Context size when the request sets none. Default: 2048, or the model's trained size if smaller. */
  readonly contextSize?: number;
  /** Generated tokens when the request sets no `maxTokens`. Default 512. */
  readonly defaultMaxTokens?: number;
  /** Free memory in bytes, for the fit check before a load. Default `os.freemem()`. */
  readonly freeMemory?: () => number;
  /** Loads the llama.cpp binding. Default `import('node-llama-cpp')`. */
  readonly loadBinding?: () => Promise<LlamaModule>;
  /** Unload the model after this long without a request; null keeps it. Default 5 minutes. */
  readonly idleUnloadMs?: number | null;
  /** Load progress of a model file, from 0 to 1. */
  readonly onLoadProgress?: (model: string, progress: number) => void;
}

interface LoadedModel {
  /** Said once, on the first run after a load that had to shrink the context to fit memory. */
  pendingWarning?: ProviderWarning | undefined;
  readonly path: string;
  readonly model: LlamaCpp.LlamaModel;
  readonly hasChatTemplate: boolean;
  /** Chooses the thread count for each decode; the context is made for the most it may choose. */
  readonly tuner: ThreadTuner;
  readonly contextThreads: number | { ideal: number; min: number };
  /** The thread cache's key for this model file. */
  readonly key: string;
  context: LlamaCpp.LlamaContext;
}

/**
 * The one context sequence, kept between runs: llama.cpp keeps the tokens it has evaluated in it, and
 * node-llama-cpp reuses the prefix a new prompt shares with them. Kept for one conversation (`key`,
 * the request's `sessionKey`); a run for another conversation, or for none, starts it afresh.
 */
interface KeptSequence {
  key: string | undefined;
  readonly sequence: LlamaCpp.LlamaContextSequence;
}

/** What the last run fed llama.cpp: for tests and benchmarks of sequence reuse. */
export interface LocalEvaluation {
  /** Tokens evaluated (prompt tokens not already in the sequence, plus generated ones fed back). */
  readonly evaluatedTokens: number;
  /** True when the run continued its conversation's kept sequence. */
  readonly reused: boolean;
}

export class LocalLlamaProvider implements AIProvider {
  readonly providerName = 'local';
  readonly kind = 'local';
  private binding: Promise<LlamaModule> | undefined;
  private llama: Promise<LlamaCpp.Llama> | undefined;
  private loaded: LoadedModel | undefined;
  private readonly queue = new RunQueue();
  private readonly threadCache: ThreadCache;
  private disposed = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private idleUnloadMs: number | null;
  private kept: KeptSequence | undefined;
  private evaluation: LocalEvaluation | undefined;

  constructor(private readonly options: LocalLlamaOptions = {}) {
    this.threadCache = new ThreadCache(options.threadCacheFile);
    this.idleUnloadMs = options.idleUnloadMs === undefined ? 5 * 60_000 : options.idleUnloadMs;
  }

  /** The user's idle-unload setting; null keeps a loaded model until it is unloaded on demand. */
  setIdleUnload(ms: number | null): void {
    this.idleUnloadMs = ms;
    this.armIdleTimer();
  }

  /** The loaded model's file, if any. */
  get loadedModel(): string | undefined {
    return this.loaded?.path;
  }

  chatCompletion(request: AIRequest, options: CallOptions = {}): Promise<AIResponse> {
    return collectStream(this.providerName, request.model, this.streamCompletion(request, options));
  }

  streamCompletion(request: AIRequest, options: CallOptions = {}): AsyncIterable<StreamPart> {
    return guardStream(this.providerName, options.signal, () => this.generate(request, options.signal), (error) => toLocalError(error));
  }

  async listModels(): Promise<ModelInfo[]> {
    if (this.options.modelsDir === undefined) return [];
    const { readdir } = await import('node:fs/promises');
    const names = await readdir(this.options.modelsDir).catch(() => [] as string[]);
    const models = await Promise.all(
      names.filter((n) => n.toLowerCase().endsWith('.gguf')).map(async (name) => {
        const size = (await stat(path.join(this.options.modelsDir ?? '', name))).size;
        return { id: name, name: name.replace(/\.gguf$/i, ''), sizeBytes: size };
      }),
    );
    return models.sort((a, b) => a.id.localeCompare(b.id));
  }

  status(): Promise<ProviderStatus> {
    const loaded = this.loaded === undefined ? 'no model loaded' : `${path.basename(this.loaded.path)} loaded, ${this.loaded.tuner.threads} thread(s)`;
    return Promise.resolve({ state: 'ready', detail: loaded });
  }

  /** See `LocalEvaluation`. */
  get lastEvaluation(): LocalEvaluation | undefined {
    return this.evaluation;
  }

  /**
   * The context a request for `model` will run with, and the model's own tokenizer, so a
   * conversation can fit its history. Loads the model (in turn with runs) when it is not loaded.
   */
  async tokenCounter(model: string, contextSize?: number, signal?: AbortSignal): Promise<{ contextSize: number; estimated: false; count(text: string): number }> {
    const release = await this.queue.acquire(signal);
    clearTimeout(this.idleTimer);
    try {
      const loaded = await this.ensureLoaded(await this.resolveModel(model), contextSize);
      const count = (text: string): number => {
        try {
          return loaded.model.tokenize(text).length;
        } catch {
          // Unloaded since (idle timer, another model): an estimate is good enough to fit a history.
          return Math.ceil(text.length / 4);
        }
      };
      return { contextSize: loaded.context.contextSize, estimated: false, count };
    } finally {
      this.armIdleTimer();
      release();
    }
  }

  /** The thread count in use for the loaded model, if any (for benchmarks and the UI). */
  get loadedThreads(): number | undefined {
    return this.loaded?.tuner.threads;
  }

  /** How many thread measurements the loaded model has needed so far (for tests and benchmarks). */
  get threadMeasurements(): number | undefined {
    return this.loaded?.tuner.measurements;
  }

  private armIdleTimer(): void {
    clearTimeout(this.idleTimer);
    if (this.idleUnloadMs === null || this.loaded === undefined) return;
    // Through the queue, so a run that starts meanwhile keeps its model.
    this.idleTimer = setTimeout(() => {
      void this.queue.acquire().then((release) => this.unload().finally(release));
    }, this.idleUnloadMs);
    this.idleTimer.unref();
  }

  /**
   * Starts llama.cpp's backend ahead of the first run: loading the binding and its checks take about a
   * second here, which a run would otherwise wait for before reading its model.
   */
  async warmUp(): Promise<void> {
    if (this.disposed) return;
    await this.getLlama();
  }

  /** Frees the model (and its memory) now; the next request loads it again. */
  async unload(): Promise<void> {
    clearTimeout(this.idleTimer);
    const loaded = this.loaded;
    this.loaded = undefined;
    if (loaded === undefined) return;
    this.forgetSequence();
    await loaded.context.dispose();
    await loaded.model.dispose();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await this.unload();
    const llama = this.llama;
    this.llama = undefined;
    if (llama === undefined) return;
    // Seen once under a fully loaded test run: the backend teardown stalled after a failed load.
    // Disposal happens at shutdown, so it is bounded rather than allowed to hold the exit.
    const teardown = (await llama).dispose();
    await Promise.race([teardown, new Promise<void>((resolve) => setTimeout(resolve, 3_000).unref())]);
  }

  private async *generate(request: AIRequest, signal: AbortSignal | undefined): AsyncGenerator<StreamPart> {
    if (this.disposed) throw new AIError('provider_unavailable', 'The local model provider has been shut down.');
    const release = await this.queue.acquire(signal);
    clearTimeout(this.idleTimer);
    try {
      const modelPath = await this.resolveModel(request.model);
      const loaded = await this.ensureLoaded(modelPath, request.contextSize);
      if (loaded.pendingWarning !== undefined) {
        yield { type: 'warning', warning: loaded.pendingWarning };
        loaded.pendingWarning = undefined;
      }
      yield* this.run(loaded, request, signal);
    } finally {
      this.armIdleTimer();
      release();
    }
  }

  private async *run(loaded: LoadedModel, request: AIRequest, signal: AbortSignal | undefined): AsyncGenerator<StreamPart> {
    const llamaCpp = await this.loadBinding();
    const llama = await this.getLlama();
    const { sequence, reused } = await this.sequenceFor(loaded, request.sessionKey);
    const evaluatedBefore = sequence.tokenMeter.usedInputTokens;
    // The tuner sets the thread count per decode through the Llama's thread budget, which
    // node-llama-cpp applies to this (only) context before each batch.
    loaded.tuner.startRun();
    llama.maxThreads = loaded.tuner.threads;
    const parts = new PushStream<StreamPart>();
    let outputTokens = 0;
    const grammar = await this.grammarFor(request);
    const common = {
      ...(signal === undefined ? {} : { signal }),
      stopOnAbortSignal: true,
      maxTokens: request.maxTokens ?? this.options.defaultMaxTokens ?? 512,
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      ...(request.topP === undefined ? {} : { topP: request.topP }),
      ...(grammar === undefined ? {} : { grammar }),
      ...(request.stop === undefined ? {} : { customStopTriggers: [...request.stop] }),
      onTextChunk: (text: string) => parts.push({ type: 'text-delta', text }),
      onToken: (tokens: LlamaCpp.Token[]) => {
        outputTokens += tokens.length;
        llama.maxThreads = loaded.tuner.onToken(performance.now());
      },
    };
    const inputTokens = loaded.model.tokenize(toCompletionPrompt(request.messages)).length;
    // The kept sequence outlives the generator: it is detached after the run, or each run would leave a listener on it.
    const generator = loaded.hasChatTemplate ? new llamaCpp.LlamaChat({ contextSequence: sequence }) : new llamaCpp.LlamaCompletion({ contextSequence: sequence });
    const done =
      generator instanceof llamaCpp.LlamaChat
        ? generator.generateResponse(toChatHistory(request.messages), common).then((r) => r.metadata.stopReason)
        : generator.generateCompletionWithMeta(toCompletionPrompt(request.messages), common).then((r) => r.metadata.stopReason);
    done.then(
      (stopReason) => {
        this.evaluation = { evaluatedTokens: sequence.tokenMeter.usedInputTokens - evaluatedBefore, reused };
        parts.push({ type: 'usage', usage: { inputTokens, outputTokens } });
        parts.push({ type: 'finish', finishReason: toFinishReason(stopReason, signal) });
        parts.end();
      },
      (error: unknown) => parts.fail(error),
    );
    try {
      yield* parts;
    } finally {
      // Leaving early (the consumer broke off) must still stop the generation before the next run.
      // A run that failed may leave the sequence anywhere: the next one starts it afresh.
      const failed = await done.then(() => false, () => true);
      generator.dispose({ disposeSequence: false });
      if (failed) this.forgetSequence();
      const change = loaded.tuner.takeChange();
      if (change !== undefined) await this.threadCache.set(loaded.key, change);
    }
  }

  /** The kept sequence, continued for the same conversation, cleared for any other; a new one after a context change. */
  private async sequenceFor(loaded: LoadedModel, key: string | undefined): Promise<{ sequence: LlamaCpp.LlamaContextSequence; reused: boolean }> {
    const kept = this.kept;
    if (kept !== undefined && !kept.sequence.disposed && kept.sequence.context === loaded.context) {
      const reused = key !== undefined && kept.key === key;
      if (!reused) await kept.sequence.clearHistory();
      kept.key = key;
      return { sequence: kept.sequence, reused };
    }
    this.forgetSequence();
    const sequence = loaded.context.getSequence();
    this.kept = { key, sequence };
    return { sequence, reused: false };
  }

  private forgetSequence(): void {
    const kept = this.kept;
    this.kept = undefined;
    if (kept !== undefined && !kept.sequence.disposed) kept.sequence.dispose();
  }

  private async grammarFor(request: AIRequest): Promise<LlamaCpp.LlamaGrammar | undefined> {
    const format = request.responseFormat;
    if (format === undefined || format.type === 'text') return undefined;
    const llama = await this.getLlama();
    if (format.type === 'json') return llama.getGrammarFor('json');
    // The schema is user data validated as JSON; llama.cpp reports what it cannot express.
    return llama.createGrammarForJsonSchema(format.schema as Parameters<LlamaCpp.Llama['createGrammarForJsonSchema']>[0]);
  }

  private async resolveModel(model: string): Promise<string> {
    const bare = !model.includes('/') && !model.includes('\\');
    const candidate = bare && this.options.modelsDir !== undefined ? path.join(this.options.modelsDir, model) : path.resolve(model);
    const info = await stat(candidate).catch(() => undefined);
    if (info === undefined || !info.isFile()) {
      throw new AIError('model_not_found', `No model file at ${candidate}. Import a GGUF model under Providers → Local models.`, { provider: 'local' });
    }
    return candidate;
  }

  private async ensureLoaded(modelPath: string, requestedContext: number | undefined): Promise<LoadedModel> {
    const current = this.loaded;
    if (current !== undefined && current.path === modelPath) {
      if (requestedContext === undefined || current.context.contextSize === requestedContext) return current;
      this.forgetSequence();
      await current.context.dispose();
      current.context = await current.model.createContext({ contextSize: requestedContext, threads: current.contextThreads });
      return current;
    }
    await this.unload();
    const llama = await this.getLlama();
    // The file read is the floor of a first run. A doubtful fit is checked from the file's tensor
    // table before anything is loaded; a wide one is worked out after the load from the table
    // node-llama-cpp parsed for it (a second parse would take the main thread from its own), with the
    // memory that was free before. The thread-cache lookup runs beside the load.
    const free = (this.options.freeMemory ?? os.freemem)();
    const fileBytes = (await stat(modelPath)).size;
    const checked = fitsByWideMargin(fileBytes, free) ? undefined : await this.fitContext(await this.readInsights(llama, modelPath), requestedContext, free);
    const onProgress = this.options.onLoadProgress;
    const [loadedModel, tuning] = await Promise.allSettled([
      llama.loadModel({
        modelPath,
        gpuLayers: 0,
        // Read into memory rather than mapped: mapped loads are faster, but the file's pages stay
        // resident beside llama.cpp's repacked copy of the weights, twice the memory (README, Speed).
        useMmap: false,
        ...(onProgress === undefined ? {} : { onLoadProgress: (p: number) => onProgress(path.basename(modelPath), p) }),
      }),
      this.threadTuner(llama, modelPath),
    ]);
    if (loadedModel.status === 'rejected') throw loadedModel.reason;
    const model = loadedModel.value;
    let fit: { contextSize: number; wanted: number };
    try {
      if (tuning.status === 'rejected') throw tuning.reason;
      fit = checked ?? (await this.fitContext(model.fileInsights, requestedContext, free));
    } catch (error) {
      await model.dispose();
      throw error;
    }
    const { contextSize, wanted } = fit;
    const { tuner, key } = tuning.value;
    const hasChatTemplate = typeof model.fileInfo.metadata.tokenizer?.chat_template === 'string';
    const contextThreads = this.options.threads ?? { ideal: Math.max(...threadCandidates(llama.cpuMathCores)), min: 1 };
    const context = await model.createContext({ contextSize, threads: contextThreads });
    const pendingWarning: ProviderWarning | undefined =
      contextSize < wanted ? { code: 'context_reduced', message: `Free memory allows a ${contextSize}-token context, not the ${wanted} asked for: long conversations will be cut.` } : undefined;
    this.loaded = { path: modelPath, model, hasChatTemplate, tuner, contextThreads, key, context, pendingWarning };
    return this.loaded;
  }

  private async readInsights(llama: LlamaCpp.Llama, modelPath: string): Promise<LlamaCpp.GgufInsights> {
    const { readGgufFileInfo, GgufInsights } = await this.loadBinding();
    return GgufInsights.from(await readGgufFileInfo(modelPath, { readTensorInfo: true }), llama);
  }

  /** The context size that fits `free` bytes beside the weights; refuses in words when none does. */
  private async fitContext(insights: LlamaCpp.GgufInsights, requested: number | undefined, free: number): Promise<{ contextSize: number; wanted: number }> {
    const trained = insights.trainContextSize ?? 2048;
    const wanted = requested ?? Math.min(this.options.contextSize ?? 2048, trained);
    const estimate: MemoryEstimate = {
      modelBytes: insights.estimateModelResourceRequirements({ gpuLayers: 0, useMmap: false }).cpuRam,
      contextBytes: async (contextSize) => insights.estimateContextResourceRequirements({ contextSize, modelGpuLayers: 0 }).cpuRam,
    };
    const fit = await fitToMemory(estimate, wanted, free);
    if (!fit.fits) throw new AIError('insufficient_memory', fit.reason, { provider: 'local' });
    return { contextSize: fit.contextSize, wanted };
  }

  private async threadTuner(llama: LlamaCpp.Llama, modelPath: string): Promise<{ tuner: ThreadTuner; key: string }> {
    const key = await modelKey(modelPath);
    if (this.options.threads !== undefined) return { tuner: new ThreadTuner([this.options.threads]), key };
    return { tuner: new ThreadTuner(threadCandidates(llama.cpuMathCores), await this.threadCache.get(key)), key };
  }

  private loadBinding(): Promise<LlamaModule> {
    return (this.binding ??= (this.options.loadBinding ?? (() => import('node-llama-cpp')))());
  }

  private getLlama(): Promise<LlamaCpp.Llama> {
    // CPU only and never a source build: a portable folder ships the prebuilt binary for its platform.
    return (this.llama ??= this.loadBinding().then(({ getLlama, LlamaLogLevel }) =>
      getLlama({ gpu: false, logLevel: LlamaLogLevel.error, build: 'never' }),
    ));
  }
}

function toFinishReason(stopReason: string, signal: AbortSignal | undefined): FinishReason {
  if (stopReason === 'abort' || signal?.aborted) return 'cancelled';
  return stopReason === 'maxTokens' ? 'length' : 'stop';
}

function toLocalError(error: unknown): AIError {
  if (error instanceof AIError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/gguf|magic|failed to load model|tensor|unexpected end|read/i.test(message)) {
    return new AIError('invalid_request', `The model file could not be loaded (${message}). It may be truncated, still downloading, or not a GGUF model.`, { provider: 'local', cause: error });
  }
  if (/context size|too long|exceeds/i.test(message)) return new AIError('context_length', message, { provider: 'local', cause: error });
  return new AIError('unknown', `Local model failed: ${message}`, { provider: 'local', cause: error });
}

export function createLocalProvider(options: LocalLlamaOptions = {}): LocalLlamaProvider {
  return new LocalLlamaProvider(options);
}
