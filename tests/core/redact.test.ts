import { afterEach, describe, expect, it } from 'vitest';
import { forgetSecret, redact, registerSecret } from '../../extensions/ai-sidecar/src/core/redact.js';
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
