/**
 * Streaming overhead: tokens per second and time to first token through the AIManager versus the bare
 * OpenAI SDK, against the same local OpenAI stand-in in the same run. Target: >= 0.95 of the bare
 * SDK's throughput and < 1 ms added to time to first token.
 *
 *   npx tsx bench/streaming.bench.ts
 */
import OpenAI from 'openai';
import { AIManager } from '../extensions/ai-sidecar/src/core/manager.js';
import { OpenAICompatibleProvider } from '../extensions/ai-sidecar/src/providers/openai-compatible.js';
import { startOpenAIServer } from '../tests/wire/openai-server.js';
import { fmt, median, table } from './stats.js';

const TOKENS = Array.from({ length: 4000 }, (_, i) => `tok${i} `);
const ROUNDS = Number(process.env.ROUNDS ?? 40);
const KEY = 'sk-bench-0000000000000000';

interface Sample {
  ttftMs: number;
  tokensPerSecond: number;
}

const server = await startOpenAIServer();
const baseURL = `${server.url}/v1`;
const request = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'go' }] };

async function bare(): Promise<Sample> {
  server.script({ kind: 'ok', tokens: TOKENS });
  const client = new OpenAI({ apiKey: KEY, baseURL, maxRetries: 0 });
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
  const end = performance.now();
  return { ttftMs: first - start, tokensPerSecond: (count / (end - start)) * 1000 };
}

const manager = new AIManager();
manager.register(new OpenAICompatibleProvider({ providerName: 'openai', baseURL }, { getKey: async () => KEY }));

async function managed(): Promise<Sample> {
  server.script({ kind: 'ok', tokens: TOKENS });
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
  const end = performance.now();
  return { ttftMs: first - start, tokensPerSecond: (count / (end - start)) * 1000 };
}

// Warm both paths (SDK import, JIT), then alternate so drift hits both equally.
await bare();
await managed();
const bareSamples: Sample[] = [];
const managedSamples: Sample[] = [];
for (let round = 0; round < ROUNDS; round += 1) {
  bareSamples.push(await bare());
  managedSamples.push(await managed());
}
await server.close();

const bareTps = median(bareSamples.map((s) => s.tokensPerSecond));
const managedTps = median(managedSamples.map((s) => s.tokensPerSecond));
const bareTtft = median(bareSamples.map((s) => s.ttftMs));
const managedTtft = median(managedSamples.map((s) => s.ttftMs));
console.log(`Streaming overhead, ${TOKENS.length} tokens per stream, ${ROUNDS} alternating rounds (medians)`);
console.log(table([
  ['path', 'tokens/s', 'TTFT ms'],
  ['bare OpenAI SDK', fmt(bareTps, 0), fmt(bareTtft)],
  ['AIManager + adapter', fmt(managedTps, 0), fmt(managedTtft)],
]));
console.log(`throughput ratio (manager / bare): ${fmt(managedTps / bareTps, 3)}  (target >= 0.95)`);
console.log(`added time to first token: ${fmt(managedTtft - bareTtft)} ms  (target < 1 ms)`);
