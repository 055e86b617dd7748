/** Save-time checks: references to blocks that cannot have run yet or to fields a schema lacks are errors, in plain words. */
import { describe, expect, it } from 'vitest';
import type { WorkflowBlock } from '../../extensions/ai-sidecar/src/workflow/model.js';
import { findReferences, referenceName, resolveValue } from '../../extensions/ai-sidecar/src/workflow/references.js';
import { referenceOptions, validateWorkflow } from '../../extensions/ai-sidecar/src/workflow/validate.js';
import { agent, edge, response, start, workflow } from './helpers.js';

const judge: WorkflowBlock = {
  id: 'judge',
  name: 'Spam Judge',
  type: 'agent',
  inputs: { provider: 'openai', model: 'gpt-4o', userPrompt: '<start.input>', responseFormat: { name: 'verdict', schema: { type: 'object', properties: { score: { type: 'number' } } } } },
};

describe('references', () => {
  it('names are lower-cased without spaces, and a lone reference keeps its value', () => {
    expect(referenceName('Spam Judge')).toBe('spamjudge');
    expect(referenceName('Email-Writer 2')).toBe('emailwriter2');
    expect(findReferences('a <start.input> b <x.y.z> <notaref> c').map((r) => [r.root, r.path])).toEqual([['start', ['input']], ['x', ['y', 'z']]]);
    const scope = (root: string) => (root === 'j' ? { obj: { a: 1 }, n: 2 } : undefined);
    expect(resolveValue('<j.obj>', scope)).toEqual({ a: 1 });
    expect(resolveValue('n=<j.n>, obj=<j.obj>', scope)).toBe('n=2, obj={"a":1}');
  });
});

describe('workflow validation', () => {
  it('accepts a correct workflow, structured fields included', () => {
    const wf = workflow([start(), judge, agent('w', { provider: 'openai', userPrompt: 'score <spamjudge.score> of <start.input> (<variable.tone>)' }), response('<w.content>')], [edge('start', 'judge'), edge('judge', 'w'), edge('w', 'response')], { tone: 'dry' });
    expect(validateWorkflow(wf)).toEqual([]);
  });

  it('a reference to a block that cannot have run yet names block and reference', () => {
    const wf = workflow([start(), agent('a', { provider: 'openai', userPrompt: 'see <b.content>' }), agent('b', { provider: 'openai' })], [edge('start', 'a'), edge('start', 'b')]);
    const problems = validateWorkflow(wf);
    expect(problems).toEqual([
      { blockId: 'a', field: 'userPrompt', reference: '<b.content>', message: 'Block "a", userPrompt: <b.content> refers to "b", which cannot have run before "a" (it is not connected before it).' },
    ]);
  });

  it('a field the schema lacks, a field of an unstructured agent, a missing variable and an unknown block are errors', () => {
    const wf = workflow(
      [start(), judge, agent('plain', { provider: 'openai' }), agent('w', { provider: 'openai', userPrompt: '<spamjudge.label> <plain.score> <variable.nope> <ghost.content>' })],
      [edge('start', 'judge'), edge('start', 'plain'), edge('judge', 'w'), edge('plain', 'w')],
    );
    const messages = validateWorkflow(wf).map((p) => p.message);
    expect(messages).toEqual([
      'Block "w", userPrompt: <spamjudge.label>: "Spam Judge" has no field "label" (it has content, model, provider, tokens, error, score).',
      'Block "w", userPrompt: <plain.score>: "plain" has no field "score" (it has content, model, provider, tokens, error). Give it a response format with that field, or use .content.',
      'Block "w", userPrompt: <variable.nope> names variable "nope", which this workflow does not define.',
      'Block "w", userPrompt: <ghost.content> names no block: there is no block called "ghost".',
    ]);
  });

  it('cycles, dangling connections, bad branches, bad expressions and clashing names are errors', () => {
    const wf = workflow(
      [
        start(),
        agent('a', { provider: 'openai' }, 'Writer'),
        agent('b', { provider: 'openai' }, 'writer'),
        { id: 'c', name: 'Check', type: 'condition', inputs: { branches: [{ id: 'else', kind: 'else' }, { id: 'if', kind: 'if', expression: 'process.exit()' }] } },
      ],
      [edge('start', 'a'), edge('a', 'b'), edge('b', 'a'), edge('a', 'c'), edge('c', 'ghost'), edge('c', 'b', 'branch', 'nope')],
    );
    const messages = validateWorkflow(wf).map((p) => p.message).join('\n');
    expect(messages).toContain('would both be referred to as <writer.…>');
    expect(messages).toContain('the first branch must be an "if"');
    expect(messages).toContain('"else" must be the last branch');
    expect(messages).toContain('"process" is not something a condition can use');
    expect(messages).toContain('names a block that is not in the workflow');
    expect(messages).toContain('names branch "nope", which "Check" does not have');
    expect(messages).toMatch(/form a loop/);
  });

  it('offers the references a block can use: its ancestors\' fields and the variables', () => {
    const wf = workflow([start(), judge, agent('w', { provider: 'openai' }), agent('other', { provider: 'openai' })], [edge('start', 'judge'), edge('judge', 'w'), edge('start', 'other')], { tone: 'x' });
    const refs = referenceOptions(wf, 'w').map((o) => o.reference);
    expect(refs).toContain('<start.input>');
    expect(refs).toContain('<spamjudge.score>');
    expect(refs).toContain('<variable.tone>');
    expect(refs.some((r) => r.startsWith('<other.'))).toBe(false);
  });
});

describe('secrets never enter a workflow', () => {
  it('a key pasted into a prompt or a variable is refused at save and at run, and never sent', () => {
    const key = 'sk-proj-TESTabcdefghijklmnopqrstuvwxyz0123456789';
    const wf = workflow([start(), agent('a', { provider: 'openai', userPrompt: `Use ${key} to call` })], [edge('start', 'a')], { token: 'sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123' });
    const problems = validateWorkflow(wf);
    expect(problems.map((p) => p.field)).toEqual(['userPrompt', 'variables.token']);
    expect(problems[0]?.message).toBe('Block "a", userPrompt, holds what looks like an API key. Keys belong in the vault (Providers), never in a workflow: remove it.');
    // The message names where, never the key itself.
    expect(JSON.stringify(problems)).not.toContain('abcdefghijklmnop');
  });

  it('ordinary text with long words and hashes is not mistaken for a key', () => {
    const wf = workflow([start(), agent('a', { provider: 'openai', userPrompt: 'Check commit 0123456789abcdef0123456789abcdef01234567 and the task-list of sk-8 items' })], [edge('start', 'a')]);
    expect(validateWorkflow(wf)).toEqual([]);
  });
});
