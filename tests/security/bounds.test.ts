/**
 * Issue 12, bounded work: a flood from the page (through the real sidecar) meets a cap on concurrent
 * runs, on one request's size and on commands in progress, each with a typed error, and the
 * sidecar's peak memory stays within the bound the dispatcher states.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplyEnvelope } from '../../extensions/ai-sidecar/src/protocol/contract.js';
import type { PageClient } from '../neutralino/page-client.js';
import type { StandIn } from '../neutralino/runtime.js';
import { ok, startSidecarPage, type SidecarPage } from './sidecar-page.js';
import { startOpenAIServer, type OpenAIServer } from '../wire/openai-server.js';

let app: SidecarPage;
let runtime: StandIn;
let page: PageClient;
let server: OpenAIServer;

const run = (content = 'hi') => page.request('call_ai_provider', { provider: 'openai', request: { model: 'gpt-4o-mini', messages: [{ role: 'user', content }] } });

/** The sidecar's node process (the runtime starts it through a shell) and its resident memory in MiB. */
function sidecarRssMiB(): number {
  const shell = runtime.extensionProcesses[0]?.pid ?? -1;
  const comm = readFileSync(`/proc/${shell}/comm`, 'utf8').trim();
  const pid = comm === 'node' ? shell : Number(execFileSync('pgrep', ['-P', String(shell)], { encoding: 'utf8' }).trim().split('\n')[0]);
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(rss) / 1024;
}

beforeAll(async () => {
  server = await startOpenAIServer();
  app = await startSidecarPage();
  ({ runtime, page } = app);
  ok(await page.request('vault_init', { passphrase: 'a long and honest passphrase' }));
  ok(await page.request('update_provider', { provider: 'openai', baseURL: `${server.url}/v1` }));
  ok(await page.request('set_secret', { provider: 'openai', secret: 'sk-proj-BOUNDSboundsBOUNDS00000000' }));
}, 60_000);

afterAll(async () => {
  await app?.close();
  await server?.close();
});

describe('bounded work', () => {
  it('attack: 20 runs at once: 8 start, the others are refused as busy; stopping one makes room', async () => {
    server.script(...Array.from({ length: 30 }, () => ({ kind: 'stall' as const })));
    const replies = await Promise.all(Array.from({ length: 20 }, () => run()));
    const started = replies.filter((r) => r.ok).map((r) => (r as { result: { executionId: string } }).result.executionId);
    const refused = replies.filter((r) => !r.ok).map((r) => (r as { error: { code: string; message: string } }).error);
    expect(started).toHaveLength(8);
    expect(refused).toHaveLength(12);
    expect(refused.every((e) => e.code === 'busy' && /8 runs are going already/.test(e.message))).toBe(true);
    ok(await page.request('cancel_execution', { executionId: started[0] }));
    await expect.poll(async () => (await run()).ok, { timeout: 10_000 }).toBe(true);
    for (const id of started.slice(1)) await page.request('cancel_execution', { executionId: id });
  });

  it('attack: one request larger than 4 Mi characters is refused with a typed error and the sidecar stays up', async () => {
    const reply = await run('x'.repeat(4_500_000));
    expect(reply).toMatchObject({ ok: false, error: { code: 'validation', message: expect.stringMatching(/too large/) } });
    expect((await page.request('vault_status')).ok).toBe(true);
  });

  it('attack: a flood of 48 near-limit requests keeps the sidecar within its stated bound (RSS growth < 400 MiB)', async () => {
    const before = sidecarRssMiB();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, sidecarRssMiB())), 20);
    // Stalled runs keep their requests: the worst case the bound is about.
    server.script(...Array.from({ length: 60 }, () => ({ kind: 'stall' as const })));
    const big = 'y'.repeat(3_900_000);
    const replies = await Promise.all(Array.from({ length: 48 }, () => run(big)));
    clearInterval(sampler);
    const after = Math.max(peak, sidecarRssMiB());
    const accepted = replies.filter((r) => r.ok).length;
    expect(accepted).toBeLessThanOrEqual(8);
    expect(replies.filter((r) => !r.ok).every((r) => !r.ok && ['busy', 'validation'].includes(r.error.code))).toBe(true);
    console.log(`sidecar RSS ${before.toFixed(0)} MiB before, peak ${after.toFixed(0)} MiB during 48 x 3.9 M-character requests (${accepted} accepted)`);
    expect(after - before).toBeLessThan(400);
    for (const r of replies) if (r.ok) await page.request('cancel_execution', { executionId: (r.result as { executionId: string }).executionId });
  }, 120_000);

  it('attack: more than 32 commands in progress at once are refused as busy (40 parallel unlock attempts queue behind the back-off)', async () => {
    ok(await page.request('vault_lock'));
    // The first 32 wait out their back-off (minutes in all); the other 8 are answered at once.
    const attempts = Array.from({ length: 40 }, (_, i) => page.request('vault_unlock', { passphrase: `wrong passphrase ${i}` }));
    const first8 = await new Promise<ReplyEnvelope[]>((resolve) => {
      const seen: ReplyEnvelope[] = [];
      for (const attempt of attempts) void attempt.then((r) => (seen.push(r), seen.length === 8 && resolve(seen)));
    });
    expect(first8.every((r) => !r.ok && r.error.code === 'busy')).toBe(true);
    const status = await page.request('vault_status');
    expect(status).toMatchObject({ ok: false, error: { code: 'busy' } });
  }, 60_000);
});
