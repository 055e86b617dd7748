/**
 * The desktop channel through the Neutralino stand-in, each against a baseline measured in the same run:
 * - tokens per second delivered to the page (SDK + sidecar + coalescing + runtime routing) versus the
 *   same vendor stream read by the bare SDK and relayed over a raw WebSocket, one frame per token;
 *   target >= 0.9 of the baseline (a raw frame loop with no vendor stream is printed for scale);
 * - added latency per token (vendor write → page receipt) versus the raw WebSocket's;
 * - sidecar cold start (spawn → first `hello` reply); target < 300 ms;
 * - sidecar idle RSS versus a bare Node process holding one WebSocket; target within 1.3x.
 *
 *   npm run build && npx tsx bench/desktop.bench.ts
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import WebSocket, { WebSocketServer } from 'ws';
import { EVENTS } from '../extensions/ai-sidecar/src/protocol/contract.js';
import { PageClient } from '../tests/neutralino/page-client.js';
import { startNeutralinoStandIn, type StandIn } from '../tests/neutralino/runtime.js';
import { startOpenAIServer } from '../tests/wire/openai-server.js';
import { fmt, median, percentile, table } from './stats.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TOKENS = 5000;
const tokens = Array.from({ length: TOKENS }, (_, i) => `w${i} `);

async function startApp(dataDir: string): Promise<{ runtime: StandIn; page: PageClient; startedAt: number; firstReplyMs: number }> {
  const startedAt = performance.now();
  const runtime = await startNeutralinoStandIn({ appDir: ROOT, env: { ...process.env, SIM_AI_DATA_DIR: dataDir } });
  const page = await PageClient.connect(runtime);
  // Like the client library: ask until the sidecar answers.
  for (;;) {
    const reply = await Promise.race([page.request('hello', { protocolVersion: 1 }), new Promise<undefined>((r) => setTimeout(r, 5))]);
    if (reply?.ok) break;
  }
  return { runtime, page, startedAt, firstReplyMs: performance.now() - startedAt };
}

/** Tokens per second at the page for one streamed run. */
async function sidecarThroughput(page: PageClient, server: Awaited<ReturnType<typeof startOpenAIServer>>): Promise<number> {
  server.script({ kind: 'ok', tokens });
  let text = '';
  let doneAt = 0;
  const finished = new Promise<void>((resolve) => {
    const off = page.on((event, data) => {
      if (event === EVENTS.chunk) text += (data as { text: string }).text;
      if (event === EVENTS.done) {
        doneAt = performance.now();
        off();
        resolve();
      }
    });
  });
  const started = performance.now();
  await page.request('call_ai_provider', { provider: 'openai', request: { model: 'm', messages: [{ role: 'user', content: 'go' }] } });
  await finished;
  const delivered = text.split(' ').filter(Boolean).length;
  if (delivered !== TOKENS) throw new Error(`delivered ${delivered} of ${TOKENS} tokens`);
  return (delivered / (doneAt - started)) * 1000;
}

/**
 * The baseline: a raw WebSocket server sending each token as its own frame to one client. With a
 * vendor server, the tokens come from it through the bare OpenAI SDK (the same source the sidecar reads).
 */
async function rawThroughput(vendor?: Awaited<ReturnType<typeof startOpenAIServer>>): Promise<number> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  const port = (wss.address() as { port: number }).port;
  const sdk = vendor && new OpenAI({ apiKey: 'sk-bench', baseURL: `${vendor.url}/v1`, maxRetries: 0 });
  wss.on('connection', (ws) =>
    ws.on('message', () => {
      void (async () => {
        if (sdk && vendor) {
          vendor.script({ kind: 'ok', tokens });
          const stream = await sdk.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'go' }], stream: true });
          for await (const chunk of stream) {
            const text = chunk.choices[0]?.delta?.content;
            if (text) ws.send(JSON.stringify({ event: 'sim.chunk', data: { text } }));
          }
        } else {
          for (const t of tokens) ws.send(JSON.stringify({ event: 'sim.chunk', data: { text: t } }));
        }
        ws.send('{"event":"end"}');
      })();
    }),
  );
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  await new Promise((r) => client.once('open', r));
  let count = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    client.on('message', (raw) => {
      const message = JSON.parse(raw.toString()) as { event: string };
      if (message.event === 'end') resolve();
      else count += 1;
    });
    client.send('go');
  });
  const rate = (count / (performance.now() - started)) * 1000;
  client.close();
  wss.close();
  return rate;
}

/** Per-token latency: vendor writes a token every 10 ms; time until the page holds it. */
async function sidecarLatency(page: PageClient, server: Awaited<ReturnType<typeof startOpenAIServer>>): Promise<number[]> {
  const count = 60;
  const sentAt: number[] = [];
  server.script({ kind: 'slow', intervalMs: 10, count, sentAt });
  const latencies: number[] = [];
  const done = new Promise<void>((resolve) => {
    const off = page.on((event, data) => {
      if (event === EVENTS.chunk) {
        const now = performance.now();
        for (const match of (data as { text: string }).text.matchAll(/t(\d+) /g)) latencies.push(now - (sentAt[Number(match[1])] ?? now));
      }
      if (event === EVENTS.done) (off(), resolve());
    });
  });
  await page.request('call_ai_provider', { provider: 'openai', request: { model: 'm', messages: [{ role: 'user', content: 'go' }] } });
  await done;
  return latencies;
}

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
}

function nodeChildOf(shellPid: number): number {
  const children = execFileSync('pgrep', ['-P', String(shellPid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  return children[0] ?? shellPid;
}

async function bareNodeWithSocketRss(): Promise<number> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  const port = (wss.address() as { port: number }).port;
  const child = spawn(process.execPath, ['-e', `const W=require('ws');const s=new W('ws://127.0.0.1:${port}');s.on('open',()=>console.log('open'));setInterval(()=>{},1e6)`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => child.stdout.once('data', r));
  await new Promise((r) => setTimeout(r, 1500));
  const rss = rssKiB(child.pid ?? 0);
  child.kill();
  wss.close();
  return rss;
}

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'sim-desktop-bench-'));
const openai = await startOpenAIServer();

const coldStarts: number[] = [];
for (let i = 0; i < 5; i += 1) {
  const { runtime, page, firstReplyMs } = await startApp(dataDir);
  coldStarts.push(firstReplyMs);
  page.close();
  await runtime.close();
  await runtime.extensionProcesses[0]?.exited;
}

const { runtime, page } = await startApp(dataDir);
// Idle: started and greeted, nothing loaded (no SDK, no model, no age library).
await new Promise((r) => setTimeout(r, 1500));
const sidecarPid = nodeChildOf(runtime.extensionProcesses[0]?.pid ?? 0);
const idleRss = rssKiB(sidecarPid);
const bareRss = await bareNodeWithSocketRss();
await page.request('update_provider', { provider: 'openai', baseURL: `${openai.url}/v1` });
await page.request('update_provider', { provider: 'openai', enabled: true });
// The OpenAI-compatible stand-in needs some key: store one in a fresh vault.
await page.request('vault_init', { passphrase: 'bench passphrase' });
await page.request('set_secret', { provider: 'openai', secret: 'sk-bench-000000000000000000' });

const sidecarRates: number[] = [];
const relayRates: number[] = [];
const rawRates: number[] = [];
await sidecarThroughput(page, openai);
await rawThroughput(openai);
for (let round = 0; round < 7; round += 1) {
  sidecarRates.push(await sidecarThroughput(page, openai));
  relayRates.push(await rawThroughput(openai));
  rawRates.push(await rawThroughput());
}
const latencies = await sidecarLatency(page, openai);

page.close();
await runtime.close();
await openai.close();
await rm(dataDir, { recursive: true, force: true });

console.log(`Desktop channel through the Neutralino stand-in (${TOKENS} tokens per run, medians of 7)`);
console.log(table([
  ['measure', 'sidecar path', 'baseline', 'ratio'],
  ['tokens/s delivered to the page', fmt(median(sidecarRates), 0), `${fmt(median(relayRates), 0)} (bare SDK → raw WebSocket)`, fmt(median(sidecarRates) / median(relayRates), 2)],
  ['  for scale: raw frames, no vendor', '', fmt(median(rawRates), 0), fmt(median(sidecarRates) / median(rawRates), 2)],
  ['idle RSS MiB', fmt(idleRss / 1024, 1), `${fmt(bareRss / 1024, 1)} (bare Node + 1 WebSocket)`, fmt(idleRss / bareRss, 2)],
]));
console.log(`throughput target >= 0.9; idle memory target <= 1.3x`);
console.log(`cold start, spawn to first reply: p50 ${fmt(median(coldStarts), 0)} ms, max ${fmt(Math.max(...coldStarts), 0)} ms (target < 300 ms)`);
console.log(`per-token latency vendor→page (10 ms token interval, 16 ms coalescing): p50 ${fmt(percentile(latencies, 50), 1)} ms, p99 ${fmt(percentile(latencies, 99), 1)} ms`);
