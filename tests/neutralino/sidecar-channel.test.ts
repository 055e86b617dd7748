/**
 * The real sidecar, built and started by the Neutralino stand-in exactly as the runtime would, with a
 * raw WebSocket playing the page: handshake and token checks, the contract's commands, a streamed run
 * against the OpenAI stand-in, cancel, malformed messages, and exit when the runtime goes away.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENTS, SIDECAR_ID, type ReplyEnvelope } from '../../extensions/ai-sidecar/src/protocol/contract.js';
import { startOpenAIServer, type OpenAIServer } from '../wire/openai-server.js';
import { PageClient } from './page-client.js';
import { startNeutralinoStandIn, type StandIn } from './runtime.js';
import { buildSidecarOnce, ROOT } from './build-once.js';

const KEY = 'sk-proj-CHANNELchannelCHANNELchannel9191';
let runtime: StandIn;
let page: PageClient;
let openai: OpenAIServer;
let dataDir: string;

const ok = (reply: ReplyEnvelope) => {
  if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
  return reply.result;
};

beforeAll(async () => {
  await buildSidecarOnce();
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'sim-channel-'));
  openai = await startOpenAIServer();
  runtime = await startNeutralinoStandIn({ appDir: ROOT, env: { ...process.env, SIM_AI_DATA_DIR: dataDir } });
  page = await PageClient.connect(runtime);
  await page.waitForSidecar();
}, 60_000);

afterAll(async () => {
  page.close();
  await runtime.close();
  runtime.killAll();
  await openai.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('sidecar over the Neutralino channel', () => {
  it('refuses a wrong connect token, a foreign Host, an unknown extension id, and a wrong access token', async () => {
    const attempt = (url: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url, { headers });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => (ws.close(), resolve(101)));
        ws.on('error', () => resolve(-1));
      });
    const base = `ws://127.0.0.1:${runtime.port}`;
    expect(await attempt(`${base}?connectToken=wrong`)).toBe(400);
    expect(await attempt(`${base}?connectToken=${runtime.connectToken}`, { Host: 'evil.example' })).toBe(400);
    expect(await attempt(`${base}?extensionId=not.listed&connectToken=${runtime.connectToken}`)).toBe(400);
    const impostor = await PageClient.connect(runtime, `${'0'.repeat(48)}.${runtime.connectToken}`);
    expect(await impostor.native('app.broadcast', { event: 'x', data: 1 })).toMatchObject({ error: { code: 'NE_RT_INVTOKN' } });
    impostor.close();
  });

  it('answers hello with its version and data folder', async () => {
    expect(ok(await page.request('hello', { protocolVersion: 1 }))).toMatchObject({ protocolVersion: 1, dataDir, readOnly: false });
  });

  it('answers malformed and unknown requests with typed errors and keeps serving', async () => {
    expect(await page.request('no_such_command', {})).toMatchObject({ ok: false, error: { code: 'unknown_command' } });
    expect(await page.request('cancel_execution', { executionId: 5 })).toMatchObject({ ok: false, error: { code: 'validation' } });
    expect(await page.request('vault_status', {}, { v: 2 })).toMatchObject({ ok: false, error: { code: 'bad_message' } });
    await page.native('extensions.dispatch', { extensionId: SIDECAR_ID, event: 'sim.request', data: '{{{{' });
    expect(ok(await page.request('vault_status'))).toMatchObject({ state: 'uninitialised' });
  });

  it('creates the vault, stores a key write-only, streams a run and records it', async () => {
    ok(await page.request('vault_init', { passphrase: 'a long passphrase' }));
    ok(await page.request('update_provider', { provider: 'openai', baseURL: `${openai.url}/v1` }));
    expect(ok(await page.request('set_secret', { provider: 'openai', secret: KEY }))).toMatchObject({ present: true, hint: '…9191' });
    const events: { event: string; data: { executionId?: string; seq?: number; text?: string } }[] = [];
    page.on((event, data) => events.push({ event, data: data as never }));
    openai.script({ kind: 'ok', tokens: ['Hel', 'lo ', 'there'] });
    const { executionId } = ok(await page.request('call_ai_provider', { provider: 'openai', request: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true } })) as { executionId: string };
    await expect.poll(() => events.some((e) => e.event === EVENTS.done && e.data.executionId === executionId)).toBe(true);
    const mine = events.filter((e) => e.data.executionId === executionId);
    expect(mine.map((e) => e.data.seq)).toEqual(mine.map((_, i) => i));
    expect(mine.filter((e) => e.event === EVENTS.chunk).map((e) => e.data.text).join('')).toBe('Hello there');
    expect(openai.requests.at(-1)?.headers.authorization).toBe(`Bearer ${KEY}`);
    const history = ok(await page.request('list_executions', {})) as { id: string; status: string }[];
    expect(history[0]).toMatchObject({ id: executionId, status: 'completed' });
  });

  it('stops a slow run on cancel_execution; it ends as cancelled, and an unknown id is a typed error', async () => {
    openai.script({ kind: 'slow', intervalMs: 20, count: 500 });
    const done: unknown[] = [];
    page.on((event, data) => event === EVENTS.done && done.push(data));
    const { executionId } = ok(await page.request('call_ai_provider', { provider: 'openai', request: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] } })) as { executionId: string };
    await new Promise((r) => setTimeout(r, 150));
    ok(await page.request('cancel_execution', { executionId }));
    await expect.poll(() => done.length).toBe(1);
    expect(done[0]).toMatchObject({ executionId, response: { finishReason: 'cancelled' } });
    expect(await page.request('cancel_execution', { executionId })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(ok(await page.request('get_execution', { id: executionId }))).toMatchObject({ status: 'cancelled' });
  });

  it('never returns or logs the key', async () => {
    const replies = await Promise.all(['list_secrets', 'vault_status', 'list_providers', 'list_executions'].map((c) => page.request(c, {})));
    expect(JSON.stringify(replies)).not.toContain(KEY.slice(8, 30));
    expect(runtime.extensionOutput(SIDECAR_ID)).not.toContain(KEY.slice(8, 30));
  });

  it('exits by itself within a second of the runtime going away', async () => {
    const [sidecar] = runtime.extensionProcesses;
    const closedAt = await runtime.close();
    const exit = await sidecar?.exited;
    expect(exit?.code).toBe(0);
    expect((exit?.at ?? Infinity) - closedAt).toBeLessThan(1000);
  });
});
