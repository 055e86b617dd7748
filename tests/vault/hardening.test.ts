/**
 * Issue 12, "the vault": each item as the attack or the damage it is.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AIManager } from '../../extensions/ai-sidecar/src/core/manager.js';
import { MemoryProviderSettings, ProviderCatalog } from '../../extensions/ai-sidecar/src/providers/catalog.js';
import { openDatabase } from '../../extensions/ai-sidecar/src/storage/database.js';
import { decryptWith } from '../../extensions/ai-sidecar/src/vault/age-crypto.js';
import { Vault } from '../../extensions/ai-sidecar/src/vault/vault.js';
import { startOpenAIServer, type OpenAIServer } from '../wire/openai-server.js';
import { PASSPHRASE, freshVault } from './helpers.js';

const ORIGIN = 'https://api.example.com';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});
async function setup(options: Parameters<typeof freshVault>[0] = {}) {
  const fresh = await freshVault(options);
  cleanups.push(fresh.cleanup);
  return fresh;
}

describe('wrong passphrases at once', () => {
  it('attack: 16 parallel wrong attempts each wait their back-off (250 ms doubling, at most 30 s: 272 s in all), and so does the right one after them', async () => {
    const waits: number[] = [];
    const { vault } = await setup({ sleep: (ms) => (waits.push(ms), Promise.resolve()) });
    await vault.init(PASSPHRASE);
    vault.lock();
    const attempts = await Promise.allSettled(Array.from({ length: 16 }, (_, i) => vault.unlock(`wrong passphrase ${i}`)));
    expect(attempts.every((a) => a.status === 'rejected' && (a.reason as { code: string }).code === 'wrong_passphrase')).toBe(true);
    expect(waits).toEqual([250, 500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000, 30_000, 30_000, 30_000, 30_000]);
    expect(waits.reduce((a, b) => a + b, 0)).toBe(271_750);
    await vault.unlock(PASSPHRASE);
    expect(waits.at(-1)).toBe(30_000);
    expect(waits).toHaveLength(16);
  });

  it('attack: parallel attempts really take the time (4 at once: at least 250 + 500 + 1000 ms)', async () => {
    const { vault } = await setup();
    await vault.init(PASSPHRASE);
    vault.lock();
    const started = performance.now();
    await Promise.allSettled(Array.from({ length: 4 }, (_, i) => vault.unlock(`wrong passphrase ${i}`)));
    expect(performance.now() - started).toBeGreaterThanOrEqual(1750);
  });
});

describe('passphrases', () => {
  it('refuses blank and whitespace-only passphrases and says why', async () => {
    const { vault } = await setup();
    for (const blank of ['        ', '\t\t\t\t\t\t\t\t', ' \n \r\n  \u00a0 ']) {
      await expect(vault.init(blank)).rejects.toMatchObject({ code: 'validation', message: expect.stringMatching(/only of spaces/) });
    }
    await vault.init(PASSPHRASE);
    await expect(vault.changePassphrase(PASSPHRASE, '          ')).rejects.toMatchObject({ code: 'validation' });
    vault.lock();
    await vault.unlock(PASSPHRASE);
  });

  it('attack: after a passphrase change, no copy of the old wrapping (which the old passphrase opens) is left in the database, WAL or SHM', async () => {
    const { vault, meta, file } = await setup();
    await vault.init(PASSPHRASE);
    await vault.setSecret('openai', 'sk-proj-AAAAbbbbCCCCddddEEEEffff0123', ORIGIN);
    const old = Buffer.from(meta.get()?.wrappedIdentity ?? []);
    // Its scrypt stanza (salt) and its tail (MAC and payload) are unique to that wrapping.
    const needles = [old.subarray(0, 60), old.subarray(old.length - 48)];
    const files = () => [file, `${file}-wal`, `${file}-shm`].filter(existsSync).map((f) => readFileSync(f));
    expect(files().some((bytes) => needles.some((n) => bytes.includes(n))), 'the old wrapping is on disk before the change').toBe(true);
    await vault.changePassphrase(PASSPHRASE, 'a completely new passphrase');
    for (const bytes of files()) for (const needle of needles) expect(bytes.includes(needle)).toBe(false);
  });
});

describe('damage is named as damage', () => {
  it('a 0-byte database is reported and left at 0 bytes, not set up as a new, empty vault', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sim-empty-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'sim-ai.db');
    writeFileSync(file, '');
    expect(() => openDatabase(file)).toThrow(expect.objectContaining({ code: 'storage', message: expect.stringMatching(/empty \(0 bytes\)/) }));
    expect(statSync(file).size).toBe(0);
  });

  it('a damaged wrapped identity is reported as damage, not as a wrong passphrase, and not counted as a failed attempt', async () => {
    const waits: number[] = [];
    const { vault, db } = await setup({ sleep: (ms) => (waits.push(ms), Promise.resolve()) });
    await vault.init(PASSPHRASE);
    vault.lock();
    const row = db.prepare('SELECT wrapped_identity FROM vault_meta').get() as { wrapped_identity: Buffer };
    for (const offset of [30, row.wrapped_identity.length - 5]) {
      const damaged = Buffer.from(row.wrapped_identity);
      damaged[offset] = (damaged[offset] ?? 0) ^ 0x01;
      db.prepare('UPDATE vault_meta SET wrapped_identity = ?').run(damaged);
      const error = (await vault.unlock(PASSPHRASE).catch((e: unknown) => e)) as { code: string; message: string };
      expect(error.code, `byte ${offset}`).toBe('storage');
      expect(error.message).toMatch(/damaged.*not a wrong passphrase/);
    }
    // A wrapping from before checksums were kept: a broken MAC or payload is still damage.
    const damaged = Buffer.from(row.wrapped_identity);
    damaged[damaged.length - 5] = (damaged[damaged.length - 5] ?? 0) ^ 0x01;
    db.prepare('UPDATE vault_meta SET wrapped_identity = ?, wrapped_identity_sha256 = NULL').run(damaged);
    await expect(vault.unlock(PASSPHRASE)).rejects.toMatchObject({ code: 'storage' });
    // None of that counted: the restored vault opens at once, with no back-off.
    db.prepare('UPDATE vault_meta SET wrapped_identity = ?').run(row.wrapped_identity);
    await vault.unlock(PASSPHRASE);
    expect(waits).toEqual([]);
  });
});

describe('locking', () => {
  let server: OpenAIServer;
  beforeAll(async () => (server = await startOpenAIServer()));
  afterAll(async () => server?.close());

  /**
   * Whether the text of this process's whole heap contains `needle`, after a full collection. The
   * needle is bytes (kept off the heap), so the probe does not find itself.
   */
  async function heapHolds(needle: Buffer): Promise<boolean> {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    for (let i = 0; i < 3; i += 1) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    let found = false;
    let tail = Buffer.alloc(0);
    for await (const chunk of v8.getHeapSnapshot()) {
      const bytes = Buffer.concat([tail, chunk as Buffer]);
      if (bytes.includes(needle)) found = true;
      tail = bytes.subarray(-needle.length);
    }
    return found;
  }

  it('drops the keys, the identity and the SDK clients holding the key: the heap no longer has them', async () => {
    const { vault, meta, secrets } = await setup();
    const manager = new AIManager();
    let catalog: ProviderCatalog | undefined;
    const keyed = new Vault(meta, secrets, { workFactor: 10, onLock: () => catalog?.rebuild() });
    const settings = new MemoryProviderSettings();
    settings.save({ provider: 'local', enabled: false });
    catalog = new ProviderCatalog(manager, settings, { keys: keyed, createLocal: () => { throw new Error('the local model is not part of this test'); } });
    catalog.update('openai', { baseURL: `${server.url}/v1` });
    void vault;
    // Made here as bytes, never held as a string by this test: only the app can keep the key alive.
    const raw = randomBytes(12);
    const keyNeedle = () => Buffer.from(`HEAP${raw.toString('hex')}`);
    await keyed.init(PASSPHRASE);
    await keyed.setSecret('openai', `sk-proj-HEAP${raw.toString('hex')}`, new URL(server.url).origin);
    const identity = await decryptWith(meta.get()?.wrappedIdentity ?? new Uint8Array(), { passphrases: [PASSPHRASE] });
    const identityNeedle = Buffer.from(identity.subarray(20, 50));
    identity.fill(0);
    keyed.lock();
    await keyed.unlock(PASSPHRASE);
    const response = await manager.execute('openai', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).result;
    expect(response.finishReason).toBe('stop');
    server.requests.length = 0;
    // While unlocked, the key is in memory (the vault's cache and the SDK client): the probe works.
    expect(await heapHolds(keyNeedle())).toBe(true);
    expect(await heapHolds(identityNeedle)).toBe(true);

    keyed.lock();
    expect(await heapHolds(keyNeedle())).toBe(false);
    expect(await heapHolds(identityNeedle)).toBe(false);
    keyed.dispose();
    await manager.dispose();
  }, 60_000);
});
