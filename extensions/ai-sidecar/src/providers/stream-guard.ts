/**
 * The provider contract's rules for how a stream ends: it never throws, an abort ends it with
 * `finish: cancelled`, and a source that stops without a `finish` (the vendor's final event never
 * came) ends with an `incomplete_stream` error. `StreamRules` holds those rules for one stream;
 * `guardStream` applies them to a stream of parts (the local model), and `mapStream` applies them
 * while it maps a vendor's events, so the HTTP adapters pay for one iterator layer per token, not two.
 *
 * Plain iterators chained with `then` rather than async generators or `async` methods: they sit on
 * every token's path, and each generator or `await` layer costs measurable throughput on a fast stream.
 */
import { AIError } from '../core/errors.js';
import type { StreamPart } from '../core/types.js';

export interface GuardOptions {
  readonly provider: string;
  readonly signal: AbortSignal | undefined;
  readonly toAIError: (error: unknown) => AIError;
}

export class StreamRules {
  /** Set once the final part (a finish or an error) has gone out. */
  finished = false;
  private receivedText = false;

  constructor(private readonly options: GuardOptions) {}

  /** A part on its way out. */
  pass(part: StreamPart): IteratorResult<StreamPart> {
    if (part.type === 'text-delta') this.receivedText = true;
    else if (part.type === 'finish' || part.type === 'error') this.finished = true;
    return { done: false, value: part };
  }

  /** The source stopped without a finish. */
  ended(): IteratorResult<StreamPart> {
    const { provider, signal } = this.options;
    return this.final(signal?.aborted === true ? cancelled() : incomplete(provider, 'ended the stream without its final event'));
  }

  /** The source failed. */
  failed(error: unknown): IteratorResult<StreamPart> {
    const { provider, signal, toAIError } = this.options;
    return this.final(signal?.aborted === true ? cancelled() : failure(provider, toAIError(error), this.receivedText));
  }

  private final(part: StreamPart): IteratorResult<StreamPart> {
    this.finished = true;
    return { done: false, value: part };
  }
}

const DONE: IteratorResult<StreamPart> = { done: true, value: undefined };

export function guardStream(
  provider: string,
  signal: AbortSignal | undefined,
  source: () => AsyncIterable<StreamPart>,
  toAIError: (error: unknown) => AIError,
): AsyncIterable<StreamPart> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<StreamPart> {
      const rules = new StreamRules({ provider, signal, toAIError });
      let inner: AsyncIterator<StreamPart> | undefined;
      let closed = false;
      // Once the final part is out, let the source run its cleanup (its `finally` blocks).
      const close = async (): Promise<IteratorResult<StreamPart>> => {
        if (!closed) {
          closed = true;
          await inner?.return?.();
        }
        return DONE;
      };
      const step = (result: IteratorResult<StreamPart>): IteratorResult<StreamPart> =>
        result.done === true ? rules.ended() : rules.pass(result.value);
      const fail = (error: unknown): IteratorResult<StreamPart> => rules.failed(error);
      return {
        next(): Promise<IteratorResult<StreamPart>> {
          if (rules.finished) return close();
          try {
            inner ??= source()[Symbol.asyncIterator]();
            return inner.next().then(step, fail);
          } catch (error) {
            return Promise.resolve(fail(error));
          }
        },
        return(): Promise<IteratorResult<StreamPart>> {
          rules.finished = true;
          return close();
        },
      };
    },
  };
}

/** A connection lost after text arrived is a broken stream, not a failure to connect. */
function failure(provider: string, error: AIError, receivedText: boolean): StreamPart {
  if (receivedText && (error.code === 'network' || error.code === 'unknown')) {
    return incomplete(provider, `lost the connection mid-stream (${error.message})`);
  }
  return { type: 'error', error: error.toData() };
}

function cancelled(): StreamPart {
  return { type: 'finish', finishReason: 'cancelled' };
}

function incomplete(provider: string, what: string): StreamPart {
  const error = new AIError('incomplete_stream', `${provider} ${what}; the answer may be cut short.`, { provider });
  return { type: 'error', error: error.toData() };
}
