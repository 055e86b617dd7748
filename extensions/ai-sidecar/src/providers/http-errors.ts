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
const WRONG_URL_HINT = /unknown_url|unknown request url|no such (route|endpoint)|invalid url/i;
const CONTEXT_HINT = /context_length_exceeded|context length|context window|prompt is too long|too many tokens|maximum context/i;

export function httpFailureToAIError(failure: HttpFailure): AIError {
  const code = classify(failure);
  const retryAfterMs = failure.headers ? parseRetryAfter(failure.headers) : undefined;
  return new AIError(code, messageFor(code, failure), {
    status: failure.status,
    provider: failure.provider,
    cause: failure.cause,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/**
 * Our words for the failure. An auth refusal never repeats the vendor's text (it may echo the key
 * or tell a user of a compatible server to visit the wrong vendor's site); other vendor messages are
 * kept, one line, capped, and never markup.
 */
function messageFor(code: AIErrorCode, { provider, status, message }: HttpFailure): string {
  if (code === 'auth') {
    return status === 403
      ? `${provider} refused the request (HTTP 403): the API key has no access to this model or endpoint.`
      : `${provider} did not accept the API key (HTTP ${status}). Check the key stored for ${provider}.`;
  }
  const plain = message.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300);
  return plain === '' ? `${provider}: HTTP ${status}` : `${provider}: ${plain} (HTTP ${status})`;
}

function classify({ status, message, vendorCodes = [] }: HttpFailure): AIErrorCode {
  const hints = [message, ...vendorCodes].filter((s): s is string => typeof s === 'string').join(' ');
  if (status === 401 || status === 403) return 'auth';
  if (status === 402 || (QUOTA_HINT.test(hints) && (status === 429 || status === 400))) return 'quota';
  if (status === 429) return 'rate_limited';
  if (status === 529 || status === 503 || /overloaded/i.test(hints)) return 'overloaded';
  // OpenAI answers a base URL missing /v1 with a JSON 404 of its own: a wrong address, not a model.
  if (status === 404 && WRONG_URL_HINT.test(hints)) return 'wrong_endpoint';
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

/**
 * A request that never got an HTTP answer, named with the address tried and what happened there in
 * plain words (the SDKs say only "Connection error.").
 */
export function connectionFailure(provider: string, baseURL: string, error: unknown): AIError {
  const code = deepCode(error);
  const what =
    code === 'ECONNREFUSED' ? 'nothing is listening there'
    : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'that host name could not be found'
    : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' ? 'the connection was dropped'
    : code === 'EHOSTUNREACH' || code === 'ENETUNREACH' ? 'that network is unreachable'
    : code === 'CERT_HAS_EXPIRED' || code?.startsWith('ERR_TLS') === true || code?.includes('CERT') === true ? 'its TLS certificate was not accepted'
    : `the connection failed${code === undefined ? '' : ` (${code})`}`;
  return new AIError('network', `Could not reach ${provider} at ${baseURL}: ${what}.`, { provider, cause: error });
}

function deepCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current !== null && current !== undefined && depth < 6; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A 200 whose body is not the vendor's API shape (a proxy's JSON, another program's answer). */
export function notAnAPIAnswer(provider: string, baseURL: string): AIError {
  return new AIError('wrong_endpoint', `${provider}: the server at ${baseURL} answered, but not as the API does. Check the base URL.`, { provider, status: 200 });
}
