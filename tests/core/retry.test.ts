import { describe, expect, it } from 'vitest';
import { AIError } from '../../extensions/ai-sidecar/src/core/errors.js';
import { DEFAULT_RETRY_POLICY, retryDelay, retryReason, sleep } from '../../extensions/ai-sidecar/src/core/retry.js';
import { httpFailureToAIError, parseRetryAfter } from '../../extensions/ai-sidecar/src/providers/http-errors.js';

const data = (code: ConstructorParameters<typeof AIError>[0], status?: number, retryAfterMs?: number) =>
  new AIError(code, 'x', { ...(status === undefined ? {} : { status }), ...(retryAfterMs === undefined ? {} : { retryAfterMs }) }).toData();

describe('retry rule', () => {
  it.each([
    ['rate_limited', 429, 'The server is busy (HTTP 429)'],
    ['overloaded', 529, 'The server is overloaded (HTTP 529)'],
    ['overloaded', undefined, 'The server is overloaded'],
    ['provider_unavailable', 503, 'The server had a problem (HTTP 503)'],
    ['provider_unavailable', 408, 'The server timed out (HTTP 408)'],
    ['provider_unavailable', 409, 'The server reported a conflict (HTTP 409)'],
  ] as const)('says why a %s (%s) is retried in plain words', (code, status, words) => {
    expect(retryReason(data(code, status))).toBe(words);
  });

  it.each([408, 409, 429, 500, 502, 503, 529])('retries status %i', (status) => {
    expect(retryDelay(data('provider_unavailable', status), 0, DEFAULT_RETRY_POLICY, () => 0)).toBeGreaterThan(0);
  });

  it.each(['quota', 'auth', 'invalid_request', 'context_length', 'model_not_found', 'cancelled'] as const)(
    'never retries %s',
    (code) => {
      expect(retryDelay(data(code, code === 'quota' ? 429 : 400), 0, DEFAULT_RETRY_POLICY)).toBeUndefined();
    },
  );

  it('honours Retry-After up to the cap and gives up beyond it', () => {
    expect(retryDelay(data('rate_limited', 429, 1_500), 0, DEFAULT_RETRY_POLICY)).toBe(1_500);
    expect(retryDelay(data('rate_limited', 429, 31_000), 0, DEFAULT_RETRY_POLICY)).toBeUndefined();
  });

  it('stops after maxRetries and backs off exponentially', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, maxRetries: 3 };
    const delays = [0, 1, 2].map((n) => retryDelay(data('overloaded', 529), n, policy, () => 1));
    expect(delays).toEqual([500, 1000, 2000]);
    expect(retryDelay(data('overloaded', 529), 3, policy)).toBeUndefined();
  });

  it('sleep rejects at once when aborted', async () => {
    const controller = new AbortController();
    const started = performance.now();
    const pending = sleep(10_000, controller.signal);
    setTimeout(() => controller.abort(new Error('stop')), 10);
    await expect(pending).rejects.toThrow('stop');
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('HTTP failures', () => {
  it('parses Retry-After in seconds, ms and HTTP-date forms', () => {
    expect(parseRetryAfter(new Headers({ 'retry-after': '3' }))).toBe(3000);
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '250', 'retry-after': '3' }))).toBe(250);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }), now)).toBe(5000);
    expect(parseRetryAfter(new Headers())).toBeUndefined();
  });

  it.each([
    [401, 'Incorrect API key', [], 'auth'],
    [429, 'You exceeded your current quota', ['insufficient_quota'], 'quota'],
    [429, 'Rate limit reached', ['rate_limit_exceeded'], 'rate_limited'],
    [529, 'Overloaded', ['overloaded_error'], 'overloaded'],
    [400, 'prompt is too long: 210000 tokens > 200000 maximum', ['invalid_request_error'], 'context_length'],
    [400, "This model's maximum context length is 8192 tokens", ['context_length_exceeded'], 'context_length'],
    [400, 'Your credit balance is too low', ['invalid_request_error'], 'quota'],
    [404, 'model not found', [], 'model_not_found'],
    [500, 'boom', [], 'provider_unavailable'],
    [422, 'bad field', [], 'invalid_request'],
  ] as const)('maps %i %s to %s', (status, message, vendorCodes, code) => {
    const error = httpFailureToAIError({ provider: 'p', status, message, vendorCodes, headers: new Headers({ 'retry-after': '2' }) });
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
    expect(error.retryAfterMs).toBe(2000);
  });
});
