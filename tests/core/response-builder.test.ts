import { describe, expect, it } from 'vitest';
import { ResponseBuilder } from '../../extensions/ai-sidecar/src/core/response-builder.js';
import { truncationWarning } from '../../extensions/ai-sidecar/src/providers/ollama.js';
import { doneDetectingFetch, TRACKER_HEADER } from '../../extensions/ai-sidecar/src/providers/done-detector.js';

describe('ResponseBuilder', () => {
  it('gathers text, usage and timing from the parts', () => {
    let t = 0;
    const builder = new ResponseBuilder('p', 'm', () => t);
    t = 100;
    builder.add({ type: 'text-delta', text: 'Hel' });
    t = 600;
    builder.add({ type: 'text-delta', text: 'lo' });
    builder.add({ type: 'usage', usage: { inputTokens: 3, outputTokens: 10 } });
    builder.add({ type: 'finish', finishReason: 'length' });
    t = 1100;
    const response = builder.build();
    expect(response).toMatchObject({ text: 'Hello', finishReason: 'length', usage: { inputTokens: 3, outputTokens: 10 } });
    expect(response.timing).toEqual({ timeToFirstTokenMs: 100, totalMs: 1100, tokensPerSecond: 10 });
  });

  it('marks an incomplete stream and keeps its partial text', () => {
    const builder = new ResponseBuilder('p', 'm');
    builder.add({ type: 'text-delta', text: 'partial' });
    builder.add({ type: 'error', error: { code: 'incomplete_stream', message: 'cut', retryable: false } });
    expect(builder.build()).toMatchObject({ text: 'partial', finishReason: 'incomplete', error: { code: 'incomplete_stream' } });
  });

  it('reports a stream with no final part as incomplete', () => {
    expect(new ResponseBuilder('p', 'm').build().finishReason).toBe('incomplete');
  });
});

describe('Ollama truncation check', () => {
  const request = (chars: number) => ({ model: 'm', messages: [{ role: 'user' as const, content: 'x'.repeat(chars) }] });
  it('warns when the prompt cannot have fit and Ollama evaluated less', () => {
    expect(truncationWarning(request(40_000), 2048, 2048)?.code).toBe('prompt_truncated');
  });
  it('stays quiet for prompts that fit', () => {
    expect(truncationWarning(request(400), 90, 2048)).toBeUndefined();
    expect(truncationWarning(request(40_000), 12_000, 16_384)).toBeUndefined();
  });
});

describe('SSE [DONE] detector', () => {
  const serve = (chunks: string[]): typeof fetch => async () =>
    new Response(new ReadableStream({ start(c) { for (const s of chunks) c.enqueue(new TextEncoder().encode(s)); c.close(); } }), { status: 200 });

  async function run(chunks: string[]) {
    const detecting = doneDetectingFetch(serve(chunks));
    const { tracker, headers, release } = detecting.track();
    const body = await (await detecting.fetch('http://x', { headers })).text();
    release();
    return { body, done: tracker.sawDone() };
  }

  it('sees a terminator split across chunks and passes the bytes through unchanged', async () => {
    expect(await run(['data: {"a":1}\n\nda', 'ta: [DO', 'NE]\n\n'])).toEqual({ body: 'data: {"a":1}\n\ndata: [DONE]\n\n', done: true });
  });

  it('does not mistake content for the terminator, nor a terminator that is not last', async () => {
    expect((await run(['data: {"content":"data: [DONE]"}\n\n'])).done).toBe(false);
    expect((await run(['data: [DONE]\n\n', 'data: {"late":1}\n\n'])).done).toBe(false);
  });

  it('removes its tracking header before the request leaves', async () => {
    let seen: Headers | undefined;
    const detecting = doneDetectingFetch(async (_input, init) => ((seen = new Headers(init?.headers)), new Response('')));
    const { headers } = detecting.track();
    await detecting.fetch('http://x', { headers: { ...headers, authorization: 'Bearer k' } });
    expect(seen?.get(TRACKER_HEADER)).toBeNull();
    expect(seen?.get('authorization')).toBe('Bearer k');
  });
});
