/**
 * The fetch every HTTP adapter's SDK goes through. It names the failures an SDK would misread:
 * a web page where the API should be (a captive portal's 200, a web server's 404 for a base URL
 * missing `/v1`) and an error body that is not the vendor's JSON. No raw body ever reaches a
 * message; the SDKs see only answers that are the API's own.
 *
 * An error thrown here reaches the adapter as the `cause` of the SDK's connection error (or as is,
 * for the Ollama client); `findAIError` digs it out.
 */
import { AIError } from '../core/errors.js';
import { httpFailureToAIError } from './http-errors.js';

export interface ApiFetchOptions {
  readonly provider: string;
  /** Shown in messages: where the adapter was told the API is. */
  readonly baseURL: string;
  /** How this vendor's base URL is written, for a wrong-endpoint message. */
  readonly endpointHint: string;
  /**
   * Turn every non-OK answer into our error, JSON or not. For the Ollama client, which prints to the
   * console while reading an error body and turns an object `error` into "[object Object]".
   */
  readonly allErrors?: boolean;
  /** Ollama: rewrite an in-stream `{"error": {...}}` line so the client's message keeps its text. */
  readonly flattenStreamErrors?: boolean;
}

const MAX_ERROR_BODY = 64 * 1024;

export function apiFetch(base: typeof fetch | undefined, options: ApiFetchOptions): typeof fetch {
  const baseFetch = base ?? fetch;
  return async (input, init) => {
    const response = await baseFetch(input, init);
    const type = response.headers.get('content-type') ?? '';
    if (isWebPage(type)) {
      await response.body?.cancel().catch(() => undefined);
      throw webPageError(response.status, response.headers, options);
    }
    if (!response.ok && (options.allErrors === true || !/json/i.test(type))) throw await errorFromBody(response, options);
    if (response.ok && !/json|event-stream/i.test(type) && response.body !== null) return sniffed(response, options);
    if (options.flattenStreamErrors === true && response.body !== null && /ndjson/i.test(type)) {
      const { status, statusText, headers } = response;
      return new Response(flattenErrors(response.body), { status, statusText, headers });
    }
    return response;
  };
}

/**
 * A 2xx that does not say it is JSON or a stream (no content type, text/plain): some portals and
 * proxies send their page that way. Such answers are small; read it, and pass it on unless it is markup.
 */
async function sniffed(response: Response, options: ApiFetchOptions): Promise<Response> {
  const text = await response.text();
  if (/^\s*</.test(text)) throw webPageError(response.status, response.headers, options);
  const { status, statusText, headers } = response;
  return new Response(text, { status, statusText, headers });
}

/** The AIError this module threw, wherever an SDK wrapped it. */
export function findAIError(error: unknown): AIError | undefined {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 5; depth += 1) {
    if (current instanceof AIError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function isWebPage(contentType: string): boolean {
  return /text\/html|application\/xhtml/i.test(contentType);
}

function webPageError(status: number, headers: Headers, { provider, baseURL, endpointHint }: ApiFetchOptions): AIError {
  if (status === 404 || status === 405) {
    return new AIError('wrong_endpoint', `${provider}: the server at ${baseURL} answered ${status} with a web page, so this address is not the API endpoint. ${endpointHint}`, { provider, status });
  }
  if (status >= 200 && status < 300) {
    return new AIError(
      'wrong_endpoint',
      `${provider}: the server at ${baseURL} answered with a web page instead of the API. On a hotel, café or office network, sign in to it in a browser first; otherwise check the base URL. ${endpointHint}`,
      { provider, status },
    );
  }
  // 5xx pages from a proxy or CDN, 401/403 from a login wall: classified by status, retried when due.
  return httpFailureToAIError({ provider, status, message: `HTTP ${status}, with a web page instead of the API's answer`, headers });
}

async function errorFromBody(response: Response, options: ApiFetchOptions): Promise<AIError> {
  const { provider, baseURL, endpointHint } = options;
  const text = await readCapped(response);
  const message = vendorMessage(text);
  if (message === undefined && (response.status === 404 || response.status === 405)) {
    return new AIError('wrong_endpoint', `${provider}: the server at ${baseURL} has no such endpoint (HTTP ${response.status}). ${endpointHint}`, { provider, status: response.status });
  }
  return httpFailureToAIError({ provider, status: response.status, message: message ?? '', headers: response.headers });
}

async function readCapped(response: Response): Promise<string> {
  try {
    const text = await response.text();
    return text.slice(0, MAX_ERROR_BODY);
  } catch {
    return '';
  }
}

/** The message of a JSON error body (`{error: "…"}`, `{error: {message}}`, `{message}`); never the raw body. */
export function vendorMessage(body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  return messageOf((parsed as { error?: unknown } | null)?.error) ?? messageOf(parsed);
}

function messageOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value.slice(0, 500);
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as { message?: unknown; error?: unknown };
  if (typeof record.message === 'string') return record.message.slice(0, 500);
  if (typeof record.error === 'string') return record.error.slice(0, 500);
  return undefined;
}

/**
 * Passes an NDJSON body through, rewriting any line whose `error` is an object into one whose
 * `error` is that object's message. Only chunks that contain `"error"` are decoded at all.
 */
function flattenErrors(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          return;
        }
        if (Buffer.from(value.buffer, value.byteOffset, value.byteLength).indexOf('"error"') < 0) {
          controller.enqueue(value);
          return;
        }
        const lines = new TextDecoder().decode(value).split('\n').map(flattenLine);
        controller.enqueue(encoder.encode(lines.join('\n')));
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}

function flattenLine(line: string): string {
  try {
    const parsed = JSON.parse(line) as { error?: unknown };
    if (typeof parsed.error !== 'object' || parsed.error === null) return line;
    return JSON.stringify({ ...parsed, error: messageOf(parsed.error) ?? JSON.stringify(parsed.error).slice(0, 500) });
  } catch {
    return line;
  }
}
