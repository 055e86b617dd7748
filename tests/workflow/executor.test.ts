/**
 * The executor against the OpenAI, Anthropic and Ollama stand-ins: ordering and concurrency,
 * skipped branches, error connections, structured-field references, cancel mid-branch, a provider
 * failing in one branch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnthropicProvider } from '../../extensions/ai-sidecar/src/providers/anthropic.js';
import { OllamaProvider } from '../../extensions/ai-sidecar/src/providers/ollama.js';
import { OpenAICompatibleProvider } from '../../extensions/ai-sidecar/src/providers/openai-compatible.js';
import { WorkflowError } from '../../extensions/ai-sidecar/src/workflow/errors.js';
import type { WorkflowBlock } from '../../extensions/ai-sidecar/src/workflow/model.js';
import { staticKeys } from '../providers/fixtures.js';
import { startAnthropicServer, type AnthropicServer } from '../wire/anthropic-server.js';
import { startOllamaServer, type OllamaServer } from '../wire/ollama-server.js';
import { startOpenAIServer, type OpenAIServer } from '../wire/openai-server.js';
import { agent, edge, executorFor, managerWith, response, run, start, traceOf, workflow } from './helpers.js';

let openai: OpenAIServer;
let anthropic: AnthropicServer;
let ollama: OllamaServer;
beforeAll(async () => {
  [openai, anthropic, ollama] = await Promise.all([startOpenAIServer(), startAnthropicServer(), startOllamaServer()]);
});
afterAll(async () => {
  await Promise.all([openai.close(), anthropic.close(), ollama.close()]);
});

function executor() {
  return executorFor(
    managerWith(
      new OpenAICompatibleProvider({ providerName: 'openai', baseURL: `${openai.url}/v1` }, staticKeys()),
      new AnthropicProvider({ baseURL: anthropic.url }, staticKeys('sk-ant-api03-TESTabcdefghijklmnopqrstuvwxyz-0123')),
      new OllamaProvider({ host: ollama.url }),
    ),
  );
}


describe('workflow executor', () => {
  it('runs a chain in order, each block reading the one before, and returns the response', async () => {
    openai.script({ kind: 'ok', tokens: ['A ', 'story'] }, { kind: 'ok', tokens: ['Short', '.'] });
    const before = openai.requests.length;
    const wf = workflow(
      [start(), agent('writer', { provider: 'openai', userPrompt: 'Write about <start.input>' }, 'Story Writer'), agent('editor', { provider: 'openai', userPrompt: 'Shorten: <storywriter.content>' }, 'Editor'), response('<editor.content>')],
      [edge('start', 'writer'), edge('writer', 'editor'), edge('editor', 'response')],
    );
    const { execution, events } = await run(executor(), wf, 'a fox');
    expect(execution.status).toBe('completed');
    expect(execution.response).toBe('Short.');
    const sent = openai.requests.slice(before).map((r) => (r.body as { messages: { content: string }[] }).messages.at(-1)?.content);
    expect(sent).toEqual(['Write about a fox', 'Shorten: A story']);
    expect(traceOf(execution, 'editor').input).toMatchObject({ userPrompt: 'Shorten: A story', provider: 'openai' });
    expect(traceOf(execution, 'writer')).toMatchObject({ status: 'completed', outputTokens: expect.any(Number), provider: 'openai' });
    expect(traceOf(execution, 'writer').timeToFirstTokenMs).not.toBeNull();
    // Events: each block starts, streams tagged with its id, and is done before its successor starts.
    const order = events.filter((e) => e.type === 'block-started' || e.type === 'block-done').map((e) => `${e.type}:${e.type === 'block-started' ? e.block.id : e.trace.blockId}`);
    expect(order).toEqual(['block-started:start', 'block-done:start', 'block-started:writer', 'block-done:writer', 'block-started:editor', 'block-done:editor', 'block-started:response', 'block-done:response']);
    expect(events.filter((e) => e.type === 'block-text' && e.blockId === 'writer').map((e) => (e.type === 'block-text' ? e.text : '')).join('')).toBe('A story');
    expect(events.at(-1)?.type).toBe('done');
  });

  it('a Start block with its own name answers to both <start.input> and <itsname.input>', async () => {
    openai.script({ kind: 'ok', tokens: ['fine'] });
    const before = openai.requests.length;
    const wf = workflow([start('Ticket In'), agent('a', { provider: 'openai', userPrompt: '<start.input>/<ticketin.input>' })], [edge('start', 'a')]);
    const { execution } = await run(executor(), wf, 'hi');
    expect(execution.status).toBe('completed');
    expect((openai.requests[before]?.body as { messages: { content: string }[] }).messages.at(-1)?.content).toBe('hi/hi');
  });

  it('runs independent branches at the same time and joins them after both finished', async () => {
    const sentA: number[] = [];
    openai.script({ kind: 'slow', intervalMs: 30, count: 5, sentAt: sentA });
    const anthropicBefore = anthropic.requests.length;
    anthropic.script({ kind: 'ok', tokens: ['B1', 'B2'] });
    ollama.script({ kind: 'ok', tokens: ['joined'] });
    const wf = workflow(
      [start(), agent('a', { provider: 'openai' }), agent('b', { provider: 'anthropic', model: 'claude-test-1' }), agent('join', { provider: 'ollama', model: 'llama3.2:latest', userPrompt: '<a.content>|<b.content>' }), response('<join.content>')],
      [edge('start', 'a'), edge('start', 'b'), edge('a', 'join'), edge('b', 'join'), edge('join', 'response')],
    );
    const { execution, events } = await run(executor(), wf, 'go');
    expect(execution.status).toBe('completed');
    const idx = (type: string, id: string) => events.findIndex((e) => e.type === type && (e.type === 'block-started' ? e.block.id : 'trace' in e ? e.trace.blockId : '') === id);
    // b started before a finished (concurrent), and the join started after both were done.
    expect(idx('block-started', 'b')).toBeLessThan(idx('block-done', 'a'));
    expect(idx('block-started', 'join')).toBeGreaterThan(idx('block-done', 'a'));
    expect(idx('block-started', 'join')).toBeGreaterThan(idx('block-done', 'b'));
    // Each branch called its provider once; a streamed all five of its tokens.
    expect(anthropic.requests.length).toBe(anthropicBefore + 1);
    expect(sentA.length).toBe(5);
    expect(traceOf(execution, 'join').input?.userPrompt).toBe('t0 t1 t2 t3 t4 |B1B2');
    expect(execution.response).toBe('joined');
  });

  it('follows a condition on a structured field and skips the branch not taken', async () => {
    openai.script({ kind: 'ok', tokens: ['{"score": 8, "label": "spam"}'] }, { kind: 'ok', tokens: ['high path'] });
    const judge: WorkflowBlock = {
      id: 'judge',
      name: 'Judge',
      type: 'agent',
      inputs: {
        provider: 'openai',
        model: 'gpt-4o-mini',
        userPrompt: 'Rate <start.input>',
        responseFormat: { name: 'rating', schema: { type: 'object', properties: { score: { type: 'number' }, label: { type: 'string' } }, required: ['score', 'label'] } },
      },
    };
    const wf = workflow(
      [
        start(),
        judge,
        { id: 'check', name: 'Check', type: 'condition', inputs: { branches: [{ id: 'if', kind: 'if', expression: '<judge.score> > 5 && <judge.label>.startsWith("sp")' }, { id: 'else', kind: 'else' }] } },
        agent('high', { provider: 'openai', userPrompt: 'High: <judge.label>' }),
        agent('low', { provider: 'openai' }),
        agent('afterlow', { provider: 'openai' }),
        response('<high.content>'),
      ],
      [edge('start', 'judge'), edge('judge', 'check'), edge('check', 'high', 'branch', 'if'), edge('check', 'low', 'branch', 'else'), edge('low', 'afterlow'), edge('high', 'response')],
    );
    const before = openai.requests.length;
    const { execution, events } = await run(executor(), wf, 'this email');
    expect(execution.status).toBe('completed');
    expect(traceOf(execution, 'judge').output).toMatchObject({ score: 8, label: 'spam' });
    expect(traceOf(execution, 'check').output).toMatchObject({ selectedOption: 'if', conditionResult: true, selectedPath: 'high' });
    expect(traceOf(execution, 'check').input).toMatchObject({ values: { '<judge.score>': 8, '<judge.label>': 'spam' } });
    expect(traceOf(execution, 'low').status).toBe('skipped');
    expect(traceOf(execution, 'afterlow').status).toBe('skipped');
    expect(events.filter((e) => e.type === 'block-skipped').map((e) => (e.type === 'block-skipped' ? e.trace.blockId : ''))).toEqual(['low', 'afterlow']);
    expect(execution.response).toBe('high path');
    // The judge asked for the schema on the wire; only judge and high called the model.
    const calls = openai.requests.slice(before);
    expect(calls).toHaveLength(2);
    expect((calls[0]?.body as { response_format?: { type: string } }).response_format?.type).toBe('json_schema');
    expect((calls[1]?.body as { messages: { content: string }[] }).messages.at(-1)?.content).toBe('High: spam');
  });

  it('follows a failed block\'s error connection, and the execution completes', async () => {
    openai.script({ kind: 'auth_error' }, { kind: 'ok', tokens: ['fallback'] });
    const wf = workflow(
      [start(), agent('main', { provider: 'openai' }), agent('next', { provider: 'openai' }), agent('fallback', { provider: 'openai', userPrompt: 'Recover from: <main.error>' }), response('<fallback.content>')],
      [edge('start', 'main'), edge('main', 'next'), edge('main', 'fallback', 'error'), edge('fallback', 'response')],
    );
    const { execution, events } = await run(executor(), wf, 'x');
    expect(execution.status).toBe('completed');
    expect(traceOf(execution, 'main')).toMatchObject({ status: 'failed', error: { code: 'auth' } });
    expect(traceOf(execution, 'next').status).toBe('skipped');
    expect(String(traceOf(execution, 'fallback').input?.userPrompt)).toMatch(/^Recover from: .+/);
    expect(events.find((e) => e.type === 'block-failed')).toMatchObject({ handled: true });
    expect(execution.response).toBe('fallback');
  });

  it('fails the execution when a provider fails in one branch with no error connection, stopping the other branch', async () => {
    openai.script({ kind: 'slow', intervalMs: 40, count: 200 });
    anthropic.script({ kind: 'quota' });
    const wf = workflow(
      [start(), agent('slow', { provider: 'openai' }), agent('broken', { provider: 'anthropic', model: 'claude-test-1' }), agent('after', { provider: 'openai' })],
      [edge('start', 'slow'), edge('start', 'broken'), edge('slow', 'after')],
    );
    const t0 = performance.now();
    const { execution } = await run(executor(), wf, 'x');
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(execution.status).toBe('failed');
    expect(execution.error).toMatchObject({ code: 'quota', message: expect.stringContaining('"broken"') });
    expect(traceOf(execution, 'broken').status).toBe('failed');
    expect(traceOf(execution, 'slow').status).toBe('cancelled');
    expect(traceOf(execution, 'after')).toMatchObject({ status: 'skipped', skipReason: expect.stringContaining('failed') });
    expect(execution.response).toBeNull();
  });

  it('cancel mid-branch stops every running block and starts no other', async () => {
    openai.script({ kind: 'slow', intervalMs: 20, count: 500 });
    ollama.script({ kind: 'slow', intervalMs: 20, count: 500 });
    const wf = workflow(
      [start(), agent('a', { provider: 'openai' }), agent('b', { provider: 'ollama', model: 'llama3.2:latest' }), agent('c', { provider: 'anthropic', model: 'claude-test-1' })],
      [edge('start', 'a'), edge('start', 'b'), edge('a', 'c'), edge('b', 'c')],
    );
    const before = anthropic.requests.length;
    let handle: { cancel(): void } | undefined;
    let texts = 0;
    const ex = executor();
    const started = ex.start({
      workflow: wf,
      input: 'x',
      onEvent: (e) => {
        if (e.type === 'block-text' && ++texts === 6) handle?.cancel();
      },
    });
    handle = started;
    const execution = await started.result;
    expect(execution.status).toBe('cancelled');
    expect(traceOf(execution, 'a').status).toBe('cancelled');
    expect(traceOf(execution, 'b').status).toBe('cancelled');
    expect(traceOf(execution, 'c').status).toBe('skipped');
    expect(anthropic.requests.length).toBe(before);
    // Partial text is kept nowhere as a success, but tokens were streamed before the stop.
    expect(texts).toBeGreaterThanOrEqual(6);
  });

  it('a router runs only the target its model chose', async () => {
    openai.script({ kind: 'ok', tokens: ['{"target":', '"billing"}'] }, { kind: 'ok', tokens: ['refund sent'] });
    const wf = workflow(
      [
        start(),
        { id: 'route', name: 'Route', type: 'router', inputs: { prompt: '<start.input>', provider: 'openai', model: 'gpt-4o-mini' } },
        { ...agent('billing', { provider: 'openai' }), description: 'Money, invoices and refunds' } as WorkflowBlock,
        { ...agent('tech', { provider: 'openai' }), description: 'Bugs and crashes' } as WorkflowBlock,
      ],
      [edge('start', 'route'), edge('route', 'billing'), edge('route', 'tech')],
    );
    const before = openai.requests.length;
    const { execution } = await run(executor(), wf, 'I want my money back');
    expect(execution.status).toBe('completed');
    expect(traceOf(execution, 'route').output).toMatchObject({ selectedPath: 'billing' });
    expect(traceOf(execution, 'tech').status).toBe('skipped');
    expect(execution.response).toBe('refund sent');
    const routed = openai.requests[before]?.body as { messages: { content: string }[]; response_format: { json_schema: { schema: { properties: { target: { enum: string[] } } } } } };
    expect(routed.messages.at(-1)?.content).toContain('Money, invoices and refunds');
    expect(routed.response_format.json_schema.schema.properties.target.enum).toEqual(['billing', 'tech']);
  });

  it('refuses to start a workflow whose references cannot resolve, naming block and reference', () => {
    const wf = workflow([start(), agent('a', { provider: 'openai', userPrompt: '<b.content>' }), agent('b', { provider: 'openai' })], [edge('start', 'a'), edge('a', 'b')]);
    expect(() => executor().start({ workflow: wf, input: 'x' })).toThrow(WorkflowError);
    expect(() => executor().start({ workflow: wf, input: 'x' })).toThrow(/Block "a", userPrompt: <b.content> refers to "b", which cannot have run before "a"/);
  });

  it('fails a structured agent whose answer is not JSON, in plain words', async () => {
    openai.script({ kind: 'ok', tokens: ['not json'] });
    const wf = workflow(
      [start(), { id: 'j', name: 'J', type: 'agent', inputs: { provider: 'openai', model: 'gpt-4o-mini', userPrompt: 'x', responseFormat: { name: 'r', schema: { type: 'object', properties: { a: { type: 'string' } } } } } }],
      [edge('start', 'j')],
    );
    const { execution } = await run(executor(), wf, 'x');
    expect(execution.status).toBe('failed');
    expect(traceOf(execution, 'j').error).toMatchObject({ code: 'invalid_output', message: expect.stringContaining('not valid JSON') });
  });

  it('an unknown provider fails its block, not the sidecar', async () => {
    const wf = workflow([start(), agent('a', { provider: 'nope' })], [edge('start', 'a')]);
    const { execution } = await run(executor(), wf, 'x');
    expect(execution.status).toBe('failed');
    expect(traceOf(execution, 'a').error?.message).toContain('Unknown provider "nope"');
  });
});

describe('workflow executor robustness', () => {
  it('a block whose model run is cancelled on its own (by its AI execution id) stops the execution instead of hanging', async () => {
    openai.script({ kind: 'slow', intervalMs: 20, count: 500 });
    const manager = managerWith(new OpenAICompatibleProvider({ providerName: 'openai', baseURL: `${openai.url}/v1` }, staticKeys()));
    const wf = workflow([start(), agent('a', { provider: 'openai' }), agent('b', { provider: 'openai' })], [edge('start', 'a'), edge('a', 'b')]);
    let cancelled = false;
    const { execution } = await run(executorFor(manager), wf, 'x', {
      onEvent: (e) => {
        if (e.type === 'block-text' && !cancelled) cancelled = manager.cancel(manager.runningExecutions()[0] ?? '');
      },
    });
    expect(cancelled).toBe(true);
    expect(execution.status).toBe('cancelled');
    expect(traceOf(execution, 'b').status).toBe('skipped');
  });

  it('a listener that throws does not break the execution', async () => {
    openai.script({ kind: 'ok', tokens: ['fine'] });
    const wf = workflow([start(), agent('a', { provider: 'openai' })], [edge('start', 'a')]);
    const { execution } = await run(executor(), wf, 'x', {
      onEvent: () => {
        throw new Error('listener bug');
      },
    });
    expect(execution).toMatchObject({ status: 'completed', response: 'fine' });
  });
});

describe('structured answers on each vendor', () => {
  const schema = { type: 'object', properties: { verdict: { type: 'string' }, score: { type: 'number' } }, required: ['verdict', 'score'] };
  it.each([
    { provider: 'openai', model: 'gpt-4o-mini', server: () => openai, path: '/chat/completions', sent: (b: Record<string, unknown>) => (b.response_format as { json_schema: { schema: unknown } }).json_schema.schema },
    { provider: 'anthropic', model: 'claude-test-1', server: () => anthropic, path: '/v1/messages', sent: (b: Record<string, unknown>) => (b.output_config as { format: { schema: unknown } }).format.schema },
    { provider: 'ollama', model: 'llama3.2:latest', server: () => ollama, path: '/api/chat', sent: (b: Record<string, unknown>) => b.format },
  ])('$provider: the schema goes on the wire and the answer\'s fields are referenceable', async ({ provider, model, server, path, sent }) => {
    server().script({ kind: 'ok', tokens: ['{"verdict": "ok", ', '"score": 3}'] }, { kind: 'ok', tokens: ['next'] });
    const before = server().requests.length;
    const wf = workflow(
      [
        start(),
        { id: 'judge', name: 'Judge', type: 'agent', inputs: { provider, model, userPrompt: '<start.input>', responseFormat: { name: 'verdict', schema } } },
        agent('next', { provider, model, userPrompt: 'verdict=<judge.verdict> score=<judge.score>' }),
      ],
      [edge('start', 'judge'), edge('judge', 'next')],
    );
    const { execution } = await run(executor(), wf, 'rate this');
    expect(execution.status).toBe('completed');
    const calls = server().requests.slice(before).filter((r) => r.path.endsWith(path));
    expect(sent(calls[0]?.body as Record<string, unknown>)).toEqual(schema);
    expect(traceOf(execution, 'next').input?.userPrompt).toBe('verdict=ok score=3');
  });
});
