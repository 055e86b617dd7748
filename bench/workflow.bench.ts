/**
 * Workflow executor overhead. Target: under 1 ms per block against calling the AIManager directly.
 *
 * 1. Per block, isolated: a 100-agent chain run by the executor versus the same 100 calls made by
 *    hand through the AIManager (each prompt built from the previous answer), on an in-memory
 *    provider that answers at once, so nothing but the executor's own work (validation, graph,
 *    reference resolution, trace, events) differs. Alternating rounds, paired medians.
 * 2. A 50-block workflow on the OpenAI stand-in in its own process (a vendor over loopback HTTP):
 *    start, 6 lanes of 8 agents running side by side, a response joining them; against the same
 *    48 calls made by hand in 6 concurrent lanes.
 *
 *   npx tsx bench/workflow.bench.ts
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { AIManager } from '../extensions/ai-sidecar/src/core/manager.js';
import type { AIProvider, AIRequest, StreamPart } from '../extensions/ai-sidecar/src/core/types.js';
import { OpenAICompatibleProvider } from '../extensions/ai-sidecar/src/providers/openai-compatible.js';
import { managerAICall } from '../extensions/ai-sidecar/src/workflow/manager-ai.js';
import { WorkflowExecutor } from '../extensions/ai-sidecar/src/workflow/executor.js';
import type { Connection, Workflow, WorkflowBlock } from '../extensions/ai-sidecar/src/workflow/model.js';
import { fmt, median, table } from './stats.js';

const CHAIN = 100;
const ROUNDS = Number(process.env.ROUNDS ?? 30);
const LANES = 6;
const LANE_LENGTH = 8;
const STAND_IN_TOKENS = 20;

/** Answers every request at once with a few tokens: the cheapest provider there can be. */
class InstantProvider implements AIProvider {
  readonly providerName = 'instant';
  readonly kind = 'openai-compatible' as const;
  async *streamCompletion(): AsyncIterable<StreamPart> {
    yield { type: 'text-delta', text: 'ok ' };
    yield { type: 'text-delta', text: 'done' };
    yield { type: 'usage', usage: { inputTokens: 3, outputTokens: 2 } };
    yield { type: 'finish', finishReason: 'stop' };
  }
  chatCompletion(): never {
    throw new Error('not used');
  }
  listModels = () => Promise.resolve([]);
  status = () => Promise.resolve({ state: 'ready' as const });
}

const starter: WorkflowBlock = { id: 'start', name: 'Start', type: 'starter', inputs: {} };
const agentBlock = (id: string, provider: string, userPrompt: string): WorkflowBlock => ({ id, name: id, type: 'agent', inputs: { provider, model: 'gpt-4o-mini', userPrompt } });
const success = (source: string, target: string): Connection => ({ source, target, kind: 'success' });

function chainWorkflow(provider: string, length: number): Workflow {
  const blocks = [starter];
  const connections: Connection[] = [];
  for (let i = 0; i < length; i += 1) {
    const previous = i === 0 ? 'start' : `a${i - 1}`;
    blocks.push(agentBlock(`a${i}`, provider, `Continue: <${i === 0 ? 'start.input' : `${previous}.content`}>`));
    connections.push(success(previous, `a${i}`));
  }
  return { id: 'bench', name: 'Chain', blocks, connections, variables: {} };
}

function lanesWorkflow(provider: string): Workflow {
  const blocks = [starter];
  const connections: Connection[] = [];
  const ends: string[] = [];
  for (let lane = 0; lane < LANES; lane += 1) {
    for (let step = 0; step < LANE_LENGTH; step += 1) {
      const id = `l${lane}s${step}`;
      const previous = step === 0 ? 'start' : `l${lane}s${step - 1}`;
      blocks.push(agentBlock(id, provider, `Lane ${lane}: <${step === 0 ? 'start.input' : `${previous}.content`}>`));
      connections.push(success(previous, id));
    }
    ends.push(`l${lane}s${LANE_LENGTH - 1}`);
  }
  blocks.push({ id: 'response', name: 'Response', type: 'response', inputs: { data: ends.map((id) => `<${id}.content>`).join('\n') } });
  for (const end of ends) connections.push(success(end, 'response'));
  return { id: 'bench', name: 'Lanes', blocks, connections, variables: {} };
}

const ask = (model: string, content: string): AIRequest => ({ model, messages: [{ role: 'user', content }] });

/** The same chain by hand: each call's prompt built from the previous answer. */
async function directChain(manager: AIManager, provider: string, length: number, input: string): Promise<void> {
  let previous = input;
  for (let i = 0; i < length; i += 1) previous = (await manager.execute(provider, ask('gpt-4o-mini', `Continue: ${previous}`)).result).text;
}

async function directLanes(manager: AIManager, provider: string, input: string): Promise<void> {
  const lanes = Array.from({ length: LANES }, async (_, lane) => {
    let previous = input;
    for (let step = 0; step < LANE_LENGTH; step += 1) previous = (await manager.execute(provider, ask('gpt-4o-mini', `Lane ${lane}: ${previous}`)).result).text;
    return previous;
  });
  (await Promise.all(lanes)).join('\n');
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

/** Alternating rounds (ABBA), so drift over the run lands on both sides; paired differences. */
async function paired(rounds: number, direct: () => Promise<unknown>, executor: () => Promise<unknown>): Promise<{ direct: number; executor: number; diff: number }> {
  const d: number[] = [];
  const e: number[] = [];
  for (let i = 0; i < 3; i += 1) await Promise.all([direct(), executor()].map((p) => p.catch(() => undefined)));
  for (let round = 0; round < rounds; round += 1) {
    if (round % 2 === 0) {
      d.push(await timed(direct));
      e.push(await timed(executor));
    } else {
      e.push(await timed(executor));
      d.push(await timed(direct));
    }
  }
  return { direct: median(d), executor: median(e), diff: median(e.map((x, i) => x - (d[i] ?? 0))) };
}

async function runWorkflow(executor: WorkflowExecutor, workflow: Workflow): Promise<void> {
  const execution = await executor.start({ workflow, input: 'go', onEvent: () => undefined }).result;
  if (execution.status !== 'completed') throw new Error(`bench workflow ${execution.status}: ${execution.error?.message ?? ''}`);
}

async function startStandIn(): Promise<{ baseURL: string; process: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/openai-server-process.ts', String(STAND_IN_TOKENS)], { cwd: new URL('..', import.meta.url), stdio: ['ignore', 'pipe', 'inherit'] });
  const [url] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return { baseURL: `${url}/v1`, process: child };
}

async function main(): Promise<void> {
  const manager = new AIManager({ retry: { maxRetries: 0 } });
  manager.register(new InstantProvider());
  const server = await startStandIn();
  manager.register(new OpenAICompatibleProvider({ providerName: 'openai', baseURL: server.baseURL }, { getKey: () => Promise.resolve('sk-bench-0000000000000000') }));
  const executor = new WorkflowExecutor({ ai: managerAICall(manager) });
  try {
    const chain = chainWorkflow('instant', CHAIN);
    const isolated = await paired(ROUNDS, () => directChain(manager, 'instant', CHAIN, 'go'), () => runWorkflow(executor, chain));
    const lanes = lanesWorkflow('openai');
    const standIn = await paired(Math.max(5, Math.round(ROUNDS / 2)), () => directLanes(manager, 'openai', 'go'), () => runWorkflow(executor, lanes));
    const blocks = lanes.blocks.length;
    console.log(
      table([
        ['case', 'direct AIManager (ms)', 'executor (ms)', 'ratio', 'overhead per block (ms)'],
        [`${CHAIN}-agent chain, in-memory provider`, fmt(isolated.direct), fmt(isolated.executor), fmt(isolated.executor / isolated.direct), fmt(isolated.diff / (CHAIN + 1), 3)],
        [`${blocks}-block workflow, OpenAI stand-in (${LANES} lanes x ${LANE_LENGTH})`, fmt(standIn.direct), fmt(standIn.executor), fmt(standIn.executor / standIn.direct), fmt(standIn.diff / blocks, 3)],
      ]),
    );
    const perBlock = isolated.diff / (CHAIN + 1);
    console.log(`\nexecutor overhead per block: ${fmt(perBlock, 3)} ms (target < 1 ms): ${perBlock < 1 ? 'met' : 'NOT met'}`);
  } finally {
    server.process.kill('SIGTERM');
    await manager.dispose();
  }
}

await main();
