/**
 * The executor on the real tiny GGUF model in-process: a structured answer through the JSON-schema
 * grammar feeding a condition, two branches queueing on the one model, and cancel mid-branch.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalLlamaProvider } from '../../extensions/ai-sidecar/src/providers/local-llama.js';
import type { WorkflowBlock } from '../../extensions/ai-sidecar/src/workflow/model.js';
import { agent, edge, executorFor, managerWith, response, run, start, traceOf, workflow } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MODEL = [path.resolve(ROOT, '../shared/models/stories260K.gguf'), path.resolve(ROOT, '../../shared/models/stories260K.gguf')].find((p) => existsSync(p)) ?? '';

const local = new LocalLlamaProvider({ threads: 1 });
const manager = managerWith(local);
afterAll(async () => {
  await manager.dispose();
});

const story = (id: string, userPrompt: string, maxTokens = 24): WorkflowBlock => agent(id, { provider: 'local', model: MODEL, userPrompt, maxTokens, temperature: 0 });

describe.skipIf(MODEL === '')('workflow executor on the local model', () => {
  it('a json-schema answer from the grammar is parseable, and its field drives the condition', async () => {
    const judge: WorkflowBlock = {
      id: 'judge',
      name: 'Judge',
      type: 'agent',
      inputs: {
        provider: 'local',
        model: MODEL,
        userPrompt: 'Once upon a time <start.input>',
        maxTokens: 40,
        temperature: 0,
        responseFormat: { name: 'verdict', schema: { type: 'object', properties: { size: { type: 'string', enum: ['big', 'small'] }, furry: { type: 'boolean' } }, required: ['size', 'furry'] } },
      },
    };
    const wf = workflow(
      [
        start(),
        judge,
        { id: 'check', name: 'Check', type: 'condition', inputs: { branches: [{ id: 'if', kind: 'if', expression: '<judge.size> == "big" || <judge.furry> || !<judge.furry>' }, { id: 'else', kind: 'else' }] } },
        story('yes', 'The <judge.size> dog'),
        story('no', 'never'),
        response('<judge.size>/<judge.furry>'),
      ],
      [edge('start', 'judge'), edge('judge', 'check'), edge('check', 'yes', 'branch', 'if'), edge('check', 'no', 'branch', 'else'), edge('yes', 'response')],
    );
    const { execution } = await run(executorFor(manager), wf, 'a dog');
    expect(execution.error).toBeNull();
    expect(execution.status).toBe('completed');
    const output = traceOf(execution, 'judge').output ?? {};
    expect(['big', 'small']).toContain(output.size);
    expect(typeof output.furry).toBe('boolean');
    expect(JSON.parse(String(output.content))).toEqual({ size: output.size, furry: output.furry });
    expect(traceOf(execution, 'yes').input?.userPrompt).toBe(`The ${String(output.size)} dog`);
    expect(traceOf(execution, 'no').status).toBe('skipped');
    expect(execution.response).toBe(`${String(output.size)}/${String(output.furry)}`);
  }, 120_000);

  it('two branches on the one model both complete (they queue), and the join sees both', async () => {
    const wf = workflow(
      [start(), story('a', 'Once upon a time a cat'), story('b', 'Once upon a time a bird'), story('join', '<a.content> and <b.content>', 8)],
      [edge('start', 'a'), edge('start', 'b'), edge('a', 'join'), edge('b', 'join')],
    );
    const { execution } = await run(executorFor(manager), wf, 'x');
    expect(execution.status).toBe('completed');
    const a = traceOf(execution, 'a');
    const b = traceOf(execution, 'b');
    expect(a.outputTokens).toBeGreaterThan(0);
    expect(b.outputTokens).toBeGreaterThan(0);
    expect(traceOf(execution, 'join').input?.userPrompt).toBe(`${String(a.output?.content)} and ${String(b.output?.content)}`);
  }, 120_000);

  it('a router on the local model names one of its targets (grammar-constrained) and only that one runs', async () => {
    const wf = workflow(
      [
        start(),
        { id: 'route', name: 'Route', type: 'router', inputs: { prompt: '<start.input>', provider: 'local', model: MODEL } },
        { ...story('cats', 'Once upon a time a cat'), description: 'Stories about cats' } as WorkflowBlock,
        { ...story('dogs', 'Once upon a time a dog'), description: 'Stories about dogs' } as WorkflowBlock,
      ],
      [edge('start', 'route'), edge('route', 'cats'), edge('route', 'dogs')],
    );
    const { execution } = await run(executorFor(manager), wf, 'a story about a dog');
    expect(execution.error).toBeNull();
    const chosen = traceOf(execution, 'route').output?.selectedPath;
    expect(['cats', 'dogs']).toContain(chosen);
    const other = chosen === 'cats' ? 'dogs' : 'cats';
    expect(traceOf(execution, String(chosen)).status).toBe('completed');
    expect(traceOf(execution, other).status).toBe('skipped');
  }, 120_000);

  it('cancel mid-branch stops the generating block and the one queued behind it', async () => {
    const wf = workflow([start(), story('long1', 'Once upon a time', 4000), story('long2', 'Once upon a time', 4000), story('after', '<long1.content>')], [edge('start', 'long1'), edge('start', 'long2'), edge('long1', 'after')]);
    let texts = 0;
    const ex = executorFor(manager);
    const handle = ex.start({ workflow: wf, input: 'x', onEvent: (e) => e.type === 'block-text' && ++texts === 20 && handle.cancel() });
    const execution = await handle.result;
    expect(execution.status).toBe('cancelled');
    expect([traceOf(execution, 'long1').status, traceOf(execution, 'long2').status].sort()).toEqual(['cancelled', 'cancelled']);
    expect(traceOf(execution, 'after').status).toBe('skipped');
    expect(traceOf(execution, 'long1').outputTokens + traceOf(execution, 'long2').outputTokens).toBeLessThan(4000);
  }, 120_000);
});
