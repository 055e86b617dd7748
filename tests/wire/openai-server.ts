/**
 * Stand-in for the OpenAI Chat Completions API as documented: SSE chunks of `chat.completion.chunk`,
 * a usage chunk with empty `choices` when `stream_options.include_usage` is set, `data: [DONE]`, and
 * OpenAI's error bodies (`{ error: { message, type, param, code } }`) and rate-limit headers.
 */
import type http from 'node:http';
import { delay, gone, sendJson, startHarness, writeSliced, type Harness, type RecordedRequest } from './harness.js';
import { DEFAULT_TOKENS, ScenarioQueue, UTF8_TOKENS, sendHtml, type Scenario } from './scenarios.js';

export interface OpenAIServer extends Harness, Pick<ScenarioQueue, 'script'> {}

export interface OpenAIServerOptions {
  readonly models?: readonly string[];
}

interface ChatBody {
  model?: string;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
}

export async function startOpenAIServer(options: OpenAIServerOptions = {}): Promise<OpenAIServer> {
  const scenarios = new ScenarioQueue();
  const models = options.models ?? ['gpt-4o-mini', 'gpt-4o'];
  const harness = await startHarness(async (req, res) => {
    // As the real API: only under /v1 (a base URL without it gets OpenAI's JSON "Unknown request URL").
    if (req.method === 'GET' && req.path === '/v1/models') {
      sendJson(res, 200, { object: 'list', data: models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'system' })) });
      return;
    }
    if (req.method === 'POST' && req.path === '/v1/chat/completions') {
      await chat(req, res, scenarios.next());
      return;
    }
    sendJson(res, 404, errorBody(`Unknown request URL: ${req.method} ${req.path}.`, 'invalid_request_error', 'unknown_url'));
  });
  return { ...harness, script: (...s: Scenario[]) => scenarios.script(...s) };
}

function errorBody(message: string, type: string, code: string | null, param: string | null = null) {
  return { error: { message, type, param, code } };
}

/** OpenAI echoes the presented key as its first characters, stars, and its last four. */
export function maskKey(key: string): string {
  return key.length <= 10 ? '***' : `${key.slice(0, 6)}${'*'.repeat(Math.max(3, key.length - 10))}${key.slice(-4)}`;
}

function presentedKey(req: RecordedRequest): string {
  const auth = req.headers.authorization ?? '';
  return auth.replace(/^Bearer\s+/i, '');
}

async function chat(req: RecordedRequest, res: http.ServerResponse, scenario: Scenario): Promise<void> {
  const body = (req.body ?? {}) as ChatBody;
  const model = body.model ?? 'unknown';
  switch (scenario.kind) {
    case 'auth_error':
      return sendJson(res, 401, errorBody(`Incorrect API key provided: ${maskKey(presentedKey(req))}. You can find your API key at https://platform.openai.com/account/api-keys.`, 'invalid_request_error', 'invalid_api_key'));
    case 'rate_limited':
      return sendJson(res, 429, errorBody(`Rate limit reached for ${model} on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in ${scenario.retryAfterSeconds ?? 1}s.`, 'requests', 'rate_limit_exceeded'), {
        'retry-after': String(scenario.retryAfterSeconds ?? 1),
        'x-ratelimit-limit-requests': '3',
        'x-ratelimit-remaining-requests': '0',
      });
    case 'quota':
      return sendJson(res, 429, errorBody('You exceeded your current quota, please check your plan and billing details.', 'insufficient_quota', 'insufficient_quota'));
    case 'server_error':
      return sendJson(res, 500, errorBody('The server had an error while processing your request. Sorry about that!', 'server_error', null));
    case 'overloaded':
    case 'overloaded_in_stream':
      return sendJson(res, 503, errorBody('The engine is currently overloaded, please try again later.', 'server_error', null));
    case 'context_length':
      return sendJson(res, 400, errorBody("This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.", 'invalid_request_error', 'context_length_exceeded', 'messages'));
    case 'model_not_found':
      return sendJson(res, 404, errorBody(`The model \`${model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found'));
    case 'html_page':
      return sendHtml(res, scenario.status, scenario.untyped);
    default:
      return body.stream === true ? stream(res, body, scenario) : complete(res, model, scenario);
  }
}

function complete(res: http.ServerResponse, model: string, scenario: Scenario): void {
  const tokens = tokensOf(scenario);
  sendJson(res, 200, {
    id: 'chatcmpl-test',
    object: 'chat.completion',
    created: 1_700_000_000,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: tokens.join(''), refusal: null }, logprobs: null, finish_reason: finishOf(scenario) }],
    usage: usage(scenario, tokens.length),
  });
}

function tokensOf(scenario: Scenario): readonly string[] {
  if (scenario.kind === 'split_utf8') return scenario.tokens ?? UTF8_TOKENS;
  if ('tokens' in scenario && scenario.tokens !== undefined) return scenario.tokens;
  return DEFAULT_TOKENS;
}

function finishOf(scenario: Scenario): 'stop' | 'length' {
  return scenario.kind === 'ok' ? (scenario.finish ?? 'stop') : 'stop';
}

function usage(scenario: Scenario, completion: number) {
  const prompt = scenario.kind === 'ok' ? (scenario.inputTokens ?? 9) : 9;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function chunk(model: string, delta: object, finish: string | null, withUsage: boolean): string {
  const data = {
    id: 'chatcmpl-test', object: 'chat.completion.chunk', created: 1_700_000_000, model, system_fingerprint: 'fp_test',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(withUsage ? { usage: null } : {}),
  };
  return `data: ${JSON.stringify(data)}\n\n`;
}

async function stream(res: http.ServerResponse, body: ChatBody, scenario: Scenario): Promise<void> {
  const model = body.model ?? 'unknown';
  const withUsage = body.stream_options?.include_usage === true;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  if (scenario.kind === 'slow') return slowStream(res, model, withUsage, scenario);
  if (scenario.kind === 'stall') return void res.flushHeaders();
  const tokens = tokensOf(scenario);
  const events = [chunk(model, { role: 'assistant', content: '' }, null, withUsage), ...tokens.map((t) => chunk(model, { content: t }, null, withUsage))];
  if (scenario.kind === 'silent_after_tokens') {
    res.write(events.join(''));
    return;
  }
  if (scenario.kind === 'cut_mid_stream') {
    res.write(events.slice(0, 3).join(''));
    await delay(20);
    res.socket?.destroy();
    return;
  }
  events.push(chunk(model, {}, finishOf(scenario), withUsage));
  if (withUsage) events.push(`data: ${JSON.stringify({ id: 'chatcmpl-test', object: 'chat.completion.chunk', created: 1_700_000_000, model, choices: [], usage: usage(scenario, tokens.length) })}\n\n`);
  if (scenario.kind !== 'no_final_event') events.push('data: [DONE]\n\n');
  if (scenario.kind === 'comment_after_done') events.push(': ping\n\n');
  const text = events.join('');
  if (scenario.kind === 'split_utf8') await writeSliced(res, text, scenario.sliceBytes ?? 3);
  else res.write(text);
  res.end();
}

async function slowStream(res: http.ServerResponse, model: string, withUsage: boolean, scenario: Extract<Scenario, { kind: 'slow' }>): Promise<void> {
  res.write(chunk(model, { role: 'assistant', content: '' }, null, withUsage));
  for (let i = 0; i < (scenario.count ?? 1000); i += 1) {
    if (gone(res)) return;
    res.write(chunk(model, { content: `t${i} ` }, null, withUsage));
    scenario.sentAt?.push(performance.now());
    await delay(scenario.intervalMs ?? 20);
  }
  res.write(chunk(model, {}, 'stop', withUsage));
  res.end('data: [DONE]\n\n');
}
