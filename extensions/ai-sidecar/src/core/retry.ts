/**
 * The one retry rule: retry only errors marked retryable (408, 409, 429, 5xx, overloaded), never
 * quota or auth; honour Retry-After up to a cap; otherwise exponential back-off with jitter.
 */
import type { AIErrorData } from './errors.js';

export interface RetryPolicy {
  /** Retries after the first attempt. Default 2. */
  readonly maxRetries: number;
  /** First back-off when the provider gave no Retry-After. Default 500 ms, doubling each retry. */
  readonly baseDelayMs: number;
  /** Longest back-off we compute ourselves. Default 8 s. */
  readonly maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the error is reported instead. Default 30 s. */
  readonly maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxRetries: 2,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 30_000,
};

/** One retry about to happen: the attempt it will be (2 = the first retry), the wait, and why. */
export interface RetryNotice {
  readonly attempt: number;
  readonly delayMs: number;
  /** The failure in plain words, e.g. "The server is busy (HTTP 429)". */
  readonly message: string;
}

/** How long to wait before retry number `retry` (0-based), or undefined when not to retry. */
export function retryDelay(
  error: AIErrorData,
  retry: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number | undefined {
  if (!error.retryable || retry >= policy.maxRetries) return undefined;
  if (error.retryAfterMs !== undefined) {
    return error.retryAfterMs <= policy.maxRetryAfterMs ? error.retryAfterMs : undefined;
  }
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return exponential / 2 + random() * (exponential / 2);
}

/** Resolves after `ms`, or rejects at once with the signal's reason when it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Why a retry is happening, in plain words for the window, e.g. "The server is busy (HTTP 429)". */
export function retryReason(error: AIErrorData): string {
  const status = error.status;
  const words = error.code === 'rate_limited' || status === 429
    ? 'The server is busy'
    : error.code === 'overloaded'
      ? 'The server is overloaded'
      : status === 408
        ? 'The server timed out'
        : status === 409
          ? 'The server reported a conflict'
          : status !== undefined && status >= 500
            ? 'The server had a problem'
            : 'The provider could not answer';
  return status === undefined ? words : `${words} (HTTP ${status})`;
}
