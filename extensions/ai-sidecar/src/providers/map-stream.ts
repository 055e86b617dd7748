/**
 * Maps a vendor's event stream to our parts with a plain iterator: each vendor event may become zero,
 * one or several parts. Like the stream guard, it avoids a generator layer on every token's path.
 */
import type { StreamPart } from '../core/types.js';

export type Emit = (part: StreamPart) => void;

export interface StreamMapping<T> {
  /** Opens the vendor stream (connect, send the request). */
  open(): Promise<AsyncIterable<T>>;
  /** Turns one vendor event into parts. */
  map(event: T, emit: Emit): void;
  /** Called once the vendor stream ends normally: emit the finish if its final event was seen. */
  end(emit: Emit): void;
  /** Called however the stream ends (cleanup). */
  close?(): void;
}

export function mapStream<T>(mapping: StreamMapping<T>): AsyncIterable<StreamPart> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<StreamPart> {
      let source: AsyncIterator<T> | undefined;
      let ended = false;
      const pending: StreamPart[] = [];
      const emit: Emit = (part) => void pending.push(part);
      const finish = (): void => {
        if (ended) return;
        ended = true;
        mapping.close?.();
      };
      return {
        async next(): Promise<IteratorResult<StreamPart>> {
          try {
            while (pending.length === 0 && !ended) {
              source ??= (await mapping.open())[Symbol.asyncIterator]();
              const result = await source.next();
              if (result.done === true) {
                mapping.end(emit);
                finish();
              } else {
                mapping.map(result.value, emit);
              }
            }
          } catch (error) {
            finish();
            throw error;
          }
          const part = pending.shift();
          return part === undefined ? { done: true, value: undefined } : { done: false, value: part };
        },
        async return(): Promise<IteratorResult<StreamPart>> {
          finish();
          await source?.return?.();
          return { done: true, value: undefined };
        },
      };
    },
  };
}
