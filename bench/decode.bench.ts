/**
 * Local decode at the hardware's limit, on a 1B-class Q4_0 model, each against a baseline in the
 * same run (see bench/llama-tools.ts for what is built the first time, and where):
 *
 * 1. Every entry point, as launched, against llama.cpp's own `llama-bench` at its best thread count,
 *    in alternating rounds: the app (the sidecar started by the runtime from neutralino.config.json),
 *    the runner (`npm run ask`, as npm starts it) and the workflow runner (`npm run flow`, when this
 *    checkout has it; a one-agent workflow, rate from the agent's token count after its first token). Target >= 0.95 each.
 * 2. Thread choice: the provider choosing by itself against node-llama-cpp at each fixed count, in
 *    alternating rounds, idle and with another process keeping one core busy. Target >= 0.95.
 * 3. First local token, from an idle just-started app on a model whose thread count is cached,
 *    against the time to read the model file. Target <= read + 0.3 s. Beside each round,
 *    node-llama-cpp alone does the same in a plain process (bench/llama-floor.ts): the difference
 *    is the app's own share of the time.
 * 4. The sidecar's memory with the model loaded against (file + KV cache). Target <= 1.1x + 60 MiB.
 *
 *   node --require ./extensions/ai-sidecar/src/boot/preload.cjs --import tsx bench/decode.bench.ts
 *   (npm run bench:decode; ROUNDS=5 for more rounds; PARTS=first-token for [3] and [4] alone,
 *   PARTS=decode,choice for the others)
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { getLlama, LlamaCompletion, LlamaLogLevel, type LlamaContext } from 'node-llama-cpp';
import { EVENTS, PROTOCOL_VERSION } from '../extensions/ai-sidecar/src/protocol/contract.js';
import type { AIResponse } from '../extensions/ai-sidecar/src/core/types.js';
import { LocalLlamaProvider } from '../extensions/ai-sidecar/src/providers/local-llama.js';
import { modelKey, ThreadCache } from '../extensions/ai-sidecar/src/providers/local/thread-tuning.js';
import { dataPaths } from '../extensions/ai-sidecar/src/storage/paths.js';
import { libuvPoolSize, nodeProcessOf } from '../tests/local/libuv-pool.js';
import { PageClient } from '../tests/neutralino/page-client.js';
import { startNeutralinoStandIn, type StandIn } from '../tests/neutralino/runtime.js';
import { ensureLlamaTools, llamaBenchDecode, ROOT } from './llama-tools.js';
import { memoryOf, type Memory } from './proc.js';
import { fmt, median, medianDifference, table } from './stats.js';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
/** Which parts to run: `decode` ([1]), `choice` ([2]), `first-token` ([3] and [4]); all by default. */
const PARTS = new Set((process.env.PARTS ?? 'decode,choice,first-token').split(',').map((p) => p.trim()));
const TOKENS = 128;
const CHOICE_TOKENS = 64;
const PROMPT = 'Once upon a time';
const MiB = 2 ** 20;

const tools = ensureLlamaTools();
const MODEL = tools.model;
const MODEL_NAME = path.basename(MODEL);
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'sim-decode-bench-'));
await mkdir(path.join(dataDir, 'models'));
await symlink(MODEL, path.join(dataDir, 'models', MODEL_NAME));
const env: NodeJS.ProcessEnv = { ...process.env, SIM_AI_DATA_DIR: dataDir };
delete env.UV_THREADPOOL_SIZE; // every entry point must size its own pool

const ownPool = await libuvPoolSize(process.pid);
console.log(`machine: ${os.cpus().length} vCPUs (${os.cpus()[0]?.model ?? '?'}), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (shared with other work)`);
console.log(`model: ${MODEL_NAME}, ${fmt(statSync(MODEL).size / MiB, 0)} MiB; this process's libuv pool: ${ownPool}`);

/** Decode rate from token timestamps: intervals after the first token (prompt excluded). */
function rate(stamps: readonly number[]): number {
  const first = stamps[0];
  const last = stamps.at(-1);
  return first === undefined || last === undefined || stamps.length < 2 ? 0 : ((stamps.length - 1) / (last - first)) * 1000;
}

/** The response's rate counts N tokens over N-1 intervals; put it on llama-bench's footing. */
const decodeRate = (response: Pick<AIResponse, 'usage' | 'timing'>): number => response.timing.tokensPerSecond * ((response.usage.outputTokens - 1) / Math.max(1, response.usage.outputTokens));

// ---------------------------------------------------------------------------------------------
// The app as launched: the runtime stand-in starting the sidecar from neutralino.config.json.

interface App {
  readonly runtime: StandIn;
  readonly page: PageClient;
  readonly pid: number;
  close(): Promise<void>;
}

const WINDOW_START: readonly [string, unknown][] = [
  ['hello', { protocolVersion: PROTOCOL_VERSION }],
  ['list_providers', {}],
  ['list_presets', {}],
  ['first_launch_status', {}],
  ['vault_status', {}],
  ['list_conversations', { limit: 200 }],
];

async function startApp(): Promise<App> {
  const runtime = await startNeutralinoStandIn({ appDir: ROOT, env });
  const page = await PageClient.connect(runtime);
  await page.waitForSidecar(30_000);
  // What the window asks for once connected (resources/src/main.ts), so "just started" is as in the app.
  for (const [command, params] of WINDOW_START) {
    const reply = await page.request(command, params);
    if (!reply.ok) throw new Error(`${command}: ${reply.error.message}`);
  }
  const pid = nodeProcessOf(runtime.extensionProcesses[0]?.pid ?? 0);
  return {
    runtime,
    page,
    pid,
    close: async () => {
      page.close();
      await runtime.close();
      await runtime.extensionProcesses[0]?.exited;
    },
  };
}

/** One local run through the app; resolves with the response and when the first chunk arrived. */
async function appRun(app: App, maxTokens: number): Promise<{ response: AIResponse; firstChunkMs: number }> {
  let firstChunkAt: number | undefined;
  const started = performance.now();
  const done = new Promise<AIResponse>((resolve, reject) => {
    const off = app.page.on((event, data) => {
      if (event === EVENTS.chunk) firstChunkAt ??= performance.now();
      if (event === EVENTS.done || event === EVENTS.error) {
        off();
        const response = (data as { response: AIResponse }).response;
        if (event === EVENTS.error) reject(new Error(`app run failed: ${JSON.stringify(response.error)}`));
        else resolve(response);
      }
    });
  });
  const reply = await app.page.request('call_ai_provider', { provider: 'local', request: { model: MODEL_NAME, messages: [{ role: 'user', content: PROMPT }], maxTokens, temperature: 0 } });
  if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
  const response = await done;
  return { response, firstChunkMs: (firstChunkAt ?? Number.NaN) - started };
}

const llamaLoaded = (pid: number): boolean => /llama-addon\.node|libllama\.so/.test(readFileSync(`/proc/${pid}/maps`, 'utf8'));

// ---------------------------------------------------------------------------------------------
// The runners as npm starts them.

function npmRun(script: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('npm', ['run', '--silent', script, '--', ...args], { cwd: ROOT, env, maxBuffer: 16 * MiB }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`npm run ${script} failed: ${stderr}`));
      else resolve(stderr);
    });
  });
}

async function runnerRate(): Promise<number> {
  const summary = await npmRun('ask', ['--provider', 'local', '--model', MODEL_NAME, '--max-tokens', String(TOKENS), '--temperature', '0', PROMPT]);
  const match = /tokens: \d+ in, (\d+) out .* ([\d.]+) tok\/s/.exec(summary);
  if (match === null) throw new Error(`unexpected runner summary: ${summary}`);
  const out = Number(match[1]);
  return Number(match[2]) * ((out - 1) / out);
}

/** The workflow runner on a one-agent workflow: the agent's tokens after its first, over the time since. */
async function flowRate(): Promise<number> {
  const file = path.join(dataDir, 'one-agent.sim.yaml');
  await writeFile(file, [
    "version: '1.0'",
    'blocks:',
    '  start: { type: starter, name: Start, inputs: { startWorkflow: manual }, connections: { success: agent } }',
    `  agent: { type: agent, name: Agent, inputs: { userPrompt: ${JSON.stringify(PROMPT)}, model: ${JSON.stringify(MODEL_NAME)}, temperature: 0, maxTokens: ${TOKENS} }, connections: { success: answer } }`,
    "  answer: { type: response, name: Answer, inputs: { dataMode: json, data: '<agent.content>' } }",
    '',
  ].join('\n'));
  const log = await npmRun('flow', [file, '--input', 'x']);
  const match = /\[Agent\] done \((\d+) tokens, first after (\d+) ms, (\d+) ms\)/.exec(log);
  if (match === null) throw new Error(`unexpected flow runner output: ${log}`);
  const [out, first, total] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return ((out - 1) / (total - first)) * 1000;
}

const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const hasFlow = scripts.flow !== undefined;

// ---------------------------------------------------------------------------------------------
// 1. Entry points against llama-bench.

const rows: Record<string, number[]> = { 'llama-bench': [], app: [], runner: [], ...(hasFlow ? { 'flow runner': [] } : {}) };
const ratios: Record<string, number[]> = { app: [], runner: [], ...(hasFlow ? { 'flow runner': [] } : {}) };
if (PARTS.has('decode')) {
  console.log(`\n[1] llama-bench thread sweep (${TOKENS} tokens, 2 repetitions)...`);
  const sweepCounts = [...new Set([1, 2, os.cpus().length])];
  const sweep = llamaBenchDecode(tools, sweepCounts, TOKENS, 2);
  const [bestThreads] = [...sweep.entries()].reduce((a, b) => (b[1] > a[1] ? b : a));
  console.log(`    ${[...sweep.entries()].map(([t, r]) => `${t} thread(s) ${fmt(r, 1)} tok/s`).join(', ')} → best ${bestThreads}`);

  const app = await startApp();
  console.log(`    app's sidecar: pid ${app.pid}, libuv pool ${await libuvPoolSize(app.pid)}`);
  // The first run measures the thread count (and caches it, for the runner too).
  await appRun(app, 96);
  for (let round = 0; round < ROUNDS; round += 1) {
    // The best count moves with the machine's load (here: other work on the same 2 vCPUs), so each
    // round's baseline is llama-bench at whichever count is fastest in that round.
    const baseline = Math.max(...llamaBenchDecode(tools, sweepCounts, TOKENS, 1).values());
    const appRate = decodeRate((await appRun(app, TOKENS)).response);
    const runner = await runnerRate();
    const flow = hasFlow ? await flowRate() : undefined;
    if (flow !== undefined) {
      rows['flow runner']?.push(flow);
      ratios['flow runner']?.push(flow / baseline);
    }
    rows['llama-bench']?.push(baseline);
    rows.app?.push(appRate);
    rows.runner?.push(runner);
    ratios.app?.push(appRate / baseline);
    ratios.runner?.push(runner / baseline);
    console.log(`    round ${round + 1}: llama-bench ${fmt(baseline, 1)}, app ${fmt(appRate, 1)}, runner ${fmt(runner, 1)}${flow === undefined ? '' : `, flow runner ${fmt(flow, 1)}`} tok/s`);
  }
  await app.close();
}

// ---------------------------------------------------------------------------------------------
// 3 and 4. First local token on a cached thread count; memory with the model loaded.

if (PARTS.has('first-token')) console.log('\n[3] first local token and memory, fresh app starts');
const firstTokens: { ttft: number; read: number }[] = [];
const libraryFirstTokens: { ttft: number; read: number }[] = [];
const memory: Memory[] = [];
if (PARTS.has('first-token') && !PARTS.has('decode')) {
  // [1] did not run: one run measures the thread count and caches it, as [1]'s first run does.
  const first = await startApp();
  await appRun(first, 96);
  await first.close();
}

/** Milliseconds to read the model file, as the baseline of the round that follows. */
function readTime(): number {
  const started = performance.now();
  readFileSync(MODEL);
  return performance.now() - started;
}

async function appFirstToken(): Promise<void> {
  const read = readTime();
  const fresh = await startApp();
  // Idle after launch: give the warm-up its time (it loads llama.cpp's backend when models exist).
  const until = Date.now() + 10_000;
  while (!llamaLoaded(fresh.pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 300));
  const { firstChunkMs } = await appRun(fresh, 16);
  firstTokens.push({ ttft: firstChunkMs, read });
  memory.push(memoryOf(fresh.pid));
  await fresh.close();
}

/** node-llama-cpp alone (bench/llama-floor.ts), in a fresh process at the thread count the app cached. */
async function libraryFirstToken(): Promise<void> {
  const cached = await new ThreadCache(dataPaths(dataDir).threadCache).get(await modelKey(MODEL));
  if (cached === undefined) throw new Error('the app cached no thread count');
  const read = readTime();
  const output = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--require', './extensions/ai-sidecar/src/boot/preload.cjs', '--import', 'tsx', 'bench/llama-floor.ts', MODEL, String(cached.threads), PROMPT], { cwd: ROOT, env }, (error, stdout, stderr) => {
      if (error) reject(new Error(`llama-floor failed: ${stderr}`));
      else resolve(stdout);
    });
  });
  libraryFirstTokens.push({ ttft: (JSON.parse(output) as { firstTokenMs: number }).firstTokenMs, read });
}

for (let run = 0; PARTS.has('first-token') && run < ROUNDS; run += 1) {
  // Alternating, so neither side always runs second.
  for (const measure of run % 2 === 0 ? [appFirstToken, libraryFirstToken] : [libraryFirstToken, appFirstToken]) await measure();
}

// ---------------------------------------------------------------------------------------------
// 2. Thread choice against fixed counts, idle and with one core kept busy.

async function rawRun(context: LlamaContext): Promise<number> {
  const stamps: number[] = [];
  const sequence = context.getSequence();
  await new LlamaCompletion({ contextSequence: sequence }).generateCompletion(PROMPT, { maxTokens: CHOICE_TOKENS, temperature: 0, onToken: () => void stamps.push(performance.now()) });
  sequence.dispose();
  return rate(stamps);
}

async function providerRun(provider: LocalLlamaProvider): Promise<number> {
  const stamps: number[] = [];
  for await (const part of provider.streamCompletion({ model: MODEL, messages: [{ role: 'user', content: PROMPT }], maxTokens: CHOICE_TOKENS, temperature: 0, contextSize: 1024 })) {
    if (part.type === 'text-delta') stamps.push(performance.now());
    if (part.type === 'error') throw new Error(part.error.message);
  }
  return rate(stamps);
}

const fixedCounts: number[] = [];
const contexts = new Map<number, LlamaContext>();

interface Choice {
  fixed: Map<number, number[]>;
  auto: number[];
  chose: number[];
}

async function choiceRounds(label: string, provider: LocalLlamaProvider): Promise<Choice> {
  const fixed = new Map<number, number[]>(fixedCounts.map((t) => [t, []]));
  const auto: number[] = [];
  const chose: number[] = [];
  for (let round = 0; round < ROUNDS + 1; round += 1) {
    const order = round % 2 === 0 ? [...fixedCounts, 0] : [0, ...[...fixedCounts].reverse()];
    for (const threads of order) {
      if (threads === 0) {
        auto.push(await providerRun(provider));
        chose.push(provider.loadedThreads ?? 0);
      } else fixed.get(threads)?.push(await rawRun(contexts.get(threads) as LlamaContext));
    }
    console.log(`    ${label} round ${round + 1}: ${fixedCounts.map((t) => `${t} thread(s) ${fmt(fixed.get(t)?.at(-1) ?? Number.NaN, 1)}`).join(', ')}, provider ${fmt(auto.at(-1) ?? Number.NaN, 1)} (${chose.at(-1)})`);
  }
  return { fixed, auto, chose };
}

let idle: Choice | undefined;
let busy: Choice | undefined;
if (PARTS.has('choice')) {
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, build: 'never', maxThreads: 0 });
  const rawModel = await llama.loadModel({ modelPath: MODEL, useMmap: false });
  fixedCounts.push(...new Set([1, 2, llama.cpuMathCores]));
  for (const threads of fixedCounts) contexts.set(threads, await rawModel.createContext({ contextSize: 1024, threads }));
  const provider = new LocalLlamaProvider({ idleUnloadMs: null });
  await providerRun(provider); // loads the model; its first run measures (as a new user's would)
  console.log('\n[2] thread choice against fixed counts');
  idle = await choiceRounds('idle', provider);
  const spinner = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  busy = await choiceRounds('one core busy', provider);
  spinner.kill();
  await provider.dispose();
  for (const context of contexts.values()) await context.dispose();
  await rawModel.dispose();
  await llama.dispose();
}
await rm(dataDir, { recursive: true, force: true });

// ---------------------------------------------------------------------------------------------
// Report.

const kvBytes = 2 * 22 * 2048 * (4 * 64) * 2; // K and V, 22 layers, 2048 context, 4 KV heads x 64, f16
const budgetKiB = (1.1 * (statSync(MODEL).size + kvBytes)) / 1024 + 60 * 1024;

if (PARTS.has('decode')) {
  console.log(`\nDecode on ${MODEL_NAME}, ${TOKENS} tokens, ${ROUNDS} alternating rounds (ratios are per round, then the median)`);
  console.log(table([
    ['entry point (as launched)', 'tok/s (median)', 'ratio to llama-bench at the round\'s best count', 'per round'],
    ['llama-bench', fmt(median(rows['llama-bench'] ?? []), 1), '1.00', ''],
    ['app (sidecar from the runtime)', fmt(median(rows.app ?? []), 1), fmt(median(ratios.app ?? []), 3), (ratios.app ?? []).map((r) => fmt(r, 3)).join(' ')],
    ['runner (npm run ask)', fmt(median(rows.runner ?? []), 1), fmt(median(ratios.runner ?? []), 3), (ratios.runner ?? []).map((r) => fmt(r, 3)).join(' ')],
    ...(hasFlow ? [['flow runner (npm run flow)', fmt(median(rows['flow runner'] ?? []), 1), fmt(median(ratios['flow runner'] ?? []), 3), (ratios['flow runner'] ?? []).map((r) => fmt(r, 3)).join(' ')]] : []),
  ]));
  if (!hasFlow) console.log('flow runner: not in this checkout (npm run flow missing)');
  console.log('target: >= 0.95 each');
}

function choiceRow(label: string, c: Choice): string[] {
  const fixedMedians = [...c.fixed.entries()].map(([t, rates]) => [t, median(rates)] as const);
  const [best, bestRate] = fixedMedians.reduce((a, b) => (b[1] > a[1] ? b : a));
  const counts = c.chose.reduce<Record<number, number>>((acc, t) => ({ ...acc, [t]: (acc[t] ?? 0) + 1 }), {});
  return [
    label,
    fixedMedians.map(([t, r]) => `${t}: ${fmt(r, 1)}`).join(', '),
    `${fmt(median(c.auto), 1)} (chose ${Object.entries(counts).map(([t, n]) => `${t}×${n}`).join(' ')})`,
    `${fmt(median(c.auto) / bestRate, 3)} vs ${best}`,
  ];
}
if (idle !== undefined && busy !== undefined) {
  console.log(`\nThread choice, ${CHOICE_TOKENS} tokens, ${ROUNDS + 1} rounds alternating provider and fixed counts (medians)`);
  console.log(table([['condition', 'fixed counts tok/s', 'provider tok/s', 'ratio to best fixed'], choiceRow('idle', idle), choiceRow('one core busy', busy)]));
  console.log('target: >= 0.95 in both');
}

if (PARTS.has('first-token')) {
  console.log(`\nFirst local token, idle just-started app, thread count cached (${ROUNDS} fresh starts)`);
  const over = (f: { ttft: number; read: number }): number => f.ttft - f.read;
  console.log(table([
    ['run', 'first token ms', 'file read ms', 'over the read, ms (target <= 300)', 'node-llama-cpp alone, over its read, ms', 'the app\'s own share, ms'],
    ...firstTokens.map((f, i) => {
      const library = libraryFirstTokens[i];
      return [String(i + 1), fmt(f.ttft, 0), fmt(f.read, 0), fmt(over(f), 0), library === undefined ? '' : fmt(over(library), 0), library === undefined ? '' : fmt(over(f) - over(library), 0)];
    }),
    ['median', fmt(median(firstTokens.map((f) => f.ttft)), 0), fmt(median(firstTokens.map((f) => f.read)), 0), fmt(median(firstTokens.map(over)), 0), fmt(median(libraryFirstTokens.map(over)), 0), fmt(medianDifference(firstTokens.map(over), libraryFirstTokens.map(over)), 0)],
  ]));
  console.log('node-llama-cpp alone: bench/llama-floor.ts, the same load, context and prompt in a plain process; its time over the read is the floor the app builds on.');

  console.log(`\nSidecar memory with the model loaded (file ${fmt(statSync(MODEL).size / MiB, 0)} MiB + KV ${fmt(kvBytes / MiB, 0)} MiB; budget 1.1x + 60 MiB = ${fmt(budgetKiB / 1024, 0)} MiB)`);
  console.log(table([
    ['measure', 'MiB (median)', 'ratio to budget (target <= 1)'],
    ['RSS', fmt(median(memory.map((m) => m.rssKiB)) / 1024, 0), fmt(median(memory.map((m) => m.rssKiB)) / budgetKiB, 3)],
    ['PSS', fmt(median(memory.map((m) => m.pssKiB)) / 1024, 0), fmt(median(memory.map((m) => m.pssKiB)) / budgetKiB, 3)],
  ]));
}
