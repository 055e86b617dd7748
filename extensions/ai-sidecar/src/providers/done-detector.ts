/**
 * The OpenAI SDK ends its stream iterator quietly whether or not `data: [DONE]` arrived, so it cannot
 * tell a finished answer from a cut one. This fetch wrapper watches the raw SSE bytes as they pass
 * through to the SDK unchanged, remembering only the last few bytes: `[DONE]` is the final event, so
 * a stream is complete exactly when it ends with it.
 *
 * One client (and so one wrapped fetch) serves many requests; each streaming request names its own
 * tracker in a header that the wrapper removes before the request leaves.
 */
export const TRACKER_HEADER = 'x-sim-done-tracker';

/** `[DONE]`, then only blank lines and SSE comments (`: ping` keep-alives are legal after it). */
const TERMINATOR = /(^|\n)data: ?\[DONE\][ \t]*\r?\n?(\s*\n:[^\n]*)*\s*$/;
/** Room for the terminator and a keep-alive comment written with it. */
const TAIL_BYTES = 64;
const COLON = 0x3a;

export class DoneTracker {
  private tail = new Uint8Array(0);

  observe(chunk: Uint8Array): void {
    // A read that is only SSE comments (`: ping` keep-alives) changes nothing about completeness.
    if (chunk[0] === COLON && isOnlyComments(chunk)) return;
    if (chunk.length >= TAIL_BYTES) {
      this.tail = chunk.slice(chunk.length - TAIL_BYTES);
      return;
    }
    const joined = new Uint8Array(this.tail.length + chunk.length);
    joined.set(this.tail);
    joined.set(chunk, this.tail.length);
    this.tail = joined.slice(Math.max(0, joined.length - TAIL_BYTES));
  }

  /** True when everything received so far ends with the `[DONE]` event (comments aside). */
  sawDone(): boolean {
    return TERMINATOR.test(`\n${new TextDecoder().decode(this.tail)}`);
  }
}

function isOnlyComments(chunk: Uint8Array): boolean {
  return /^(:[^\n]*\n+)*(:[^\n]*)?$/.test(new TextDecoder().decode(chunk));
}

export interface DoneDetectingFetch {
  readonly fetch: typeof fetch;
  /** A tracker for one request; pass `headers()` with that request. */
  track(): { tracker: DoneTracker; headers: Record<string, string>; release(): void };
}

export function doneDetectingFetch(baseFetch: typeof fetch = fetch): DoneDetectingFetch {
  const trackers = new Map<string, DoneTracker>();
  let next = 0;
  const wrapped: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    const id = headers.get(TRACKER_HEADER);
    headers.delete(TRACKER_HEADER);
    const response = await baseFetch(input, { ...init, headers });
    const tracker = id === null ? undefined : trackers.get(id);
    if (tracker === undefined || response.body === null || !response.ok) return response;
    const { status, statusText } = response;
    return new Response(observed(response.body, tracker), { status, statusText, headers: response.headers });
  };
  return {
    fetch: wrapped,
    track() {
      const id = String(next++);
      const tracker = new DoneTracker();
      trackers.set(id, tracker);
      return { tracker, headers: { [TRACKER_HEADER]: id }, release: () => trackers.delete(id) };
    },
  };
}

/**
 * The body passed through with each chunk shown to the tracker. A pull source rather than
 * `pipeThrough(new TransformStream())`: it reads only when the SDK asks, with one queue instead of
 * two and no pipe loop, which is measurable at thousands of small SSE chunks per second.
 */
function observed(body: ReadableStream<Uint8Array>, tracker: DoneTracker): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          return;
        }
        tracker.observe(value);
        controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}
