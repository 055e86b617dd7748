/**
 * The workflows store over the real SidecarClient and an in-memory transport that answers like the
 * sidecar (our own seam): editing, references, save with problems, import, and a run's events.
 */
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { SidecarClient, type Transport } from '../../resources/src/api/client.js';
import { useConnectionStore } from '../../resources/src/stores/connection.js';
import { matchReferences, partialReference, referenceOptions } from '../../resources/src/stores/workflow-graph.js';
import type { BlockTrace, WorkflowDoc, WorkflowExecution } from '../../resources/src/stores/workflow-types.js';
import { useWorkflowsStore } from '../../resources/src/stores/workflows.js';
import { REPLY_EVENT, WORKFLOW_EVENTS, type RequestEnvelope } from '../../extensions/ai-sidecar/src/protocol/contract.js';

type Answer = (params: Record<string, unknown>) => unknown;

/** Answers each command from `answers` (an Error answer becomes an error reply, as does a command it lacks); records what was sent. */
function sidecar(answers: Record<string, Answer>) {
  const handlers = new Map<string, ((data: unknown) => void)[]>();
  const offline: (() => void)[] = [];
  const sent: RequestEnvelope[] = [];
  const emit = (event: string, data: unknown) => handlers.get(event)?.forEach((h) => h(data));
  const transport: Transport = {
    send: async (envelope) => {
      sent.push(envelope);
      const answer = answers[envelope.command];
      queueMicrotask(() => {
        const result = answer ? answer(envelope.params as Record<string, unknown>) : new Error(`unknown command ${envelope.command}`);
        if (result instanceof Error) emit(REPLY_EVENT, { id: envelope.id, ok: false, error: { code: 'validation', message: result.message, retryable: false } });
        else emit(REPLY_EVENT, { id: envelope.id, ok: true, result });
      });
    },
    on: (event, handler) => void handlers.set(event, [...(handlers.get(event) ?? []), handler]),
    onOffline: (handler) => void offline.push(handler),
  };
  const client = new SidecarClient(transport);
  useConnectionStore().client = client;
  return { sent, emit, goOffline: () => offline.forEach((h) => h()), commands: () => sent.map((e) => e.command) };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

function trace(blockId: string, blockName: string, over: Partial<BlockTrace> = {}): BlockTrace {
  return {
    blockId, blockName, blockType: blockId === 'start' ? 'starter' : 'agent', status: 'completed', input: null, output: { content: '' }, error: null, skipReason: null,
    provider: null, model: null, startedAt: '2026-01-01T00:00:00.000Z', durationMs: 10, timeToFirstTokenMs: 3, inputTokens: 4, outputTokens: 5, reused: false, ...over,
  };
}

function execution(status: WorkflowExecution['status'], blocks: BlockTrace[]): WorkflowExecution {
  return {
    id: 'x1', workflowId: '', workflowName: 'W', status, input: 'hi', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: null, durationMs: 20,
    response: 'the end', error: null, rerunOf: null, rerunFrom: null, blocks,
  };
}

/** start → writer (agent on openai/gpt-4o-mini) in a fresh store. */
function twoBlocks() {
  const store = useWorkflowsStore();
  store.create('Two');
  const writer = store.addBlock('agent');
  if (writer?.type !== 'agent') throw new Error('no agent');
  Object.assign(writer.inputs, { provider: 'openai', model: 'gpt-4o-mini' });
  expect(store.connect('start', 'success', writer.id)).toBeUndefined();
  return { store, writer };
}

beforeEach(() => setActivePinia(createPinia()));

describe('workflow editing', () => {
  it('starts a new workflow with one Start block and connects blocks, refusing connections that make no sense', () => {
    sidecar({});
    const { store, writer } = twoBlocks();
    expect(store.doc?.blocks.map((b) => b.type)).toEqual(['starter', 'agent']);
    expect(store.doc?.connections).toEqual([{ source: 'start', target: writer.id, kind: 'success' }]);
    expect(store.connect('start', 'success', writer.id)).toMatch(/already connected/);
    expect(store.connect(writer.id, 'success', writer.id)).toMatch(/itself/);
    expect(store.connect(writer.id, 'success', 'start')).toMatch(/Start block/);
    expect(store.addBlock('starter')).toBeUndefined();
    const fallback = store.addBlock('agent');
    expect(fallback?.name).toBe('Agent 2');
    expect(store.connect(writer.id, 'error', fallback?.id ?? '')).toBeUndefined();
    expect(store.doc?.connections.at(-1)).toEqual({ source: writer.id, target: fallback?.id, kind: 'error' });
  });

  it('places a new block right of the selected one, below any block already there', () => {
    sidecar({});
    const { store, writer } = twoBlocks();
    store.select('start');
    const second = store.addBlock('agent');
    const start = store.doc?.blocks[0]?.position;
    expect(writer.position).toEqual({ x: (start?.x ?? 0) + 260, y: start?.y });
    expect(second?.position).toEqual({ x: (start?.x ?? 0) + 260, y: (start?.y ?? 0) + 100 });
  });

  it('connects a condition by branch, and removing a branch or a block removes its connections', () => {
    sidecar({});
    const { store, writer } = twoBlocks();
    const cond = store.addBlock('condition');
    if (cond?.type !== 'condition') throw new Error('no condition');
    store.connect(writer.id, 'success', cond.id);
    store.addBranch(cond.id);
    expect(cond.inputs.branches.map((b) => b.id)).toEqual(['if', 'else-if', 'else']);
    const a = store.addBlock('response');
    store.connect(cond.id, 'else-if', a?.id ?? '');
    expect(store.doc?.connections.at(-1)).toEqual({ source: cond.id, target: a?.id, kind: 'branch', branch: 'else-if' });
    store.removeBranch(cond.id, 'else-if');
    expect(store.doc?.connections.some((c) => c.kind === 'branch')).toBe(false);
    store.removeBlock(writer.id);
    expect(store.doc?.connections).toEqual([]);
  });

  it('tracks unsaved edits against what was last loaded or saved', async () => {
    const saved = { id: 'w1', name: 'Saved', blocks: [{ id: 'start', type: 'starter', name: 'Start', position: { x: 0, y: 0 }, inputs: {} }], connections: [], variables: {} };
    sidecar({ get_workflow: () => saved, list_workflows: () => [] });
    const store = useWorkflowsStore();
    await store.open('w1');
    expect(store.dirty).toBe(false);
    store.moveBlock('start', { x: 10.4, y: 20.6 });
    expect(store.doc?.blocks[0]?.position).toEqual({ x: 10, y: 21 });
    expect(store.dirty).toBe(true);
  });
});

describe('workflow variables', () => {
  it('sets and removes variables, refusing names a reference cannot use', () => {
    sidecar({});
    const { store } = twoBlocks();
    expect(store.setVariable('tone', 'kind')).toBeUndefined();
    expect(store.setVariable('2bad', 'x')).toMatch(/letters, digits/);
    expect(store.setVariable('has space', 'x')).toMatch(/letters, digits/);
    expect(store.doc?.variables).toEqual({ tone: 'kind' });
    store.removeVariable('tone');
    expect(store.doc?.variables).toEqual({});
  });
});

describe('references offered as you type', () => {
  it('offers the start input, structured fields of blocks that run before, and variables; never a later block', () => {
    sidecar({});
    const { store, writer } = twoBlocks();
    if (writer.type !== 'agent') throw new Error('agent expected');
    writer.name = 'Judge Bot';
    writer.inputs.responseFormat = { name: 'answer', schema: { type: 'object', properties: { score: { type: 'number' }, label: { type: 'string' } } } };
    const next = store.addBlock('agent');
    store.connect(writer.id, 'success', next?.id ?? '');
    const doc = store.doc as WorkflowDoc;
    doc.variables = { tone: 'kind' };
    const texts = referenceOptions(doc, next?.id ?? '').map((o) => o.reference);
    expect(texts).toContain('<start.input>');
    expect(texts).toEqual(expect.arrayContaining(['<judgebot.content>', '<judgebot.score>', '<judgebot.label>', '<variable.tone>']));
    // The writer cannot read the block after it, nor itself.
    const forWriter = referenceOptions(doc, writer.id).map((o) => o.reference);
    expect(forWriter).toContain('<start.input>');
    expect(forWriter.filter((r) => r.startsWith('<agent') || r.startsWith('<judgebot'))).toEqual([]);
    store.select(next?.id);
    expect(store.selectedReferences.map((o) => o.reference)).toContain('<judgebot.score>');
  });

  it('finds the reference being typed at the caret and narrows the options to it', () => {
    const text = 'Summarise <judgebot.sc and more';
    const at = partialReference(text, 'Summarise <judgebot.sc'.length);
    expect(at).toEqual({ start: 10, typed: '<judgebot.sc' });
    expect(partialReference('a <b.c> done', 12)).toBeUndefined();
    const options = [{ reference: '<start.input>', description: '' }, { reference: '<judgebot.content>', description: '' }, { reference: '<judgebot.score>', description: '' }];
    expect(matchReferences(options, at?.typed ?? '').map((o) => o.reference)).toEqual(['<judgebot.score>']);
    expect(matchReferences(options, '<').map((o) => o.reference)).toHaveLength(3);
  });
});

describe('saving and importing', () => {
  it('does not save a reference to a block that cannot have run yet; the mark follows edits and clears when fixed', async () => {
    const link = sidecar({ save_workflow: (p) => ({ ...(p['workflow'] as object), id: 'w1' }), list_workflows: () => [] });
    const { store, writer } = twoBlocks();
    if (writer.type !== 'agent') throw new Error('agent expected');
    const later = store.addBlock('agent');
    if (later?.type !== 'agent') throw new Error('agent expected');
    Object.assign(later.inputs, { provider: 'openai', model: 'gpt-4o-mini' });
    later.name = 'Later';
    store.connect(writer.id, 'success', later.id);
    writer.inputs.userPrompt = 'Use <later.content>';
    expect(store.issuesByBlock[writer.id]).toBeUndefined(); // not before a save is tried
    expect(await store.save()).toBe(false);
    expect(link.commands()).toEqual([]);
    expect(store.issuesByBlock[writer.id]).toMatch(/later/);
    expect(store.saveState).toMatchObject({ status: 'error', message: expect.stringMatching(/Not saved: one problem/) });
    writer.inputs.userPrompt = 'Use <start.input>';
    expect(store.issuesByBlock[writer.id]).toBeUndefined();
    expect(await store.save()).toBe(true);
    expect(link.commands()).toEqual(['save_workflow', 'list_workflows', 'list_workflow_executions']);
  });

  it('finds a missing model and colliding names itself, and neither saves nor runs', async () => {
    const link = sidecar({});
    const { store, writer } = twoBlocks();
    const other = store.addBlock('agent');
    if (other === undefined) throw new Error('no block');
    other.name = 'agent!';
    if (store.doc) store.doc.name = ' ';
    expect(await store.save()).toBe(false);
    expect(store.problems[0]).toEqual({ message: 'The workflow needs a name.' });
    await store.start('go');
    expect(link.commands()).toEqual([]);
    expect(store.issuesByBlock[other.id]).toMatch(/choose a provider and a model/);
    expect(store.problems.filter((p) => p.field === 'name' || /name/.test(p.message)).length).toBeGreaterThan(0);
    expect(store.run).toMatchObject({ status: 'failed', error: expect.stringMatching(/^Not run: \d problems to fix/) });
    expect(writer.id in store.issuesByBlock || other.id in store.issuesByBlock).toBe(true);
  });

  it('saves a clean workflow as the editor holds it and takes the id the sidecar gives', async () => {
    const link = sidecar({
      save_workflow: (p) => ({ ...(p['workflow'] as object), id: 'w7', updatedAt: '2026-01-01T00:00:00Z' }),
      list_workflows: () => [{ id: 'w7', name: 'Two', blockCount: 2, updatedAt: '2026-01-01T00:00:00Z' }],
    });
    const { store, writer } = twoBlocks();
    expect(store.dirty).toBe(true);
    expect(await store.save()).toBe(true);
    const sent = link.sent.find((e) => e.command === 'save_workflow')?.params as { workflow: WorkflowDoc };
    expect(sent.workflow.blocks.map((b) => b.id)).toEqual(['start', writer.id]);
    expect(store.doc?.id).toBe('w7');
    expect(store.dirty).toBe(false);
    expect(store.list.map((w) => w.name)).toEqual(['Two']);
  });

  it('opens an import unsaved and keeps its report; a refused import is shown in words and loses the open workflow', async () => {
    const imported = { id: '', name: 'From Sim', blocks: [{ id: 'start', type: 'starter', name: 'Start', inputs: {} }], connections: [], variables: {} };
    const report = { format: 'yaml', taken: [{ id: 'start', name: 'Start', type: 'starter' }], notTaken: [{ id: 'f1', name: 'Fetch', type: 'api' }], models: [], ignored: [{ blockId: 'a1', field: 'apiKey', reason: 'secrets come from the vault' }], problems: [] };
    let refuse = false;
    sidecar({ import_workflow: () => (refuse ? new Error('This is not Sim YAML 1.0: "version" must be \'1.0\'.') : { workflow: imported, report }) });
    const store = useWorkflowsStore();
    await store.importText('version: "1.0"');
    expect(store.doc?.name).toBe('From Sim');
    expect(store.dirty).toBe(true);
    expect(store.importReport?.notTaken).toEqual([{ id: 'f1', name: 'Fetch', type: 'api' }]);
    refuse = true;
    await store.importText('garbage');
    expect(store.listState).toEqual({ status: 'error', message: expect.stringMatching(/not Sim YAML/) });
    expect(store.doc?.name).toBe('From Sim');
  });
});

describe('running a workflow', () => {
  it('streams each block in seq order (events before the reply included), then takes the trace from done', async () => {
    let executionId = '';
    const link = sidecar({ run_workflow: () => ({ executionId: (executionId = 'x1') }), cancel_execution: () => ({ ok: true }) });
    const { store, writer } = twoBlocks();
    const started = store.start('hello');
    expect(store.run.status).toBe('starting');
    // The sidecar may stream before its reply arrives, and events may arrive out of order.
    link.emit(WORKFLOW_EVENTS.blockChunk, { executionId: 'x1', seq: 1, blockId: writer.id, text: 'Once ' });
    link.emit(WORKFLOW_EVENTS.blockStarted, { executionId: 'x1', seq: 0, blockId: writer.id, blockName: 'Agent', blockType: 'agent', input: { userPrompt: 'hello' } });
    await started;
    expect(executionId).toBe('x1');
    expect(link.sent.find((e) => e.command === 'run_workflow')?.params).toMatchObject({ input: 'hello', workflow: { name: 'Two' } });
    expect(store.run).toMatchObject({ status: 'running', executionId: 'x1' });
    expect(store.run.blocks).toMatchObject([{ blockId: writer.id, status: 'running', text: 'Once ' }]);
    link.emit(WORKFLOW_EVENTS.blockChunk, { executionId: 'x1', seq: 3, blockId: writer.id, text: 'time.' });
    link.emit(WORKFLOW_EVENTS.blockChunk, { executionId: 'x1', seq: 2, blockId: writer.id, text: 'upon a ' });
    link.emit(WORKFLOW_EVENTS.blockChunk, { executionId: 'x1', seq: 4, blockId: writer.id, text: 666 }); // breaks the contract: ignored
    link.emit(WORKFLOW_EVENTS.blockChunk, { executionId: 'other', seq: 4, blockId: writer.id, text: 'not ours' });
    expect(store.run.blocks[0]?.text).toBe('Once upon a time.');
    const agentTrace = trace(writer.id, 'Agent', { output: { content: 'Once upon a time.' }, timeToFirstTokenMs: 42 });
    link.emit(WORKFLOW_EVENTS.blockDone, { executionId: 'x1', seq: 4, blockId: writer.id, trace: agentTrace });
    link.emit(WORKFLOW_EVENTS.done, { executionId: 'x1', seq: 5, execution: execution('completed', [trace('start', 'Start'), agentTrace]) });
    expect(store.run.status).toBe('completed');
    expect(store.running).toBe(false);
    expect(store.run.execution?.blocks.map((b) => b.timeToFirstTokenMs)).toEqual([3, 42]);
    expect(store.run.blocks.map((b) => [b.name, b.status])).toEqual([['Agent', 'completed'], ['Start', 'completed']]);
    // Finished: Stop sends nothing.
    await store.stop();
    expect(link.commands()).not.toContain('cancel_execution');
  });

  it('stops the whole execution with cancel_execution, and shows skipped and cancelled blocks', async () => {
    const link = sidecar({ run_workflow: () => ({ executionId: 'x2' }), cancel_execution: () => ({ ok: true }) });
    const { store, writer } = twoBlocks();
    await store.start('go');
    link.emit(WORKFLOW_EVENTS.blockStarted, { executionId: 'x2', seq: 0, blockId: writer.id, blockName: 'Agent', blockType: 'agent', input: {} });
    link.emit(WORKFLOW_EVENTS.blockChunk, { executionId: 'x2', seq: 1, blockId: writer.id, text: 'partial' });
    await store.stop();
    expect(link.sent.at(-1)).toMatchObject({ command: 'cancel_execution', params: { executionId: 'x2' } });
    link.emit(WORKFLOW_EVENTS.blockSkipped, { executionId: 'x2', seq: 2, blockId: 'later', reason: 'the execution was stopped' });
    const cancelled = trace(writer.id, 'Agent', { status: 'cancelled', output: null, error: { code: 'cancelled', message: 'Stopped.' } });
    link.emit(WORKFLOW_EVENTS.done, { executionId: 'x2', seq: 3, execution: { ...execution('cancelled', [cancelled]), id: 'x2', response: null } });
    expect(store.run.status).toBe('cancelled');
    expect(store.run.blocks.find((b) => b.blockId === writer.id)).toMatchObject({ status: 'cancelled', text: 'partial', note: 'Stopped.' });
    expect(store.run.blocks.find((b) => b.blockId === 'later')).toMatchObject({ status: 'skipped', note: 'the execution was stopped' });
  });

  it('lets a run go on in the sidecar when another workflow is opened, without mixing its events into the panel', async () => {
    const link = sidecar({ run_workflow: () => ({ executionId: 'x5' }) });
    const { store, writer } = twoBlocks();
    await store.start('go');
    link.emit(WORKFLOW_EVENTS.blockStarted, { executionId: 'x5', seq: 0, blockId: writer.id, blockName: 'Agent', blockType: 'agent', input: {} });
    store.create('Other');
    link.emit(WORKFLOW_EVENTS.blockChunk, { executionId: 'x5', seq: 1, blockId: writer.id, text: 'late' });
    expect(store.run).toEqual({ status: 'idle', input: '', blocks: [] });
    await store.stop();
    expect(link.commands()).not.toContain('cancel_execution');
  });

  it('runs again from one block of the last execution, with the same input', async () => {
    const link = sidecar({ run_workflow: () => ({ executionId: 'x1' }), rerun_from_block: () => ({ executionId: 'x9' }) });
    const { store, writer } = twoBlocks();
    await store.rerunFrom(writer.id);
    expect(link.commands()).toEqual([]); // nothing ran yet: nothing to reuse
    await store.start('same input');
    link.emit(WORKFLOW_EVENTS.done, { executionId: 'x1', seq: 0, execution: execution('completed', [trace('start', 'Start'), trace(writer.id, 'Agent')]) });
    await store.rerunFrom(writer.id);
    expect(link.sent.at(-1)).toMatchObject({ command: 'rerun_from_block', params: { executionId: 'x1', blockId: writer.id } });
    expect(store.run).toMatchObject({ status: 'running', executionId: 'x9', input: 'same input', blocks: [] });
    const reused = trace('start', 'Start', { reused: true });
    link.emit(WORKFLOW_EVENTS.done, { executionId: 'x9', seq: 0, execution: { ...execution('completed', [reused, trace(writer.id, 'Agent')]), id: 'x9', rerunOf: 'x1', rerunFrom: writer.id } });
    expect(store.run.execution?.blocks[0]?.reused).toBe(true);
  });

  it('lists the saved workflow runs and opens the stored trace of one', async () => {
    const saved = { id: 'w1', name: 'Saved', blocks: [{ id: 'start', type: 'starter', name: 'Start', inputs: {} }], connections: [], variables: {} };
    const summary = { id: 'x1', workflowId: 'w1', workflowName: 'Saved', status: 'completed', startedAt: '2026-01-01T00:00:00.000Z', durationMs: 20, inputTokens: 4, outputTokens: 5 };
    const link = sidecar({ get_workflow: () => saved, list_workflow_executions: () => [summary], get_workflow_trace: () => execution('completed', [trace('start', 'Start')]) });
    const store = useWorkflowsStore();
    await store.open('w1');
    expect(link.sent.find((e) => e.command === 'list_workflow_executions')?.params).toEqual({ workflowId: 'w1', limit: 20 });
    expect(store.pastRuns.map((r) => r.id)).toEqual(['x1']);
    await store.showPastRun('x1');
    expect(store.run).toMatchObject({ status: 'completed', executionId: 'x1', input: 'hi', blocks: [{ blockId: 'start', status: 'completed' }] });
    expect(store.run.execution?.response).toBe('the end');
  });

  it('keeps events of at most 32 unclaimed executions while their start replies are awaited', async () => {
    const link = sidecar({ run_workflow: () => ({ executionId: 'e0' }) });
    for (let n = 0; n <= 32; n += 1) link.emit(WORKFLOW_EVENTS.blockChunk, { executionId: `e${n}`, seq: 0, blockId: 'a', text: `from e${n}` });
    const client = useConnectionStore().require();
    // e0 was the oldest of 33 and was dropped; e1 is still kept and replayed.
    const early = await client.runWorkflow(Promise.resolve({ executionId: 'e1' }));
    const dropped = await client.runWorkflow(Promise.resolve({ executionId: 'e0' }));
    const seen: string[] = [];
    early.onEvent((e) => e.name === WORKFLOW_EVENTS.blockChunk && seen.push(e.payload.text));
    dropped.onEvent((e) => e.name === WORKFLOW_EVENTS.blockChunk && seen.push(e.payload.text));
    expect(seen).toEqual(['from e1']);
    expect(link.commands()).toEqual([]);
  });

  it('ends a run in words when the sidecar goes away, and shows a refused start', async () => {
    let refuse = false;
    const link = sidecar({ run_workflow: () => (refuse ? new Error('Agent: choose a model first.') : { executionId: 'x3' }) });
    const { store, writer } = twoBlocks();
    await store.start('go');
    link.emit(WORKFLOW_EVENTS.blockStarted, { executionId: 'x3', seq: 0, blockId: writer.id, blockName: 'Agent', blockType: 'agent', input: {} });
    link.goOffline();
    expect(store.run.status).toBe('failed');
    expect(store.run.error).toMatch(/runtime went away/);
    expect(store.run.blocks[0]?.status).toBe('cancelled');

    setActivePinia(createPinia());
    refuse = true;
    sidecar({ run_workflow: () => new Error('Agent: choose a model first.') });
    const again = twoBlocks().store;
    await again.start('go');
    expect(again.run).toMatchObject({ status: 'failed', error: 'Agent: choose a model first.' });
    await flush();
  });
});
