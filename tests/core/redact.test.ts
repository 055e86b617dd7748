import { afterEach, describe, expect, it } from 'vitest';
import { forgetSecret, redact, registerSecret, registeredSecretCount, retainRedactions } from '../../extensions/ai-sidecar/src/core/redact.js';
import { AIError } from '../../extensions/ai-sidecar/src/core/errors.js';

describe('redact', () => {
  const custom = 'my-very-own-secret-9f8e7d';
  afterEach(() => forgetSecret(custom));

  it.each([
    ['OpenAI key', 'key sk-proj-AbCdEf0123456789xyzXYZ failed', 'sk-proj-AbCdEf'],
    ['OpenAI 401 echo', 'Incorrect API key provided: sk-proj-ab********************wxyz. You can find', 'wxyz'],
    ['short echo', 'Incorrect API key provided: sk-abc***wxyz.', 'sk-abc'],
    ['Anthropic key', 'x sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAA-BBBB y', 'sk-ant-api03'],
    ['bearer token', 'Authorization: Bearer abc.def.ghi-123', 'abc.def'],
    ['bearer alone', 'sent Bearer zzzzzzzzzzzz', 'zzzzzzzzzzzz'],
    ['age identity', 'AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ', 'AGE-SECRET-KEY-1QQ'],
    ['x-api-key header', 'x-api-key: abcdefghijkl', 'abcdefghijkl'],
    ['query parameter', 'GET /v1?api_key=abcdefghijkl&x=1', 'abcdefghijkl'],
    ['Groq key', 'gsk_0123456789abcdefABCDEF', 'gsk_0123'],
    ['hex token', 'token 0123456789abcdef0123456789abcdef here', '0123456789abcdef0123'],
  ])('scrubs a %s', (_name, input, leaked) => {
    const out = redact(input);
    expect(out).not.toContain(leaked);
    expect(out).toContain('[REDACTED]');
  });

  it('keeps ordinary text readable', () => {
    const text = 'The model gpt-4o-mini returned 429: slow down (retry in 2 s).';
    expect(redact(text)).toBe(text);
  });

  it('scrubs a registered secret of any shape', () => {
    registerSecret(custom);
    expect(redact(`failed with ${custom}!`)).toBe('failed with [REDACTED]!');
  });

  it('applies to every AIError message', () => {
    const error = new AIError('auth', 'Incorrect API key provided: sk-proj-ab****wxyz');
    expect(error.message).not.toContain('wxyz');
    expect(JSON.stringify(error.toData())).not.toContain('wxyz');
  });
});

describe('redact: encoded and changed forms, unknown shapes (issue 12)', () => {
  const key = 'zq9mxv3kt7wr/np5+hs4d=x';
  afterEach(() => forgetSecret(key));

  it('scrubs the URL-encoded, double-encoded, case-changed and base64 (any alignment, URL-safe) forms of a registered key', () => {
    registerSecret(key);
    const leaks = [
      encodeURIComponent(key),
      encodeURIComponent(encodeURIComponent(key)),
      encodeURIComponent(key).toLowerCase(),
      key.toUpperCase(),
      Buffer.from(key).toString('base64'),
      Buffer.from(`user:${key}`).toString('base64'),
      Buffer.from(`u:${key}`).toString('base64'),
      Buffer.from(`us:${key}!`).toString('base64url'),
    ];
    for (const leak of leaks) {
      const out = redact(`echo: ${leak} end`);
      expect(out, leak).toContain('[REDACTED]');
      // Nothing of the key survives: no 8-character run of any encoded form.
      expect(out.includes(leak.slice(4, 12)), leak).toBe(false);
    }
    expect(redact('a plain sentence about keys')).toBe('a plain sentence about keys');
  });

  it('scrubs keys of shapes it does not know (24+ characters mixing cases and digits), not ordinary ids', () => {
    expect(redact('token Xk29dLq0PzT7vBn4Rm8sWc1YhJ6u rejected')).toBe('token [REDACTED] rejected');
    const ordinary = 'run 3f1c2b7e-8a9d-4c6b-b1e2-0f9a8b7c6d5e of llama-3.1-8b-instruct-q4_k_m finished';
    expect(redact(ordinary)).toBe(ordinary);
  });

  it('keeps a key forgotten during a request until every request that was running has released it', () => {
    const first = retainRedactions();
    registerSecret(key);
    const second = retainRedactions();
    forgetSecret(key);
    // A request started after the key was forgotten cannot have it, and does not keep it alive.
    const later = retainRedactions();
    expect(redact(key)).toBe('[REDACTED]');
    first();
    expect(redact(key)).toBe('[REDACTED]');
    second();
    expect(registeredSecretCount()).toBe(0);
    expect(redact(`x ${key}`)).not.toBe('x [REDACTED]');
    later();
  });

  it('forgets at once when nothing is running', () => {
    registerSecret(key);
    forgetSecret(key);
    expect(registeredSecretCount()).toBe(0);
  });
});
