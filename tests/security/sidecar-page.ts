/**
 * For the attack tests: the real sidecar started by the Neutralino stand-in in a fresh data folder,
 * with a page client connected, and the reply helpers they all use.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ReplyEnvelope } from '../../extensions/ai-sidecar/src/protocol/contract.js';
import { buildSidecarOnce, ROOT } from '../neutralino/build-once.js';
import { PageClient } from '../neutralino/page-client.js';
import { startNeutralinoStandIn, type StandIn } from '../neutralino/runtime.js';

export interface SidecarPage {
  readonly runtime: StandIn;
  readonly page: PageClient;
  readonly dataDir: string;
  close(): Promise<void>;
}

/** Starts the runtime stand-in (and so the sidecar) on a new data folder and connects as the page. */
export async function startSidecarPage(env: NodeJS.ProcessEnv = {}): Promise<SidecarPage> {
  await buildSidecarOnce();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'sim-attack-'));
  const runtime = await startNeutralinoStandIn({ appDir: ROOT, env: { ...process.env, SIM_AI_DATA_DIR: dataDir, ...env } });
  const page = await PageClient.connect(runtime);
  await page.waitForSidecar();
  return {
    runtime,
    page,
    dataDir,
    close: async () => {
      page.close();
      await runtime.close();
      runtime.killAll();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The result of a reply that must have succeeded. */
export function ok<T = unknown>(reply: ReplyEnvelope): T {
  if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
  return reply.result as T;
}

/** The error of a reply that must have been refused. */
export function failure(reply: ReplyEnvelope): Extract<ReplyEnvelope, { ok: false }>['error'] {
  if (reply.ok) throw new Error(`expected a refusal, got ${JSON.stringify(reply.result)}`);
  return reply.error;
}
