/**
 * Stand-in for Ollama's REST API as documented: `/api/chat` NDJSON (last object `done: true` with
 * `done_reason` and counts), `/api/tags`, `/api/ps`, `/api/version`, `/api/show`, `/api/delete`, and
 * `/api/pull` NDJSON progress. Errors are `{ "error": "..." }`.
 */
import type http from 'node:http';
import { delay, gone, sendJson, startHarness, writeSliced, type Harness, type RecordedRequest } from './harness.js';
import { DEFAULT_TOKENS, ScenarioQueue, UTF8_TOKENS, sendHtml, type Scenario } from './scenarios.js';

export interface OllamaServer extends Harness, Pick<ScenarioQueue, 'script'> {
  /** Installed model names; `/api/delete` removes from here. */
  readonly models: string[];
}

export interface OllamaServerOptions {
  readonly models?: readonly string[];
  /** Delay between pull progress lines. Default 5 ms. */
  readonly pullIntervalMs?: number;
  readonly pullSteps?: number;
}

export async function startOllamaServer(options: OllamaServerOptions = {}): Promise<OllamaServer> {
  const scenarios = new ScenarioQueue();
  const models = [...(options.models ?? ['llama3.2:latest', 'qwen2.5:0.5b'])];
  const harness = await startHarness(async (req, res) => {
    const route = `${req.method} ${req.path}`;
    if (route === 'GET /api/version') return sendJson(res, 200, { version: '0.12.0' });
    if (route === 'GET /api/tags') return sendJson(res, 200, { models: models.map(modelEntry) });
    if (route === 'GET /api/ps') return sendJson(res, 200, { models: models.slice(0, 1).map((m) => ({ ...modelEntry(m), expires_at: '2030-01-01T00:05:00Z', size_vram: 0 })) });
    if (route === 'POST /api/show') return show(req, res, models);
    if (route === 'DELETE /api/delete') return remove(req, res, models);
    if (route === 'POST /api/pull') return pull(req, res, models, options);
    if (route === 'POST /api/chat') return chat(req, res, scenarios.next(), models);
    return sendJson(res, 404, { error: 'not found' });
  });
  return { ...harness, models, script: (...s: Scenario[]) => scenarios.script(...s) };
}

function modelEntry(name: string) {
  return {
    name, model: name, modified_at: '2025-01-01T00:00:00Z', size: 1_234_567_890, digest: 'sha256:' + 'a'.repeat(64),
    details: { parent_model: '', format: 'gguf', family: 'llama', families: ['llama'], parameter_size: '3.2B', quantization_level: 'Q4_K_M' },
  };
}

function modelName(req: RecordedRequest): string {
  const body = (req.body ?? {}) as { model?: string; name?: string };
  return body.model ?? body.name ?? '';
}

function show(req: RecordedRequest, res: http.ServerResponse, models: readonly string[]): void {
  const name = modelName(req);
  if (!models.includes(name)) return sendJson(res, 404, { error: `model '${name}' not found` });
  sendJson(res, 200, { modelfile: '', parameters: '', template: '{{ .Prompt }}', details: modelEntry(name).details, model_info: { 'llama.context_length': 131072 } });
}

function remove(req: RecordedRequest, res: http.ServerResponse, models: string[]): void {
  const index = models.indexOf(modelName(req));
  if (index < 0) return sendJson(res, 404, { error: `model '${modelName(req)}' not found` });
  models.splice(index, 1);
  res.writeHead(200).end();
}

async function pull(req: RecordedRequest, res: http.ServerResponse, models: string[], options: OllamaServerOptions): Promise<void> {
  const name = modelName(req);
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  res.write(`${JSON.stringify({ status: 'pulling manifest' })}\n`);
  const total = 1_000_000;
  const steps = options.pullSteps ?? 10;
  for (let i = 1; i <= steps; i += 1) {
    if (gone(res)) return;
    await delay(options.pullIntervalMs ?? 5);
    res.write(`${JSON.stringify({ status: 'pulling abc123', digest: 'sha256:abc123', total, completed: Math.round((total * i) / steps) })}\n`);
  }
  res.write(`${JSON.stringify({ status: 'verifying sha256 digest' })}\n${JSON.stringify({ status: 'writing manifest' })}\n`);
  if (!models.includes(name)) models.push(name);
  res.end(`${JSON.stringify({ status: 'success' })}\n`);
}

const line = (model: string, content: string): string =>
  `${JSON.stringify({ model, created_at: new Date(0).toISOString(), message: { role: 'assistant', content }, done: false })}\n`;

function finalLine(model: string, scenario: Scenario, evalCount: number): string {
  const promptEvalCount = scenario.kind === 'truncated_prompt' ? scenario.promptEvalCount : scenario.kind === 'ok' ? (scenario.inputTokens ?? 11) : 11;
  const doneReason = scenario.kind === 'ok' && scenario.finish === 'length' ? 'length' : 'stop';
  return `${JSON.stringify({
    model, created_at: new Date(0).toISOString(), message: { role: 'assistant', content: '' }, done: true, done_reason: doneReason,
    total_duration: 5_000_000, load_duration: 1_000_000, prompt_eval_count: promptEvalCount, prompt_eval_duration: 1_000_000, eval_count: evalCount, eval_duration: 3_000_000,
  })}\n`;
}

async function chat(req: RecordedRequest, res: http.ServerResponse, scenario: Scenario, models: readonly string[]): Promise<void> {
  const body = (req.body ?? {}) as { model?: string; stream?: boolean };
  const model = body.model ?? '';
  if (scenario.kind === 'model_not_found' || !models.includes(model)) {
    return sendJson(res, 404, { error: `model "${model}" not found, try pulling it first` });
  }
  if (scenario.kind === 'server_error' || scenario.kind === 'overloaded') return sendJson(res, scenario.kind === 'overloaded' ? 503 : 500, { error: 'server busy' });
  if (scenario.kind === 'rate_limited') return sendJson(res, 503, { error: 'server busy, please try again. maximum pending requests exceeded' }, { 'retry-after': String(scenario.retryAfterSeconds ?? 1) });
  if (scenario.kind === 'html_page') return sendHtml(res, scenario.status, scenario.untyped);
  if (scenario.kind === 'error_object' && scenario.inStream !== true) return sendJson(res, 500, { error: { message: 'llama runner process has terminated: signal: killed', type: 'runner_error' } });
  const tokens = scenario.kind === 'split_utf8' ? (scenario.tokens ?? UTF8_TOKENS) : 'tokens' in scenario && scenario.tokens !== undefined ? scenario.tokens : DEFAULT_TOKENS;
  if (body.stream === false) {
    return sendJson(res, 200, JSON.parse(finalLine(model, scenario, tokens.length).replace('"content":""', `"content":${JSON.stringify(tokens.join(''))}`)));
  }
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  if (scenario.kind === 'slow') {
    for (let i = 0; i < (scenario.count ?? 1000); i += 1) {
      if (gone(res)) return;
      res.write(line(model, `t${i} `));
      await delay(scenario.intervalMs ?? 20);
    }
    res.end(finalLine(model, scenario, scenario.count ?? 1000));
    return;
  }
  const lines = tokens.map((t) => line(model, t));
  if (scenario.kind === 'silent_after_tokens') {
    res.write(lines.join(''));
    return;
  }
  if (scenario.kind === 'error_object') {
    res.end(`${lines.slice(0, 2).join('')}${JSON.stringify({ error: { message: 'llama runner process has terminated: signal: killed', type: 'runner_error' } })}\n`);
    return;
  }
  if (scenario.kind === 'cut_mid_stream') {
    res.write(lines.slice(0, 2).join(''));
    await delay(20);
    res.socket?.destroy();
    return;
  }
  if (scenario.kind !== 'no_final_event') lines.push(finalLine(model, scenario, tokens.length));
  const text = lines.join('');
  if (scenario.kind === 'split_utf8') await writeSliced(res, text, scenario.sliceBytes ?? 3);
  else res.write(text);
  res.end();
}
