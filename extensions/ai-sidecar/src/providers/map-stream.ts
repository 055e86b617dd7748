/**
 * Maps a vendor's event stream to our parts, keeping the stream rules of `stream-guard.ts` in the
 * same iterator: each vendor event may become zero, one or several parts, and the stream ends the
 * way the provider contract says (never a throw; cancelled on abort; incomplete without a finish).
 */
import type { StreamPart } from '../core/types.js';
import { StreamRules, type GuardOptions } from './stream-guard.js';

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

export function mapStream<T>(mapping: StreamMapping<T>, guard: GuardOptions): AsyncIterable<StreamPart> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<StreamPart> {
      const rules = new StreamRules(guard);
      const pending: StreamPart[] = [];
      const emit: Emit = (part) => void pending.push(part);
      let source: AsyncIterator<T> | undefined;
      let sourceEnded = false;
      let released = false;
      let closed = false;

      const release = (): void => {
        if (released) return;
        released = true;
        mapping.close?.();
      };
      const close = async (): Promise<IteratorResult<StreamPart>> => {
        release();
        if (!closed) {
          closed = true;
          if (!sourceEnded) await source?.return?.();
        }
        return { done: true, value: undefined };
      };
      const fail = (error: unknown): IteratorResult<StreamPart> => {
        sourceEnded = true;
        release();
        return rules.failed(error);
      };
      const take = (): IteratorResult<StreamPart> | undefined => {
        const part = pending.shift();
        if (part !== undefined) return rules.pass(part);
        return sourceEnded ? rules.ended() : undefined;
      };
      // One vendor event: its parts, or (for an event with none, like a keep-alive) the next event.
      const step = (result: IteratorResult<T>): IteratorResult<StreamPart> | Promise<IteratorResult<StreamPart>> => {
        try {
          if (result.done === true) {
            sourceEnded = true;
            mapping.end(emit);
            release();
          } else {
            mapping.map(result.value, emit);
          }
          return take() ?? pull();
        } catch (error) {
          return fail(error);
        }
      };
      const pull = (): Promise<IteratorResult<StreamPart>> => source!.next().then(step, fail);

      return {
        next(): Promise<IteratorResult<StreamPart>> {
          if (rules.finished) return close();
          const ready = take();
          if (ready !== undefined) return Promise.resolve(ready);
          if (source !== undefined) return pull();
          return mapping.open().then((iterable) => {
            source = iterable[Symbol.asyncIterator]();
            return pull();
          }, fail);
        },
        return(): Promise<IteratorResult<StreamPart>> {
          rules.finished = true;
          return close();
        },
      };
    },
  };
}
