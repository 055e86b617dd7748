/**
 * The workflow commands through the sidecar's own dispatcher (contract validation both ways) with a
 * real database: save refuses bad references in plain words, runs stream tagged events with one seq
 * per execution, cancel_execution stops a whole execution, traces are stored and survive a restart,
 * rerun from a block reuses what came before it, an execution cut short by a crash is marked.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { createSidecar, type Sidecar } from '../../extensions/ai-sidecar/src/app.js';
import { WorkflowRepository } from '../../extensions/ai-sidecar/src/storage/workflow-repository.js';
import { Dispatcher } from '../../extensions/ai-sidecar/src/channel/dispatcher.js';
import { EVENT_SCHEMAS, WORKFLOW_EVENTS, type EventName, type ReplyEnvelope } from '../../extensions/ai-sidecar/src/protocol/contract.js';
import type { Workflow, WorkflowExecution } from '../../extensions/ai-sidecar/src/workflow/model.js';
import { startOllamaServer, type OllamaServer } from '../wire/ollama-server.js';
import { agent, edge, response, start, workflow } from './helpers.js';

interface Seen {
  event: string;
  data: { executionId: string; seq: number; blockId?: string; text?: string; execution?: WorkflowExecution };
}

let dataDir: string;
let ollama: OllamaServer;
let sidecar: Sidecar;
let events: Seen[] = [];
let request: (command: string, params: unknown) => Promise<ReplyEnvelope>;

function open(): void {
  sidecar = createSidecar({
    appDir: dataDir,
    env: { SIM_AI_DATA_DIR: dataDir },
    frameMs: 5,
    emit: (event, payload) => {
      // Everything the sidecar sends must pass the contract the UI checks it with.
      EVENT_SCHEMAS[event as EventName].parse(payload);
      events.push({ event, data: payload as Seen['data'] });
    },
  });
  let n = 0;
  request = (command, params) =>
    new Promise((resolve) => {
      void new Dispatcher(sidecar.handlers, resolve).handle({ v: 1, id: `r${n++}`, command, params });
    });
}

const ok = async <T>(reply: Promise<ReplyEnvelope>): Promise<T> => {
  const r = await reply;
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.result as T;
};

const done = async (executionId: string): Promise<WorkflowExecution> => {
  await expect.poll(() => events.some((e) => e.event === WORKFLOW_EVENTS.done && e.data.executionId === executionId), { timeout: 15_000 }).toBe(true);
  return events.find((e) => e.event === WORKFLOW_EVENTS.done && e.data.executionId === executionId)?.data.execution as WorkflowExecution;
};

const chain = (): Workflow =>
  workflow(
    [start(), agent('first', { provider: 'ollama', model: 'llama3.2:latest', userPrompt: 'One: <start.input>' }, 'First'), agent('second', { provider: 'ollama', model: 'llama3.2:latest', userPrompt: 'Two: <first.content>' }, 'Second'), response('<second.content>')],
    [edge('start', 'first'), edge('first', 'second'), edge('second', 'response')],
  );

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'sim-workflows-'));
  ollama = await startOllamaServer();
  open();
  await ok(request('update_provider', { provider: 'ollama', baseURL: ollama.url }));
});

afterAll(async () => {
  await sidecar.dispose();
  await ollama.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('workflow commands', () => {
  it('save refuses a reference to a block that cannot have run yet, naming block and reference', async () => {
    const bad = workflow([start(), agent('a', { provider: 'ollama', userPrompt: '<writer.content>' }, 'Asker'), agent('w', { provider: 'ollama' }, 'Writer')], [edge('start', 'a'), edge('a', 'w')]);
    const reply = await request('save_workflow', { workflow: { ...bad, id: '' } });
    expect(reply).toMatchObject({ ok: false, error: { code: 'validation' } });
    expect(!reply.ok && reply.error.message).toContain('Block "Asker", userPrompt: <writer.content> refers to "Writer", which cannot have run before "Asker"');
    const { problems } = await ok<{ problems: unknown[] }>(request('validate_workflow', { workflow: bad }));
    expect(problems).toEqual([expect.objectContaining({ blockId: 'a', reference: '<writer.content>' })]);
    expect(await ok<unknown[]>(request('list_workflows', {}))).toEqual([]);
  });

  it('a workflow carrying a key is neither saved nor run, and the key reaches no server', async () => {
    const key = 'sk-proj-LEAKabcdefghijklmnopqrstuvwxyz0123456789';
    const leaky = workflow([start(), agent('a', { provider: 'ollama', model: 'llama3.2:latest', userPrompt: `key ${key}` })], [edge('start', 'a')]);
    const before = ollama.requests.length;
    const saved = await request('save_workflow', { workflow: leaky });
    const ran = await request('run_workflow', { workflow: leaky, input: 'x' });
    for (const reply of [saved, ran]) {
      expect(reply).toMatchObject({ ok: false, error: { code: 'validation', message: expect.stringContaining('looks like an API key') } });
      expect(JSON.stringify(reply)).not.toContain('LEAKabcdef');
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ollama.requests.length).toBe(before);
  });

  it('saves, lists, gets, exports and deletes', async () => {
    const saved = await ok<Workflow>(request('save_workflow', { workflow: { ...chain(), id: '' } }));
    expect(saved.id).not.toBe('');
    expect(saved.createdAt).toBeTypeOf('string');
    expect(await ok(request('list_workflows', {}))).toEqual([expect.objectContaining({ id: saved.id, name: 'Test workflow', blockCount: 4 })]);
    expect(await ok(request('get_workflow', { id: saved.id }))).toEqual(saved);
    const { text, fileName } = await ok<{ text: string; fileName: string }>(request('export_workflow', { id: saved.id, format: 'yaml' }));
    expect(fileName).toBe('test-workflow.sim.yaml');
    const imported = await ok<{ workflow: Workflow }>(request('import_workflow', { text }));
    // Sim's YAML carries no positions; the import lays the blocks out.
    expect(imported.workflow.blocks.map(({ position, ...block }) => (expect(position).toBeDefined(), block))).toEqual(saved.blocks);
    await ok(request('delete_workflow', { id: saved.id }));
    expect(await request('get_workflow', { id: saved.id })).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });

  it('runs, streaming events tagged with execution and block under one seq, and stores the trace', async () => {
    ollama.script({ kind: 'ok', tokens: ['Al', 'pha'] }, { kind: 'ok', tokens: ['Be', 'ta'] });
    const saved = await ok<Workflow>(request('save_workflow', { workflow: { ...chain(), id: '' } }));
    events = [];
    const { executionId } = await ok<{ executionId: string }>(request('run_workflow', { workflowId: saved.id, input: 'go' }));
    const execution = await done(executionId);
    expect(execution).toMatchObject({ status: 'completed', response: 'Beta', workflowId: saved.id });
    const mine = events.filter((e) => e.data.executionId === executionId);
    expect(mine.map((e) => e.data.seq)).toEqual(mine.map((_, i) => i));
    expect(mine.at(-1)?.event).toBe(WORKFLOW_EVENTS.done);
    expect(mine.filter((e) => e.event !== WORKFLOW_EVENTS.done).every((e) => typeof e.data.blockId === 'string')).toBe(true);
    const text = (id: string) => mine.filter((e) => e.event === WORKFLOW_EVENTS.blockChunk && e.data.blockId === id).map((e) => e.data.text).join('');
    expect([text('first'), text('second')]).toEqual(['Alpha', 'Beta']);
    // A block's text is all out before that block's done event.
    const lastChunk = mine.findLastIndex((e) => e.event === WORKFLOW_EVENTS.blockChunk && e.data.blockId === 'first');
    const firstDone = mine.findIndex((e) => e.event === WORKFLOW_EVENTS.blockDone && e.data.blockId === 'first');
    expect(lastChunk).toBeLessThan(firstDone);
    expect(await ok(request('get_workflow_trace', { executionId }))).toEqual(execution);
    expect(await ok(request('list_workflow_executions', { workflowId: saved.id }))).toEqual([expect.objectContaining({ id: executionId, status: 'completed', outputTokens: expect.any(Number) })]);
  });

  it('reruns from a block, reusing the stored outputs of the blocks before it', async () => {
    const [summary] = await ok<{ id: string }[]>(request('list_workflow_executions', {}));
    const before = ollama.requests.filter((r) => r.path === '/api/chat').length;
    ollama.script({ kind: 'ok', tokens: ['Gamma'] });
    const { executionId } = await ok<{ executionId: string }>(request('rerun_from_block', { executionId: summary?.id, blockId: 'second' }));
    const execution = await done(executionId);
    expect(execution.blocks.map((b) => b.blockId)).toEqual(['start', 'first', 'second', 'response']);
    expect(execution).toMatchObject({ status: 'completed', response: 'Gamma', rerunOf: summary?.id, rerunFrom: 'second' });
    expect(execution.blocks.find((b) => b.blockId === 'first')).toMatchObject({ reused: true, output: expect.objectContaining({ content: 'Alpha' }) });
    expect(execution.blocks.find((b) => b.blockId === 'second')).toMatchObject({ reused: false, input: expect.objectContaining({ userPrompt: 'Two: Alpha' }) });
    const chats = ollama.requests.filter((r) => r.path === '/api/chat');
    expect(chats.length).toBe(before + 1);
  });

  it('cancel_execution stops the whole execution; an inline (unsaved) workflow can run too', async () => {
    ollama.script({ kind: 'slow', intervalMs: 20, count: 500 });
    events = [];
    const { executionId } = await ok<{ executionId: string }>(request('run_workflow', { workflow: chain(), input: 'long' }));
    await expect.poll(() => events.filter((e) => e.event === WORKFLOW_EVENTS.blockChunk).length, { timeout: 10_000 }).toBeGreaterThan(1);
    await ok(request('cancel_execution', { executionId }));
    const execution = await done(executionId);
    expect(execution.status).toBe('cancelled');
    expect(execution.blocks.find((b) => b.blockId === 'first')?.status).toBe('cancelled');
    expect(execution.blocks.find((b) => b.blockId === 'second')?.status).toBe('skipped');
    expect(await request('cancel_execution', { executionId })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await request('run_workflow', { input: 'x' })).toMatchObject({ ok: false, error: { code: 'validation' } });
  });

  it('a shutdown mid-run records the execution as stopped; traces survive the restart', async () => {
    ollama.script({ kind: 'slow', intervalMs: 50, count: 500 });
    events = [];
    const { executionId } = await ok<{ executionId: string }>(request('run_workflow', { workflow: chain(), input: 'quit' }));
    await expect.poll(() => events.some((e) => e.event === WORKFLOW_EVENTS.blockStarted && e.data.blockId === 'first'), { timeout: 10_000 }).toBe(true);
    await sidecar.dispose();
    open();
    expect(await ok(request('get_workflow_trace', { executionId }))).toMatchObject({ status: 'cancelled', blocks: expect.arrayContaining([expect.objectContaining({ blockId: 'first', status: 'cancelled' })]) });
    const all = await ok<{ status: string }[]>(request('list_workflow_executions', {}));
    expect(all.map((e) => e.status)).toEqual(expect.arrayContaining(['completed', 'cancelled']));
  });

  it('an execution a crash left running is marked interrupted at the next start', async () => {
    await sidecar.dispose();
    // What a killed process leaves behind: the row written when the execution started.
    const db = new Database(path.join(dataDir, 'sim-ai.db'));
    const repository = new WorkflowRepository(db);
    const wf = chain();
    repository.recordExecution(
      { id: 'crashed-1', workflowId: '', workflowName: wf.name, status: 'running', input: 'x', startedAt: new Date().toISOString(), finishedAt: null, durationMs: null, response: null, error: null, rerunOf: null, rerunFrom: null, blocks: [] },
      wf,
    );
    db.close();
    open();
    expect(await ok(request('get_workflow_trace', { executionId: 'crashed-1' }))).toMatchObject({ status: 'failed', error: { code: 'interrupted', message: 'The app stopped while this execution was running.' } });
  });
});
