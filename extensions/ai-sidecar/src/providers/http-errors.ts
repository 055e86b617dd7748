/**
 * Maps an HTTP failure from any cloud SDK to our error codes. Each adapter extracts status, headers
 * and the vendor's error type/code from its SDK's error class; the decision lives here, once.
 */
import { AIError, type AIErrorCode } from '../core/errors.js';

export interface HttpFailure {
  readonly provider: string;
  readonly status: number;
  readonly message: string;
  readonly headers?: Headers | undefined;
  /** The vendor's error type or code, e.g. `insufficient_quota`, `overloaded_error`. */
  readonly vendorCodes?: readonly (string | null | undefined)[];
  readonly cause?: unknown;
}

const QUOTA_HINT = /insufficient_quota|billing|credit balance|quota|payment required/i;
const CONTEXT_HINT = /context_length_exceeded|context length|context window|prompt is too long|too many tokens|maximum context/i;

export function httpFailureToAIError(failure: HttpFailure): AIError {
  const code = classify(failure);
  const retryAfterMs = failure.headers ? parseRetryAfter(failure.headers) : undefined;
  return new AIError(code, `${failure.provider}: ${failure.message || `HTTP ${failure.status}`}`, {
    status: failure.status,
    provider: failure.provider,
    cause: failure.cause,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

function classify({ status, message, vendorCodes = [] }: HttpFailure): AIErrorCode {
  const hints = [message, ...vendorCodes].filter((s): s is string => typeof s === 'string').join(' ');
  if (status === 401 || status === 403) return 'auth';
  if (status === 402 || (QUOTA_HINT.test(hints) && (status === 429 || status === 400))) return 'quota';
  if (status === 429) return 'rate_limited';
  if (status === 529 || status === 503 || /overloaded/i.test(hints)) return 'overloaded';
  if (status === 404) return 'model_not_found';
  if (status === 408) return 'timeout';
  if (CONTEXT_HINT.test(hints)) return 'context_length';
  if (status >= 500 || status === 409) return 'provider_unavailable';
  if (status >= 400) return 'invalid_request';
  return 'unknown';
}

/** Reads `retry-after-ms` (OpenAI), then `retry-after` as seconds or an HTTP date. */
export function parseRetryAfter(headers: Headers, now: number = Date.now()): number | undefined {
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.has('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return ms;
  const raw = headers.get('retry-after');
  if (raw === null || raw.trim() === '') return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
