/**
 * Streaming overhead: tokens per second and time to first token through the AIManager versus the bare
 * OpenAI SDK, against the same local OpenAI stand-in, in the same run. Target: >= 0.95 of the bare
 * SDK's throughput and < 1 ms added to time to first token.
 *
 * The stand-in runs in its own process, as a real vendor does, so only the client side is measured.
 * Throughput uses long streams (4000 tokens); time to first token uses short ones (16 tokens), where
 * the first token is not held up behind the server writing thousands of others.
 *
 *   npx tsx bench/streaming.bench.ts
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import OpenAI from 'openai';
import { AIManager } from '../extensions/ai-sidecar/src/core/manager.js';
import { OpenAICompatibleProvider } from '../extensions/ai-sidecar/src/providers/openai-compatible.js';
import { fmt, median, table } from './stats.js';

const LONG_TOKENS = 4000;
const SHORT_TOKENS = 16;
const ROUNDS = Number(process.env.ROUNDS ?? 150);
const KEY = 'sk-bench-0000000000000000';
const request = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'go' }] };

interface Sample {
  ttftMs: number;
  tokensPerSecond: number;
}
type Path = () => Promise<Sample>;

async function startServer(tokens: number): Promise<{ baseURL: string; process: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/openai-server-process.ts', String(tokens)], {
    cwd: new URL('..', import.meta.url),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [url] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return { baseURL: `${url}/v1`, process: child };
}

function barePath(baseURL: string): Path {
  const client = new OpenAI({ apiKey: KEY, baseURL, maxRetries: 0 });
  return async () => {
    const start = performance.now();
    let first = 0;
    let count = 0;
    const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content) {
        if (count === 0) first = performance.now();
        count += 1;
      }
    }
    return { ttftMs: first - start, tokensPerSecond: (count / (performance.now() - start)) * 1000 };
  };
}

function managedPath(baseURL: string): Path {
  const manager = new AIManager();
  manager.register(new OpenAICompatibleProvider({ providerName: 'openai', baseURL }, { getKey: async () => KEY }));
  return async () => {
    const start = performance.now();
    let first = 0;
    let count = 0;
    await manager.execute('openai', request, {
      onPart: (part) => {
        if (part.type === 'text-delta') {
          if (count === 0) first = performance.now();
          count += 1;
        }
      },
    }).result;
    return { ttftMs: first - start, tokensPerSecond: (count / (performance.now() - start)) * 1000 };
  };
}

/**
 * Runs both paths `ROUNDS` times, alternating which goes first (ABBA) so whatever one run leaves
 * behind (garbage to collect, a warm socket) falls on both equally.
 */
async function compare(bare: Path, managed: Path): Promise<{ bare: Sample[]; managed: Sample[] }> {
  await bare();
  await managed();
  const samples = { bare: [] as Sample[], managed: [] as Sample[] };
  for (let round = 0; round < ROUNDS; round += 1) {
    const order = round % 2 === 0 ? (['bare', 'managed'] as const) : (['managed', 'bare'] as const);
    for (const path of order) samples[path].push(await (path === 'bare' ? bare : managed)());
  }
  return samples;
}

// Each round's two runs sit side by side in time, so their ratio (or difference) cancels the drift of
// a shared 2-vCPU machine that moves both; the median over rounds is the headline.
const pairedMedian = (a: Sample[], b: Sample[], f: (x: Sample, y: Sample) => number): number => median(a.map((x, i) => f(x, b[i]!)));

const long = await startServer(LONG_TOKENS);
const throughput = await compare(barePath(long.baseURL), managedPath(long.baseURL));
long.process.kill('SIGTERM');
const short = await startServer(SHORT_TOKENS);
const firstToken = await compare(barePath(short.baseURL), managedPath(short.baseURL));
short.process.kill('SIGTERM');

const tps = (samples: Sample[]) => median(samples.map((s) => s.tokensPerSecond));
const ttft = (samples: Sample[]) => median(samples.map((s) => s.ttftMs));
const ratio = pairedMedian(throughput.managed, throughput.bare, (m, b) => m.tokensPerSecond / b.tokensPerSecond);
const addedTtft = pairedMedian(firstToken.managed, firstToken.bare, (m, b) => m.ttftMs - b.ttftMs);

console.log(`Streaming overhead, ${ROUNDS} alternating rounds per measure (medians)`);
console.log(table([
  ['path', `tokens/s (${LONG_TOKENS}-token streams)`, `TTFT ms (${SHORT_TOKENS}-token streams)`],
  ['bare OpenAI SDK', fmt(tps(throughput.bare), 0), fmt(ttft(firstToken.bare), 2)],
  ['AIManager + adapter', fmt(tps(throughput.managed), 0), fmt(ttft(firstToken.managed), 2)],
]));
console.log(`throughput ratio (manager / bare), median of paired rounds: ${fmt(ratio, 3)}  (target >= 0.95)`);
console.log(`added time to first token, median of paired rounds: ${fmt(addedTtft, 2)} ms  (target < 1 ms)`);
