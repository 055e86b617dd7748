/**
 * llama.cpp's backend is started after launch, off the first run's path, but only for someone who has
 * local models: the sidecar's memory map says whether the native binding is loaded.
 */
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSidecarOnce, ROOT } from '../neutralino/build-once.js';
import { PageClient } from '../neutralino/page-client.js';
import { startNeutralinoStandIn } from '../neutralino/runtime.js';
import { nodeProcessOf } from './libuv-pool.js';
import { MODEL } from './model-path.js';

let work: string;

const llamaLoaded = (pid: number): boolean => /llama-addon\.node|libllama\.so/.test(readFileSync(`/proc/${pid}/maps`, 'utf8'));

/** Starts the app on `dataDir`, waits `idleMs` after the sidecar connects, reports whether llama.cpp got loaded. */
async function backendLoadedAfterIdle(dataDir: string, idleMs: number): Promise<boolean> {
  const runtime = await startNeutralinoStandIn({ appDir: ROOT, env: { ...process.env, SIM_AI_DATA_DIR: dataDir } });
  try {
    const page = await PageClient.connect(runtime);
    await page.waitForSidecar(20_000);
    const pid = nodeProcessOf(runtime.extensionProcesses[0]?.pid ?? 0);
    expect(llamaLoaded(pid), 'not loaded at launch').toBe(false);
    const until = Date.now() + idleMs;
    while (Date.now() < until && !llamaLoaded(pid)) await new Promise((r) => setTimeout(r, 100));
    page.close();
    return llamaLoaded(pid);
  } finally {
    await runtime.close();
    await runtime.extensionProcesses[0]?.exited;
  }
}

beforeAll(async () => {
  await buildSidecarOnce();
  work = await mkdtemp(path.join(os.tmpdir(), 'sim-warm-'));
}, 120_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('llama.cpp warm-up after launch', () => {
  it('loads the backend once the app is idle when local models are present', async () => {
    const data = path.join(work, 'with-model');
    await mkdir(path.join(data, 'models'), { recursive: true });
    await copyFile(MODEL, path.join(data, 'models', 'stories260K.gguf'));
    expect(await backendLoadedAfterIdle(data, 15_000)).toBe(true);
  }, 60_000);

  it('leaves it unloaded (and the idle sidecar small) without local models', async () => {
    expect(await backendLoadedAfterIdle(path.join(work, 'empty'), 3_000)).toBe(false);
  }, 60_000);
});
