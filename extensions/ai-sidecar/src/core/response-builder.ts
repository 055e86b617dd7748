/**
 * Folds a stream of parts into the one `AIResponse` a run ends with: text, finish reason, usage,
 * timing. Used by the manager for every run and by providers whose `chatCompletion` is a collected
 * stream.
 */
import { AIError } from './errors.js';
import type { AIResponse, FinishReason, ProviderWarning, StreamPart, Usage } from './types.js';
import type { AIErrorData } from './errors.js';

export class ResponseBuilder {
  private readonly chunks: string[] = [];
  private readonly warnings: ProviderWarning[] = [];
  private readonly startedAt: number;
  private usage: Usage = { inputTokens: 0, outputTokens: 0 };
  private finishReason: FinishReason | undefined;
  private error: AIErrorData | undefined;
  private firstTokenAt: number | undefined;
  private deltas = 0;

  constructor(
    private readonly provider: string,
    private readonly model: string,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.startedAt = now();
  }

  get hasText(): boolean {
    return this.firstTokenAt !== undefined;
  }

  get text(): string {
    return this.chunks.join('');
  }

  add(part: StreamPart): void {
    switch (part.type) {
      case 'text-delta':
        this.firstTokenAt ??= this.now();
        this.deltas += 1;
        this.chunks.push(part.text);
        return;
      case 'usage':
        // A count a provider left undefined must not reach the UI's contract or History's NOT NULL.
        this.usage = { inputTokens: count(part.usage.inputTokens), outputTokens: count(part.usage.outputTokens) };
        return;
      case 'warning':
        this.warnings.push(part.warning);
        return;
      case 'finish':
        this.finishReason ??= part.finishReason;
        return;
      case 'error':
        this.error ??= part.error;
        this.finishReason ??= part.error.code === 'incomplete_stream' ? 'incomplete' : errorFinish(part.error);
        return;
    }
  }

  build(): AIResponse {
    const totalMs = this.now() - this.startedAt;
    const finishReason = this.finishReason ?? 'incomplete';
    // A run stopped or cut before the vendor's final count still received text: report at least the
    // pieces that arrived (about one token each), not "0 out".
    const unfinished = finishReason !== 'stop' && finishReason !== 'length';
    const usage = unfinished && this.deltas > this.usage.outputTokens ? { ...this.usage, outputTokens: this.deltas } : this.usage;
    return {
      provider: this.provider,
      model: this.model,
      text: this.text,
      finishReason,
      usage,
      timing: {
        timeToFirstTokenMs: this.firstTokenAt === undefined ? undefined : this.firstTokenAt - this.startedAt,
        totalMs,
        tokensPerSecond: this.tokensPerSecond(),
      },
      ...(this.error === undefined ? {} : { error: this.error }),
      ...(this.warnings.length === 0 ? {} : { warnings: [...this.warnings] }),
    };
  }

  /** Output tokens over the time since the first token; falls back to counted deltas without usage. */
  private tokensPerSecond(): number {
    if (this.firstTokenAt === undefined) return 0;
    const tokens = this.usage.outputTokens > 0 ? this.usage.outputTokens : this.deltas;
    const seconds = (this.now() - this.firstTokenAt) / 1000;
    return seconds > 0 ? tokens / seconds : 0;
  }
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

function errorFinish(error: AIErrorData): FinishReason {
  return error.code === 'cancelled' ? 'cancelled' : 'error';
}

/** Drains a stream into one response; rejects with the stream's error, as `chatCompletion` must. */
export async function collectStream(
  provider: string,
  model: string,
  parts: AsyncIterable<StreamPart>,
): Promise<AIResponse> {
  const builder = new ResponseBuilder(provider, model);
  for await (const part of parts) builder.add(part);
  const response = builder.build();
  if (response.error !== undefined) throw AIError.fromData(response.error);
  return response;
}
