/**
 * The sidecar connects to the runtime while its app modules are still loading (issue 13, launch), so
 * a request can reach it before it can serve. Such a request must wait and be answered, once, not be
 * dropped: the page sends it a single time, the moment the runtime says the sidecar is connected.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SIDECAR_ID, type ReplyEnvelope } from '../../extensions/ai-sidecar/src/protocol/contract.js';
import { buildSidecarOnce, ROOT } from './build-once.js';
import { PageClient } from './page-client.js';
import { startNeutralinoStandIn, type StandIn } from './runtime.js';

let runtime: StandIn | undefined;
let page: PageClient | undefined;
let dataDir: string | undefined;

afterEach(async () => {
  page?.close();
  await runtime?.close();
  runtime?.killAll();
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

describe('a request that arrives while the sidecar is still starting', () => {
  it('is answered once the sidecar can serve, in the order sent', async () => {
    await buildSidecarOnce();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'sim-early-'));
    runtime = await startNeutralinoStandIn({ appDir: ROOT, env: { ...process.env, SIM_AI_DATA_DIR: dataDir } });
    const client = await PageClient.connect(runtime);
    page = client;
    // Poll without pause: send at the first moment the runtime reports the connection.
    for (let tries = 0; ; tries += 1) {
      const stats = (await client.native('extensions.getStats')) as { returnValue?: { connected: string[] } };
      if (stats.returnValue?.connected.includes(SIDECAR_ID)) break;
      if (tries > 20_000) throw new Error('the sidecar did not connect');
    }
    const replies: ReplyEnvelope[] = await Promise.all([
      client.request('hello', { protocolVersion: 1 }, {}, 15_000),
      client.request('vault_status', {}, {}, 15_000),
      client.request('vault_init', { passphrase: 'short' }, {}, 15_000),
    ]);
    expect(replies.map((r) => r.ok)).toEqual([true, true, false]);
    expect(replies[0]).toMatchObject({ ok: true, result: { protocolVersion: 1, dataDir } });
    expect(replies[2]).toMatchObject({ ok: false, error: { code: 'validation' } });
  }, 60_000);
});
