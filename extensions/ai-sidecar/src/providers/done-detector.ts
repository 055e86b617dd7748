/**
 * The OpenAI SDK ends its stream iterator quietly whether or not `data: [DONE]` arrived, so it cannot
 * tell a finished answer from a cut one. This fetch wrapper watches the raw SSE bytes for the
 * terminator as they pass through to the SDK, unchanged.
 */
export interface DoneDetector {
  readonly fetch: typeof fetch;
  sawDone(): boolean;
}

const TERMINATOR = /(^|\n)data: ?\[DONE\]/;

export function detectSseDone(baseFetch: typeof fetch = fetch): DoneDetector {
  let seen = false;
  const wrapped: typeof fetch = async (input, init) => {
    const response = await baseFetch(input, init);
    if (response.body === null || !response.ok) return response;
    const decoder = new TextDecoder();
    let tail = '\n';
    const watcher = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (!seen) {
          const text = tail + decoder.decode(chunk, { stream: true });
          seen = TERMINATOR.test(text);
          tail = text.slice(-12);
        }
        controller.enqueue(chunk);
      },
    });
    const { status, statusText, headers } = response;
    return new Response(response.body.pipeThrough(watcher), { status, statusText, headers });
  };
  return { fetch: wrapped, sawDone: () => seen };
}
