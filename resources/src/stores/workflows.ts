/**
 * Workflows: the list, the one open in the editor, and its runs. The editor state lives here (the
 * canvas only draws `doc` and reports what the person did); every sidecar call goes through the client.
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { WorkflowRunHandle } from '../api/client';
import { useConnectionStore } from './connection';
import { localProblems, referenceOptions, uniqueName } from './workflow-graph';
import { emptyRun, foldRunEvent, runFromExecution, type RunView } from './workflow-run';
import type { BlockType, ImportReport, WorkflowBlock, WorkflowConnection, WorkflowDoc, WorkflowExecutionSummary, WorkflowProblem, WorkflowSummary } from './workflow-types';

/** One status per operation, with the plain-words message when it failed. */
export interface OpState {
  status: 'idle' | 'busy' | 'error';
  message?: string;
}

const LABELS: Record<BlockType, string> = { starter: 'Start', agent: 'Agent', condition: 'Condition', router: 'Router', response: 'Response' };

function newBlock(type: BlockType, id: string, name: string, position: { x: number; y: number }): WorkflowBlock {
  const base = { id, name, position };
  switch (type) {
    case 'starter':
      return { ...base, type, inputs: {} };
    case 'agent':
      return { ...base, type, inputs: { provider: '', model: '', systemPrompt: '', userPrompt: '<start.input>', temperature: 0.7, maxTokens: 256 } };
    case 'condition':
      return { ...base, type, inputs: { branches: [{ id: 'if', kind: 'if', expression: '' }, { id: 'else', kind: 'else' }] } };
    case 'router':
      return { ...base, type, inputs: { provider: '', model: '', prompt: '<start.input>' } };
    case 'response':
      return { ...base, type, inputs: { data: '' } };
  }
}

function blankWorkflow(name: string): WorkflowDoc {
  return { id: '', name, blocks: [newBlock('starter', 'start', 'Start', { x: 40, y: 120 })], connections: [], variables: {} };
}

/** A connection's stable id, also the canvas edge id. */
export function edgeId(c: WorkflowConnection): string {
  return `${c.source}:${c.kind === 'branch' ? (c.branch ?? '') : c.kind}->${c.target}`;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export const useWorkflowsStore = defineStore('workflows', () => {
  const connection = useConnectionStore();
  const client = () => connection.require();

  const list = ref<WorkflowSummary[]>([]);
  const listState = ref<OpState>({ status: 'idle' });
  const doc = ref<WorkflowDoc>();
  const selectedId = ref<string>();
  /** The document as last loaded or saved, to tell whether it has unsaved edits. */
  const savedSnapshot = ref('');
  const saveState = ref<OpState>({ status: 'idle' });
  /**
   * Once a save or run was tried (or a file imported), the workflow's problems follow every edit, so
   * a fix clears its mark at once. Each points at its block where it can.
   */
  const checked = ref(false);
  const problems = computed<WorkflowProblem[]>(() => (checked.value && doc.value ? localProblems(doc.value) : []));
  const importReport = ref<ImportReport>();
  /** Replaced whole on every event (never mutated), so a shallow ref is enough. */
  const run = shallowRef<RunView>(emptyRun());
  /** Earlier executions of the open (saved) workflow, newest first. */
  const pastRuns = ref<WorkflowExecutionSummary[]>([]);
  let handle: WorkflowRunHandle | undefined;

  const selected = computed(() => doc.value?.blocks.find((b) => b.id === selectedId.value));
  const selectedReferences = computed(() => (doc.value && selectedId.value ? referenceOptions(doc.value, selectedId.value) : []));
  /** Problems by block id, joined into one sentence per block, for the canvas. */
  const issuesByBlock = computed(() => {
    const out: Record<string, string> = {};
    for (const p of problems.value) if (p.blockId !== undefined) out[p.blockId] = out[p.blockId] ? `${out[p.blockId]} ${p.message}` : p.message;
    return out;
  });
  const running = computed(() => run.value.status === 'starting' || run.value.status === 'running');

  const dirty = computed(() => doc.value !== undefined && JSON.stringify(doc.value) !== savedSnapshot.value);

  /** Opens `next` in the editor; `saved` says whether it matches what the sidecar stores. */
  function setDoc(next: WorkflowDoc | undefined, saved = true): void {
    doc.value = next;
    savedSnapshot.value = saved && next ? JSON.stringify(next) : '';
    selectedId.value = undefined;
    checked.value = false;
  }

  async function guard<T>(state: typeof listState, action: () => Promise<T>): Promise<T | undefined> {
    state.value = { status: 'busy' };
    try {
      const result = await action();
      state.value = { status: 'idle' };
      return result;
    } catch (e) {
      state.value = { status: 'error', message: message(e) };
      return undefined;
    }
  }

  async function loadList(): Promise<void> {
    const items = await guard(listState, () => client().invoke('list_workflows', {}));
    if (items) list.value = items;
  }

  /** Clears the run panel for another workflow; a run still going on finishes in the sidecar and is stored. */
  function leaveRun(): void {
    run.value = emptyRun();
    handle = undefined;
  }

  function create(name = 'New workflow'): void {
    importReport.value = undefined;
    leaveRun();
    setDoc(blankWorkflow(name), false);
  }

  async function open(id: string): Promise<void> {
    const workflow = await guard(listState, () => client().invoke('get_workflow', { id }));
    if (workflow === undefined) return;
    importReport.value = undefined;
    leaveRun();
    setDoc(workflow);
    await loadPastRuns();
  }

  /** The list is a convenience beside the run panel: when it cannot load, the panel simply has none. */
  async function loadPastRuns(): Promise<void> {
    const workflowId = doc.value?.id;
    pastRuns.value = workflowId ? await client().invoke('list_workflow_executions', { workflowId, limit: 20 }).catch(() => []) : [];
  }

  /** Shows a stored execution's trace in the run panel. */
  async function showPastRun(executionId: string): Promise<void> {
    if (running.value) return;
    try {
      run.value = runFromExecution(await client().invoke('get_workflow_trace', { executionId }));
    } catch (e) {
      run.value = { ...emptyRun(), status: 'failed', error: message(e) };
    }
  }

  async function remove(id: string): Promise<void> {
    const done = await guard(listState, () => client().invoke('delete_workflow', { id }));
    if (done === undefined) return;
    if (doc.value?.id === id) setDoc(undefined);
    await loadList();
  }

  /** Imports Sim YAML or this app's JSON into the editor (not saved yet) and keeps the report to show. */
  async function importText(text: string): Promise<void> {
    const result = await guard(listState, () => client().invoke('import_workflow', { text }));
    if (result === undefined) return;
    leaveRun();
    setDoc(result.workflow, false);
    importReport.value = result.report;
    checked.value = true;
  }

  async function exportText(format: 'yaml' | 'json'): Promise<{ text: string; fileName: string } | undefined> {
    const id = doc.value?.id;
    if (!id) {
      saveState.value = { status: 'error', message: 'Save the workflow before exporting it.' };
      return undefined;
    }
    return guard(saveState, () => client().invoke('export_workflow', { id, format }));
  }

  /**
   * Checks the workflow, then saves it. Problems (a reference to a block that cannot have run yet, a
   * field its schema lacks, a cycle) are kept by block and nothing is saved.
   */
  async function save(): Promise<boolean> {
    const current = doc.value;
    if (current === undefined) return false;
    const saved = await guard(saveState, async () => {
      check('Not saved');
      return client().invoke('save_workflow', { workflow: current });
    });
    if (saved === undefined) return false;
    const keep = selectedId.value;
    setDoc(saved);
    selectedId.value = keep;
    await Promise.all([loadList(), loadPastRuns()]);
    return true;
  }

  /** Shows the workflow's problems from now on and throws a summary when there are any (the sidecar checks again). */
  function check(what: string): void {
    checked.value = true;
    const n = problems.value.length;
    if (n > 0) throw new Error(`${what}: ${n === 1 ? 'one problem' : `${n} problems`} to fix (marked on the blocks).`);
  }

  /** Adds a block right of the selected one (or of the last one), selected so it can be configured. */
  function addBlock(type: BlockType): WorkflowBlock | undefined {
    const d = doc.value;
    if (d === undefined) return undefined;
    if (type === 'starter' && d.blocks.some((b) => b.type === 'starter')) return undefined;
    const taken = new Set(d.blocks.map((b) => b.id));
    let n = d.blocks.length + 1;
    while (taken.has(`${type}-${n}`)) n += 1;
    const anchor = d.blocks.find((b) => b.id === selectedId.value) ?? d.blocks.at(-1);
    const position = anchor?.position ? { x: anchor.position.x + 260, y: anchor.position.y } : { x: 40, y: 120 };
    // Below any block already there, so a new block never lands on top of another.
    const near = (y: number) => d.blocks.some((b) => b.position && Math.abs(b.position.x - position.x) < 220 && Math.abs(b.position.y - y) < 90);
    while (near(position.y)) position.y += 100;
    const block = newBlock(type, `${type}-${n}`, uniqueName(d, LABELS[type]), position);
    d.blocks.push(block);
    selectedId.value = block.id;
    return d.blocks.at(-1); // the reactive one, so edits through it are seen
  }

  function moveBlock(id: string, position: { x: number; y: number }): void {
    const block = doc.value?.blocks.find((b) => b.id === id);
    if (block !== undefined) block.position = { x: Math.round(position.x), y: Math.round(position.y) };
  }

  function removeBlock(id: string): void {
    const d = doc.value;
    if (d === undefined) return;
    d.blocks = d.blocks.filter((b) => b.id !== id);
    d.connections = d.connections.filter((c) => c.source !== id && c.target !== id);
    if (selectedId.value === id) selectedId.value = undefined;
  }

  /**
   * Connects from a source handle (`success`, `error`, or a condition's branch id). Returns a
   * plain-words reason when the connection makes no sense (into the start, onto itself, a duplicate).
   */
  function connect(source: string, handle: string, target: string): string | undefined {
    const d = doc.value;
    if (d === undefined) return 'No workflow is open.';
    const from = d.blocks.find((b) => b.id === source);
    const to = d.blocks.find((b) => b.id === target);
    if (from === undefined || to === undefined) return 'That block no longer exists.';
    if (source === target) return 'A block cannot connect to itself.';
    if (to.type === 'starter') return 'Nothing can lead into the Start block.';
    const c: WorkflowConnection = handle === 'error' ? { source, target, kind: 'error' } : from.type === 'condition' ? { source, target, kind: 'branch', branch: handle } : { source, target, kind: 'success' };
    if (d.connections.some((x) => edgeId(x) === edgeId(c))) return 'These blocks are already connected that way.';
    d.connections.push(c);
    return undefined;
  }

  function disconnect(id: string): void {
    const d = doc.value;
    if (d !== undefined) d.connections = d.connections.filter((c) => edgeId(c) !== id);
  }

  /** Adds an `else-if` branch before the `else` of a condition block. */
  function addBranch(blockId: string): void {
    const block = doc.value?.blocks.find((b) => b.id === blockId);
    if (block?.type !== 'condition') return;
    const taken = new Set(block.inputs.branches.map((b) => b.id));
    let id = 'else-if';
    for (let n = 2; taken.has(id); n += 1) id = `else-if-${n}`;
    const branches = block.inputs.branches;
    const at = branches.findIndex((b) => b.kind === 'else');
    branches.splice(at < 0 ? branches.length : at, 0, { id, kind: 'else-if', expression: '' });
  }

  /** Removes an `else-if` branch and the connections leaving it. */
  function removeBranch(blockId: string, branchId: string): void {
    const d = doc.value;
    const block = d?.blocks.find((b) => b.id === blockId);
    if (d === undefined || block?.type !== 'condition') return;
    block.inputs.branches = block.inputs.branches.filter((b) => b.id !== branchId || b.kind !== 'else-if');
    d.connections = d.connections.filter((c) => !(c.source === blockId && c.kind === 'branch' && c.branch === branchId));
  }

  /** Sets a workflow variable (`<variable.name>`); returns a plain-words reason when the name cannot be one. */
  function setVariable(name: string, value: string): string | undefined {
    const d = doc.value;
    if (d === undefined) return 'No workflow is open.';
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) return 'A variable name uses letters, digits and "_", and does not start with a digit.';
    d.variables = { ...d.variables, [name]: value };
    return undefined;
  }

  function removeVariable(name: string): void {
    const d = doc.value;
    if (d === undefined) return;
    d.variables = Object.fromEntries(Object.entries(d.variables).filter(([key]) => key !== name));
  }

  /** Runs the open workflow (as edited, saved or not) on `input`, streaming each block into `run`. */
  async function start(input: string): Promise<void> {
    const workflow = doc.value;
    if (workflow === undefined || running.value) return;
    await follow(input, async () => {
      check('Not run');
      return client().invoke('run_workflow', { workflow, input });
    });
  }

  /** Runs the last execution again from `blockId`, reusing the stored outputs of the blocks before it. */
  async function rerunFrom(blockId: string): Promise<void> {
    const executionId = run.value.execution?.id;
    if (executionId === undefined || running.value) return;
    await follow(run.value.input, () => client().invoke('rerun_from_block', { executionId, blockId }));
  }

  async function follow(input: string, begin: () => Promise<{ executionId: string }>): Promise<void> {
    run.value = { ...emptyRun(), status: 'starting', input };
    try {
      const h = await client().runWorkflow(begin());
      handle = h;
      run.value = { ...run.value, executionId: h.executionId, status: 'running' };
      h.onEvent((event) => {
        // Another workflow was opened meanwhile: this run goes on in the sidecar and is stored; the panel has moved on.
        if (run.value.executionId !== h.executionId) return;
        run.value = foldRunEvent(run.value, event);
        if (running.value) return;
        handle = undefined;
        void loadPastRuns();
      });
    } catch (e) {
      run.value = { ...run.value, status: 'failed', error: message(e) };
    }
  }

  /** Stops the whole execution: every running block, and no new one starts. */
  async function stop(): Promise<void> {
    await handle?.cancel().catch((e: unknown) => (run.value = { ...run.value, error: message(e) }));
  }

  return {
    list, listState, pastRuns, doc, selectedId, selected, selectedReferences, dirty, saveState, problems, issuesByBlock, importReport, run, running,
    loadList, create, open, remove, importText, exportText, save, addBlock, moveBlock, removeBlock, connect, disconnect, addBranch, removeBranch, setVariable, removeVariable, start, rerunFrom, stop, showPastRun,
    select: (id: string | undefined) => (selectedId.value = id),
    dismissReport: () => (importReport.value = undefined),
  };
});
