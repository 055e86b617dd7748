/**
 * The portable folder against the unpackaged app, in one run: folder size by part, sidecar cold
 * start (spawn to first reply) and idle memory, packaged versus unpackaged.
 *
 *   npx tsx bench/portable.bench.ts
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PageClient } from '../tests/neutralino/page-client.js';
import { startNeutralinoStandIn } from '../tests/neutralino/runtime.js';
import { fmt, median, table } from './stats.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { dist } = (await import(path.join(ROOT, 'extensions/ai-sidecar/scripts/dist.mjs'))) as { dist: (o: { skipUi: boolean }) => Promise<{ outDir: string; total: number; parts: Record<string, number> }> };
const { buildSidecar } = (await import(path.join(ROOT, 'extensions/ai-sidecar/scripts/build.mjs'))) as { buildSidecar: () => Promise<unknown> };

const built = await dist({ skipUi: false });
await buildSidecar();

function rssKiB(shellPid: number): number {
  const children = execFileSync('pgrep', ['-P', String(shellPid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  const pid = children[0] ?? shellPid;
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN);
}

async function measure(appDir: string, env: NodeJS.ProcessEnv): Promise<{ coldMs: number; idleMiB: number }> {
  const started = performance.now();
  const runtime = await startNeutralinoStandIn({ appDir, env });
  const page = await PageClient.connect(runtime);
  for (;;) {
    const reply = await Promise.race([page.request('hello', { protocolVersion: 1 }), new Promise<undefined>((r) => setTimeout(r, 5))]);
    if (reply?.ok) break;
  }
  const coldMs = performance.now() - started;
  await new Promise((r) => setTimeout(r, 1500));
  const idleMiB = rssKiB(runtime.extensionProcesses[0]?.pid ?? 0) / 1024;
  page.close();
  await runtime.close();
  await runtime.extensionProcesses[0]?.exited;
  return { coldMs, idleMiB };
}

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'sim-portable-bench-'));
const packaged: { coldMs: number; idleMiB: number }[] = [];
const unpackaged: { coldMs: number; idleMiB: number }[] = [];
await measure(built.outDir, process.env);
await measure(ROOT, { ...process.env, SIM_AI_DATA_DIR: dataDir });
for (let i = 0; i < 5; i += 1) {
  packaged.push(await measure(built.outDir, process.env));
  unpackaged.push(await measure(ROOT, { ...process.env, SIM_AI_DATA_DIR: dataDir }));
}
await rm(dataDir, { recursive: true, force: true });
await rm(path.join(built.outDir, 'data'), { recursive: true, force: true });

const cold = (xs: typeof packaged) => median(xs.map((x) => x.coldMs));
const idle = (xs: typeof packaged) => median(xs.map((x) => x.idleMiB));
console.log(`\nPortable vs unpackaged sidecar (medians of 5, after one warm-up each)`);
console.log(table([
  ['measure', 'packaged', 'unpackaged', 'ratio'],
  ['cold start, spawn → first reply (ms)', fmt(cold(packaged), 0), fmt(cold(unpackaged), 0), fmt(cold(packaged) / cold(unpackaged), 2)],
  ['idle RSS (MiB)', fmt(idle(packaged), 1), fmt(idle(unpackaged), 1), fmt(idle(packaged) / idle(unpackaged), 2)],
]));
console.log(`folder total ${fmt(built.total / 2 ** 20, 1)} MiB`);
