/** What a stand-in server does with the next request. Servers take these from a FIFO; default `ok`. */
export type Scenario =
  | { readonly kind: 'ok'; readonly tokens?: readonly string[]; readonly inputTokens?: number; readonly finish?: 'stop' | 'length' }
  | { readonly kind: 'auth_error' }
  | { readonly kind: 'rate_limited'; readonly retryAfterSeconds?: number }
  | { readonly kind: 'quota' }
  | { readonly kind: 'server_error' }
  | { readonly kind: 'overloaded' }
  /** Anthropic: a 200 stream that carries an `event: error` part-way. */
  | { readonly kind: 'overloaded_in_stream'; readonly tokens?: readonly string[] }
  | { readonly kind: 'context_length' }
  | { readonly kind: 'model_not_found' }
  | { readonly kind: 'cut_mid_stream'; readonly tokens?: readonly string[] }
  | { readonly kind: 'no_final_event'; readonly tokens?: readonly string[] }
  | { readonly kind: 'split_utf8'; readonly tokens?: readonly string[]; readonly sliceBytes?: number }
  | { readonly kind: 'slow'; readonly intervalMs?: number; readonly count?: number; /** Filled with performance.now() of each token's write. */ readonly sentAt?: number[] }
  /** Response headers, then silence until the client gives up. */
  | { readonly kind: 'stall' }
  /** The first tokens, then silence with the socket open (a stalled upstream or proxy). */
  | { readonly kind: 'silent_after_tokens'; readonly tokens?: readonly string[] }
  /** An HTML page instead of the API: a captive portal (200) or a base URL missing `/v1` (404). */
  | { readonly kind: 'html_page'; readonly status: 200 | 404; /** Sent without a content type, as some portals do. */ readonly untyped?: boolean }
  /** A complete stream followed by a legal SSE comment (`: ping`) after the final event. */
  | { readonly kind: 'comment_after_done' }
  /** Ollama: an error whose `error` field is an object, as an HTTP error or as a line in a 200 stream. */
  | { readonly kind: 'error_object'; readonly inStream?: boolean }
  /** Ollama: report fewer prompt tokens than were sent. */
  | { readonly kind: 'truncated_prompt'; readonly promptEvalCount: number };

export const DEFAULT_TOKENS: readonly string[] = ['Hello', ',', ' wor', 'ld', '!'];
/** Multi-byte text: 2-, 3- and 4-byte UTF-8 characters. */
export const UTF8_TOKENS: readonly string[] = ['Caf', 'é ', '日本', '語 ', '😀', ' ok'];

export class ScenarioQueue {
  private readonly queue: Scenario[] = [];

  script(...scenarios: Scenario[]): void {
    this.queue.push(...scenarios);
  }

  next(): Scenario {
    return this.queue.shift() ?? { kind: 'ok' };
  }
}

/** What a captive portal or a web server's 404 sends: a page, not the API. */
export function htmlPage(status: 200 | 404): string {
  const title = status === 200 ? 'Hotel Wi-Fi: please sign in' : '404 Not Found';
  return `<!DOCTYPE html><html><head><title>${title}</title></head><body><h1>${title}</h1><form action="/login"><input name="room"></form><script>var secret_session="abc";</script></body></html>`;
}

export function sendHtml(res: import('node:http').ServerResponse, status: number, untyped = false): void {
  res.writeHead(status, untyped ? {} : { 'content-type': 'text/html; charset=utf-8' });
  res.end(htmlPage(status === 404 ? 404 : 200));
}
