/**
 * A kill -9 in the middle of an answer loses at most the frame being written: the sidecar runs as
 * the runtime starts it (through the Neutralino stand-in), streams from the OpenAI stand-in, and is
 * SIGKILLed mid-answer; a second start finds the conversation with every frame the window was shown.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EVENTS, type ReplyEnvelope } from '../../extensions/ai-sidecar/src/protocol/contract.js';
import { buildSidecarOnce, ROOT } from '../neutralino/build-once.js';
import { PageClient } from '../neutralino/page-client.js';
import { startNeutralinoStandIn, type StandIn } from '../neutralino/runtime.js';
import { startOpenAIServer, type OpenAIServer } from '../wire/openai-server.js';

let openai: OpenAIServer;
let dataDir: string;
const started: StandIn[] = [];

beforeAll(async () => {
  await buildSidecarOnce();
  openai = await startOpenAIServer();
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'sim-conv-kill-'));
}, 60_000);
afterAll(async () => {
  for (const runtime of started) {
    await runtime.close();
    runtime.killAll();
  }
  await openai.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function startApp(): Promise<{ runtime: StandIn; page: PageClient }> {
  const runtime = await startNeutralinoStandIn({ appDir: ROOT, env: { ...process.env, SIM_AI_DATA_DIR: dataDir } });
  started.push(runtime);
  const page = await PageClient.connect(runtime);
  await page.waitForSidecar();
  return { runtime, page };
}

const ok = <T>(reply: ReplyEnvelope): T => {
  if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
  return reply.result as T;
};

/** The sidecar's node process: the runtime's shell child, or the shell itself when it exec'd node. */
function sidecarPids(shellPid: number): number[] {
  const children = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      try {
        return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1]) === shellPid;
      } catch {
        return false;
      }
    });
  return [shellPid, ...children].filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('main.cjs') && !readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('/bin/sh');
    } catch {
      return false;
    }
  });
}

it('keeps every frame the window was shown when the sidecar is killed mid-answer', async () => {
  const first = await startApp();
  // Asked the moment the sidecar is connected (as the window does at start), the provider list is full.
  expect(ok<{ name: string }[]>(await first.page.request('list_providers', {})).map((p) => p.name)).toEqual(expect.arrayContaining(['openai', 'local']));
  ok(await first.page.request('vault_init', { passphrase: 'correct horse battery' }));
  ok(await first.page.request('update_provider', { provider: 'openai', baseURL: `${openai.url}/v1` }));
  ok(await first.page.request('set_secret', { provider: 'openai', secret: 'sk-proj-KILLkillKILLkillKILL14' }));
  const conversation = ok<{ id: string }>(await first.page.request('create_conversation', { provider: 'openai', model: 'gpt-4o-mini' }));

  const frames: string[] = [];
  first.page.on((event, data) => {
    if (event === EVENTS.chunk) frames.push((data as { text: string }).text);
  });
  openai.script({ kind: 'slow', intervalMs: 15, count: 2000 });
  ok(await first.page.request('send_message', { conversationId: conversation.id, content: 'Count to two thousand' }));
  await expect.poll(() => frames.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(10);

  const process0 = first.runtime.extensionProcesses[0];
  if (process0 === undefined) throw new Error('no sidecar process');
  const pids = sidecarPids(process0.pid);
  expect(pids.length).toBe(1);
  process.kill(pids[0] ?? -1, 'SIGKILL');
  await process0.exited;
  await new Promise((resolve) => setTimeout(resolve, 200)); // frames already on the wire arrive
  const shown = frames.join('');
  first.page.close();
  await first.runtime.close();

  const second = await startApp();
  const detail = ok<{ messages: { role: string; content: string; status: string; error: { code: string; message: string } | null }[] }>(
    await second.page.request('get_conversation', { id: conversation.id }),
  );
  const answer = detail.messages[1];
  expect(detail.messages[0]?.content).toBe('Count to two thousand');
  expect(answer?.status).toBe('failed');
  expect(answer?.error).toMatchObject({ code: 'incomplete_stream', message: expect.stringMatching(/closed while this answer was being written/) });
  // Nothing the window showed is lost; at most one frame beyond it was stored and not yet shown.
  const stored = answer?.content ?? '';
  expect(stored.startsWith(shown)).toBe(true);
  const tokens = (text: string) => text.split(' ').filter(Boolean).length;
  expect(tokens(stored) - tokens(shown)).toBeLessThanOrEqual(Math.max(...frames.map(tokens)) + 1);
  // And what is stored is the stream's own text, in order.
  expect(stored).toBe(Array.from({ length: tokens(stored) }, (_, i) => `t${i} `).join(''));
  second.page.close();
}, 90_000);
