/** The model commands through the real sidecar: a download task with progress, listing, an Ollama pull cancelled mid-way. */
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENTS, type ReplyEnvelope } from '../../extensions/ai-sidecar/src/protocol/contract.js';
import { buildSidecarOnce, ROOT } from '../neutralino/build-once.js';
import { PageClient } from '../neutralino/page-client.js';
import { startNeutralinoStandIn, type StandIn } from '../neutralino/runtime.js';
import { startOllamaServer, type OllamaServer } from '../wire/ollama-server.js';
import { startFileServer } from './file-server.js';

let runtime: StandIn;
let page: PageClient;
let ollama: OllamaServer;
let dataDir: string;
/** The user's model mirror (SIM_AI_MODEL_MIRROR): the one non-public origin downloads may use. */
let mirror: Awaited<ReturnType<typeof startFileServer>>;
const tasks: { taskId: string; status: string; completed?: number; total?: number }[] = [];
const ok = (reply: ReplyEnvelope) => {
  if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
  return reply.result as Record<string, unknown>;
};

beforeAll(async () => {
  await buildSidecarOnce();
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'sim-model-cmds-'));
  ollama = await startOllamaServer({ pullSteps: 200, pullIntervalMs: 20 });
  mirror = await startFileServer(await readFile(path.resolve(ROOT, '../shared/models/stories260K.gguf')), { sliceDelayMs: 15 });
  runtime = await startNeutralinoStandIn({ appDir: ROOT, env: { ...process.env, SIM_AI_DATA_DIR: dataDir, SIM_AI_MODEL_MIRROR: new URL(mirror.url).origin } });
  page = await PageClient.connect(runtime);
  await page.waitForSidecar();
  page.on((event, data) => event === EVENTS.task && tasks.push(data as (typeof tasks)[number]));
  ok(await page.request('update_provider', { provider: 'ollama', baseURL: ollama.url }));
}, 60_000);

afterAll(async () => {
  page.close();
  await runtime.close();
  runtime.killAll();
  await ollama.close();
  await mirror.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('model commands', () => {
  it('downloads a model as a task with progress, then lists it with metadata', async () => {
    const bytes = await readFile(path.resolve(ROOT, '../shared/models/stories260K.gguf'));
    {
      const { taskId } = ok(await page.request('download_model', { url: mirror.url, name: 'story.gguf', sizeBytes: bytes.length })) as { taskId: string };
      await expect.poll(() => tasks.find((t) => t.taskId === taskId && t.status !== 'running')?.status, { timeout: 20_000 }).toBe('done');
      expect(tasks.filter((t) => t.taskId === taskId && t.status === 'running').length).toBeGreaterThan(0);
      const list = ok(await page.request('list_local_models', {})) as unknown as { id: string; architecture: string }[];
      expect(list).toEqual([expect.objectContaining({ id: 'story.gguf', architecture: 'llama' })]);
      const run = ok(await page.request('call_ai_provider', { provider: 'local', request: { model: 'story.gguf', messages: [{ role: 'user', content: 'Once upon a time' }], maxTokens: 8 } }));
      expect(run.executionId).toBeTypeOf('string');
    }
  });

  it('refuses a download URL that is not http(s) and a file name that leaves the folder', async () => {
    expect(await page.request('download_model', { url: 'file:///etc/passwd', name: 'x.gguf' })).toMatchObject({ ok: false, error: { code: 'validation' } });
    expect(await page.request('download_model', { url: 'http://127.0.0.1:1/x', name: '../x.gguf' })).toMatchObject({ ok: false, error: { code: 'validation' } });
  });

  it('pulls an Ollama model with progress and cancels it', async () => {
    const { taskId } = ok(await page.request('ollama_pull', { model: 'tinyllama' })) as { taskId: string };
    await expect.poll(() => tasks.some((t) => t.taskId === taskId && t.status === 'running' && (t.completed ?? 0) > 0), { timeout: 10_000 }).toBe(true);
    ok(await page.request('cancel_task', { taskId }));
    await expect.poll(() => tasks.find((t) => t.taskId === taskId && t.status !== 'running')?.status, { timeout: 10_000 }).toBe('cancelled');
    expect(ollama.models).not.toContain('tinyllama');
    expect(ok(await page.request('ollama_loaded', {}))).toHaveLength(1);
  });
});
