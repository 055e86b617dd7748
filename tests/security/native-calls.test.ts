/**
 * Issue 12, "the runtime as shipped": the page (and the sidecar, which shares its token and
 * permissions) may make exactly the native calls the app needs. Everything else, `window.snapshot`
 * over the vault database first, is refused as the real runtime refuses it (`NE_RT_NATPRME`); the
 * same refusals are checked against the real runtime by `npm run check:real`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../neutralino/build-once.js';
import type { PageClient } from '../neutralino/page-client.js';
import type { StandIn } from '../neutralino/runtime.js';
import { startSidecarPage, type SidecarPage } from './sidecar-page.js';
import { ALLOWED, ATTACKS, NEEDED } from './native-attacks.js';

let app: SidecarPage;
let runtime: StandIn;
let page: PageClient;
let dataDir: string;
const dbFile = () => path.join(dataDir, 'sim-ai.db');

beforeAll(async () => {
  app = await startSidecarPage();
  ({ runtime, page, dataDir } = app);
}, 60_000);

afterAll(async () => {
  await app?.close();
});

describe('native calls', () => {
  it('the shipped allow list names exactly the calls the page and the sidecar make, no wildcard', () => {
    const config = JSON.parse(readFileSync(path.join(ROOT, 'neutralino.config.json'), 'utf8')) as { nativeAllowList: string[]; nativeBlockList?: unknown };
    expect([...config.nativeAllowList].sort()).toEqual(ALLOWED);
    expect(config.nativeBlockList).toBeUndefined();
  });

  it('attack: every other call, window.snapshot over the vault database first, is refused with NE_RT_NATPRME', async () => {
    expect((await page.request('vault_init', { passphrase: 'a long and honest passphrase' })).ok).toBe(true);
    const before = createHash('sha256').update(readFileSync(dbFile())).digest('hex');
    for (const [method, data] of ATTACKS(dbFile())) {
      expect(await page.native(method, data), method).toEqual({ error: { code: 'NE_RT_NATPRME', message: `Missing permission to execute the native method: ${method}` } });
    }
    expect(createHash('sha256').update(readFileSync(dbFile())).digest('hex')).toBe(before);
    expect((await page.request('vault_status')).ok).toBe(true);
  });

  it('the app still works on what is allowed, and calls nothing else', async () => {
    const reply = await page.request('list_providers');
    expect(reply.ok).toBe(true);
    const used = new Set(runtime.nativeCallLog.filter((c) => !ATTACKS(dbFile()).some(([m]) => m === c.method)).map((c) => c.method));
    expect([...used].sort()).toEqual(NEEDED);
  });
});
