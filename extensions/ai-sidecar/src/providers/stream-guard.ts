/**
 * Turns an adapter's raw part generator into a stream that keeps the provider contract: it never
 * throws, an abort ends it with `finish: cancelled`, and a source that stops without yielding a
 * `finish` (the vendor's final event never came) ends with an `incomplete_stream` error.
 */
import { AIError } from '../core/errors.js';
import type { StreamPart } from '../core/types.js';

export async function* guardStream(
  provider: string,
  signal: AbortSignal | undefined,
  source: () => AsyncIterable<StreamPart>,
  toAIError: (error: unknown) => AIError,
): AsyncGenerator<StreamPart> {
  let receivedText = false;
  try {
    for await (const part of source()) {
      if (part.type === 'text-delta') receivedText = true;
      yield part;
      if (part.type === 'finish' || part.type === 'error') return;
    }
    if (signal?.aborted) yield cancelled();
    else yield incomplete(provider, 'ended the stream without its final event');
  } catch (error) {
    if (signal?.aborted) {
      yield cancelled();
      return;
    }
    const mapped = toAIError(error);
    // A connection lost after text arrived is a broken stream, not a failure to connect.
    if (receivedText && (mapped.code === 'network' || mapped.code === 'unknown')) {
      yield incomplete(provider, `lost the connection mid-stream (${mapped.message})`);
    } else {
      yield { type: 'error', error: mapped.toData() };
    }
  }
}

function cancelled(): StreamPart {
  return { type: 'finish', finishReason: 'cancelled' };
}

function incomplete(provider: string, what: string): StreamPart {
  const error = new AIError('incomplete_stream', `${provider} ${what}; the answer may be cut short.`, { provider });
  return { type: 'error', error: error.toData() };
}
