/**
 * One error type with stable codes the UI can show and act on. `retryable` is decided here, in one
 * place, from the code and HTTP status; messages are always redacted of secrets.
 */
import { redact } from './redact.js';

export const AI_ERROR_CODES = [
  'auth',
  'rate_limited',
  'quota',
  'overloaded',
  'context_length',
  'invalid_request',
  'model_not_found',
  // The address answers, but it is not the API (a web page, a missing `/v1`, another program on the port).
  'wrong_endpoint',
  'network',
  'timeout',
  'cancelled',
  'incomplete_stream',
  'provider_unavailable',
  'locked',
  'busy',
  'insufficient_memory',
  'unknown',
] as const;

export type AIErrorCode = (typeof AI_ERROR_CODES)[number];

/** How an error crosses a process or JSON boundary: plain data, never an `Error` object. */
export interface AIErrorData {
  readonly code: AIErrorCode;
  readonly message: string;
  readonly retryable: boolean;
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly provider?: string;
}

export interface AIErrorOptions {
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly provider?: string;
  readonly cause?: unknown;
}

/** Status codes worth retrying (before the first token only): request timeout, conflict, 429, 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

function decideRetryable(code: AIErrorCode, status: number | undefined): boolean {
  if (code === 'quota' || code === 'auth' || code === 'cancelled' || code === 'locked') return false;
  if (code === 'overloaded' || code === 'rate_limited') return true;
  return status !== undefined && isRetryableStatus(status);
}

export class AIError extends Error {
  override readonly name = 'AIError';
  readonly code: AIErrorCode;
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly provider: string | undefined;

  constructor(code: AIErrorCode, message: string, options: AIErrorOptions = {}) {
    super(redact(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.provider = options.provider;
    this.retryable = decideRetryable(code, options.status);
  }

  toData(): AIErrorData {
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.status === undefined ? {} : { status: this.status }),
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
      ...(this.provider === undefined ? {} : { provider: this.provider }),
    };
  }

  static fromData(data: AIErrorData): AIError {
    return new AIError(data.code, data.message, data);
  }
}

export function isAIError(value: unknown): value is AIError {
  return value instanceof AIError;
}

/** Wraps anything thrown into an AIError; `fallback` is the code for errors nobody classified. */
export function toAIError(value: unknown, fallback: AIErrorCode = 'unknown', provider?: string): AIError {
  if (value instanceof AIError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new AIError(fallback, message, { cause: value, ...(provider === undefined ? {} : { provider }) });
}
