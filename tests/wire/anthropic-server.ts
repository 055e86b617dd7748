/**
 * Stand-in for Anthropic's Messages API as documented: the SSE event sequence message_start,
 * content_block_start, ping, content_block_delta (text_delta)..., content_block_stop, message_delta
 * (stop_reason, usage), message_stop; an `event: error` inside a 200 stream; error bodies
 * `{ type: "error", error: { type, message } }` with 429 `retry-after` and 529 overloaded.
 */
import type http from 'node:http';
import { delay, gone, sendJson, startHarness, writeSliced, type Harness, type RecordedRequest } from './harness.js';
import { DEFAULT_TOKENS, ScenarioQueue, UTF8_TOKENS, sendHtml, type Scenario } from './scenarios.js';

export interface AnthropicServer extends Harness, Pick<ScenarioQueue, 'script'> {}

interface MessagesBody {
  model?: string;
  stream?: boolean;
}

export async function startAnthropicServer(models: readonly string[] = ['claude-test-1', 'claude-test-2']): Promise<AnthropicServer> {
  const scenarios = new ScenarioQueue();
  const harness = await startHarness(async (req, res) => {
    if (req.method === 'GET' && req.path.startsWith('/v1/models')) {
      const data = models.map((id) => ({ type: 'model', id, display_name: id.replace(/-/g, ' '), created_at: '2025-01-01T00:00:00Z' }));
      sendJson(res, 200, { data, has_more: false, first_id: models[0] ?? null, last_id: models.at(-1) ?? null });
      return;
    }
    if (req.method === 'POST' && req.path.startsWith('/v1/messages')) {
      await messages(req, res, scenarios.next());
      return;
    }
    sendJson(res, 404, errorBody('not_found_error', 'Not found'));
  });
  return { ...harness, script: (...s: Scenario[]) => scenarios.script(...s) };
}

function errorBody(type: string, message: string) {
  return { type: 'error', error: { type, message }, request_id: 'req_test' };
}

async function messages(req: RecordedRequest, res: http.ServerResponse, scenario: Scenario): Promise<void> {
  const body = (req.body ?? {}) as MessagesBody;
  const model = body.model ?? 'unknown';
  // The API takes the key as `x-api-key` or, as SDK 1.x sends it, `Authorization: Bearer`.
  const hasKey = typeof req.headers['x-api-key'] === 'string' || /^Bearer \S+/.test(req.headers.authorization ?? '');
  if (!hasKey || typeof req.headers['anthropic-version'] !== 'string') {
    return sendJson(res, 401, errorBody('authentication_error', 'x-api-key header is required'));
  }
  switch (scenario.kind) {
    case 'auth_error':
      return sendJson(res, 401, errorBody('authentication_error', 'invalid x-api-key'));
    case 'rate_limited':
      return sendJson(res, 429, errorBody('rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit.'), {
        'retry-after': String(scenario.retryAfterSeconds ?? 1),
        'anthropic-ratelimit-requests-remaining': '0',
      });
    case 'quota':
      return sendJson(res, 402, errorBody('billing_error', 'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.'));
    case 'server_error':
      return sendJson(res, 500, errorBody('api_error', 'Internal server error'));
    case 'overloaded':
      return sendJson(res, 529, errorBody('overloaded_error', 'Overloaded'));
    case 'context_length':
      return sendJson(res, 400, errorBody('invalid_request_error', 'prompt is too long: 210000 tokens > 200000 maximum'));
    case 'model_not_found':
      return sendJson(res, 404, errorBody('not_found_error', `model: ${model}`));
    case 'html_page':
      return sendHtml(res, scenario.status, scenario.untyped);
    default:
      return body.stream === true ? stream(res, model, scenario) : complete(res, model, scenario);
  }
}

function tokensOf(scenario: Scenario): readonly string[] {
  if (scenario.kind === 'split_utf8') return scenario.tokens ?? UTF8_TOKENS;
  if ('tokens' in scenario && scenario.tokens !== undefined) return scenario.tokens;
  return DEFAULT_TOKENS;
}

function stopReason(scenario: Scenario): string {
  return scenario.kind === 'ok' && scenario.finish === 'length' ? 'max_tokens' : 'end_turn';
}

function inputTokens(scenario: Scenario): number {
  return scenario.kind === 'ok' ? (scenario.inputTokens ?? 12) : 12;
}

function complete(res: http.ServerResponse, model: string, scenario: Scenario): void {
  const tokens = tokensOf(scenario);
  sendJson(res, 200, {
    id: 'msg_test', type: 'message', role: 'assistant', model,
    content: [{ type: 'text', text: tokens.join('') }],
    stop_reason: stopReason(scenario), stop_sequence: null,
    usage: { input_tokens: inputTokens(scenario), output_tokens: tokens.length },
  });
}

const sse = (event: string, data: object): string => `event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`;

function opening(model: string, scenario: Scenario): string[] {
  return [
    sse('message_start', { message: { id: 'msg_test', type: 'message', role: 'assistant', content: [], model, stop_reason: null, stop_sequence: null, usage: { input_tokens: inputTokens(scenario), output_tokens: 1 } } }),
    sse('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    sse('ping', {}),
  ];
}

const delta = (text: string): string => sse('content_block_delta', { index: 0, delta: { type: 'text_delta', text } });

async function stream(res: http.ServerResponse, model: string, scenario: Scenario): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  if (scenario.kind === 'slow') return slowStream(res, model, scenario);
  if (scenario.kind === 'stall') return void res.flushHeaders();
  const tokens = tokensOf(scenario);
  const events = [...opening(model, scenario), ...tokens.map(delta)];
  if (scenario.kind === 'silent_after_tokens') {
    res.write(events.join(''));
    return;
  }
  if (scenario.kind === 'cut_mid_stream') {
    res.write(events.slice(0, 5).join(''));
    await delay(20);
    res.socket?.destroy();
    return;
  }
  if (scenario.kind === 'overloaded_in_stream') {
    res.write(events.slice(0, 5).join(''));
    res.end(`event: error\ndata: ${JSON.stringify(errorBody('overloaded_error', 'Overloaded'))}\n\n`);
    return;
  }
  events.push(sse('content_block_stop', { index: 0 }));
  events.push(sse('message_delta', { delta: { stop_reason: stopReason(scenario), stop_sequence: null }, usage: { output_tokens: tokens.length } }));
  if (scenario.kind !== 'no_final_event') events.push(sse('message_stop', {}));
  if (scenario.kind === 'comment_after_done') events.push(': ping\n\n');
  const text = events.join('');
  if (scenario.kind === 'split_utf8') await writeSliced(res, text, scenario.sliceBytes ?? 3);
  else res.write(text);
  res.end();
}

async function slowStream(res: http.ServerResponse, model: string, scenario: Extract<Scenario, { kind: 'slow' }>): Promise<void> {
  res.write(opening(model, scenario).join(''));
  for (let i = 0; i < (scenario.count ?? 1000); i += 1) {
    if (gone(res)) return;
    res.write(delta(`t${i} `));
    await delay(scenario.intervalMs ?? 20);
  }
  res.write(sse('content_block_stop', { index: 0 }));
  res.write(sse('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: scenario.count ?? 1000 } }));
  res.end(sse('message_stop', {}));
}
