import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decryptWith, encryptTo, encryptWithPassphrase, newIdentity } from '../../extensions/ai-sidecar/src/vault/age-crypto.js';
import { PASSPHRASE, freshVault } from './helpers.js';

type Fresh = Awaited<ReturnType<typeof freshVault>>;
let current: Fresh | undefined;
afterEach(async () => {
  await current?.cleanup();
  current = undefined;
});
async function setup(options: Parameters<typeof freshVault>[0] = {}) {
  current = await freshVault(options);
  return current;
}

const OPENAI_KEY = 'sk-proj-AAAAbbbbCCCCddddEEEEffff0123';
const ANTHROPIC_KEY = 'sk-ant-api03-ZZZZyyyyXXXXwwwwVVVV9876';

describe('age crypto wrapper', () => {
  it.each([
    ['empty', ''],
    ['short', 'k'],
    ['long', 'x'.repeat(200_000)],
    ['non-ASCII', 'ключ ñandú 🔑 鍵'],
  ])('round-trips a %s plaintext', async (_name, text) => {
    const { identity, recipient } = await newIdentity();
    const file = await encryptTo(recipient, text);
    expect(new TextDecoder().decode(await decryptWith(file, { identities: [identity] }))).toBe(text);
    const locked = await encryptWithPassphrase(text, 'pw', 10);
    expect(new TextDecoder().decode(await decryptWith(locked, { passphrases: ['pw'] }))).toBe(text);
  });
});

describe('vault', () => {
  it('moves from uninitialised to unlocked to locked, and writing needs no unlock', async () => {
    const { vault } = await setup();
    expect(vault.status().state).toBe('uninitialised');
    await expect(vault.setSecret('openai', OPENAI_KEY, 'https://api.example.com')).rejects.toMatchObject({ code: 'vault_not_initialised' });
    expect(await vault.init(PASSPHRASE)).toEqual({ state: 'unlocked', autoLockMinutes: 15 });
    await expect(vault.init(PASSPHRASE)).rejects.toMatchObject({ code: 'vault_exists' });
    vault.lock();
    expect(vault.status().state).toBe('locked');
    const info = await vault.setSecret('openai', `  ${OPENAI_KEY}\n`, 'https://api.example.com');
    expect(info).toMatchObject({ provider: 'openai', present: true, hint: '…0123' });
    await expect(vault.keyFor('openai', 'https://api.example.com')).rejects.toMatchObject({ code: 'locked' });
    await vault.unlock(PASSPHRASE);
    expect(await vault.keyFor('openai', 'https://api.example.com')).toBe(OPENAI_KEY);
    expect(await vault.keyFor('groq', 'https://api.example.com')).toBeUndefined();
  });

  it.each([
    ['8 characters', 'abcd1234'],
    ['512 characters', 'k'.repeat(512)],
    ['non-ASCII', 'ключ-ñandú-🔑-鍵鍵'],
  ])('round-trips a %s key', async (_name, key) => {
    const { vault } = await setup();
    await vault.init(PASSPHRASE);
    await vault.setSecret('together', key, 'https://api.example.com');
    vault.lock();
    await vault.unlock(PASSPHRASE);
    expect(await vault.keyFor('together', 'https://api.example.com')).toBe(key);
  });

  it.each([
    ['with quotes', '"sk-proj-AAAAbbbbCCCCddddEEEE"', /quote/],
    ['with inner spaces', 'sk-proj-AAAA bbbbCCCCddddEEEE', /spaces/],
    ['with a Bearer prefix', 'Bearer sk-proj-AAAAbbbbCCCCddddEEEE', /Bearer/],
    ['of the wrong shape', 'gsk_notanopenaikey000000', /does not look like a openai key/],
  ])('refuses a key %s without echoing it', async (_name, key, message) => {
    const { vault } = await setup();
    await vault.init(PASSPHRASE);
    const error = (await vault.setSecret('openai', key, 'https://api.example.com').catch((e: unknown) => e)) as Error & { code: string };
    expect(error).toMatchObject({ code: 'validation' });
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain(key.replace(/"/g, '').slice(4, 20));
  });

  it('refuses a wrong passphrase with a typed error, and slows down repeated failures', async () => {
    const delays: number[] = [];
    const { vault } = await setup({ sleep: async (ms) => void delays.push(ms) });
    await vault.init(PASSPHRASE);
    vault.lock();
    for (let i = 0; i < 3; i += 1) await expect(vault.unlock('wrong passphrase')).rejects.toMatchObject({ code: 'wrong_passphrase' });
    await vault.unlock(PASSPHRASE);
    expect(delays).toEqual([250, 500, 1000]);
    vault.lock();
    await expect(vault.unlock('wrong again')).rejects.toMatchObject({ code: 'wrong_passphrase' });
    expect(delays).toHaveLength(3);
  });

  it('rejects every single-byte flip and every truncation of a stored ciphertext', async () => {
    const { vault, secrets } = await setup();
    await vault.init(PASSPHRASE);
    await vault.setSecret('openai', OPENAI_KEY, 'https://api.example.com');
    const original = secrets.get('openai')?.ciphertext ?? new Uint8Array();
    let accepted = 0;
    const attempt = async (bytes: Uint8Array) => {
      secrets.upsert('openai', bytes, 'x', 'https://api.example.com');
      vault.lock();
      await vault.unlock(PASSPHRASE);
      const key = await vault.keyFor('openai', 'https://api.example.com').catch(() => undefined);
      if (key !== undefined) accepted += 1;
    };
    for (let i = 0; i < original.length; i += 1) {
      const flipped = original.slice();
      flipped[i] = (flipped[i] ?? 0) ^ 0x01;
      await attempt(flipped);
    }
    for (const length of [0, 1, 20, Math.floor(original.length / 2), original.length - 17, original.length - 1]) {
      await attempt(original.slice(0, length));
    }
    expect(accepted).toBe(0);
    await attempt(original);
    expect(accepted).toBe(1);
  });

  it('detects a ciphertext copied over another provider\'s row', async () => {
    const { vault, secrets } = await setup();
    await vault.init(PASSPHRASE);
    await vault.setSecret('openai', OPENAI_KEY, 'https://api.example.com');
    await vault.setSecret('anthropic', ANTHROPIC_KEY, 'https://api.example.com');
    const openaiRow = secrets.get('openai');
    secrets.upsert('anthropic', openaiRow?.ciphertext ?? new Uint8Array(), 'x', 'https://api.example.com');
    vault.lock();
    await vault.unlock(PASSPHRASE);
    await expect(vault.keyFor('anthropic', 'https://api.example.com')).rejects.toMatchObject({ code: 'storage', message: expect.stringMatching(/another row/) });
    expect(await vault.keyFor('openai', 'https://api.example.com')).toBe(OPENAI_KEY);
  });

  it('refuses to unlock when the identity no longer matches the vault recipient, without any key material in the error', async () => {
    const { vault, meta, db } = await setup();
    await vault.init(PASSPHRASE);
    await vault.setSecret('openai', OPENAI_KEY, 'https://api.example.com');
    // A swapped-in identity, wrapped with the right passphrase and its checksum cleared: it opens,
    // but new keys would be encrypted to a recipient it does not belong to.
    const { identity: bad } = await newIdentity();
    db.prepare('UPDATE vault_meta SET wrapped_identity = ?, wrapped_identity_sha256 = NULL WHERE id = 1').run(Buffer.from(await encryptWithPassphrase(bad, PASSPHRASE, 10)));
    vault.lock();
    const error = (await vault.unlock(PASSPHRASE).catch((e: unknown) => e)) as Error & { code: string };
    expect(error.code).toBe('storage');
    expect(error.message).toMatch(/no longer matches/);
    expect(`${error.message} ${String(error.cause ?? '')}`).not.toMatch(/AGE-SECRET-KEY/);
    expect(vault.status().state).toBe('locked');
    expect(meta.get()).toBeDefined();
  });

  it('locks by itself after the idle period, and the setting can be changed or turned off', async () => {
    const timers: { fn: () => void; ms: number; cleared: boolean }[] = [];
    const fakeTimers = {
      setTimeout: ((fn: () => void, ms: number) => {
        const timer = { fn, ms, cleared: false };
        timers.push(timer);
        return timer;
      }) as unknown as typeof setTimeout,
      clearTimeout: ((timer: { cleared: boolean }) => void (timer.cleared = true)) as unknown as typeof clearTimeout,
    };
    const changes: string[] = [];
    const { vault } = await setup({ timers: fakeTimers, onChange: (s) => changes.push(s.state) });
    await vault.init(PASSPHRASE);
    expect(timers.at(-1)?.ms).toBe(15 * 60_000);
    vault.setAutoLock(1);
    const live = timers.filter((t) => !t.cleared);
    expect(live).toHaveLength(1);
    expect(live[0]?.ms).toBe(60_000);
    live[0]?.fn();
    expect(vault.status()).toEqual({ state: 'locked', autoLockMinutes: 1 });
    expect(changes).toEqual(['locked']);
    await vault.unlock(PASSPHRASE);
    vault.setAutoLock(null);
    expect(timers.filter((t) => !t.cleared)).toHaveLength(0);
    expect(vault.status()).toEqual({ state: 'unlocked', autoLockMinutes: null });
  });

  it('changes the passphrase: the old one stops working, keys stay readable', async () => {
    const { vault } = await setup();
    await vault.init(PASSPHRASE);
    await vault.setSecret('openai', OPENAI_KEY, 'https://api.example.com');
    await expect(vault.changePassphrase('not it', 'new passphrase 2')).rejects.toMatchObject({ code: 'wrong_passphrase' });
    await vault.changePassphrase(PASSPHRASE, 'new passphrase 2');
    vault.lock();
    await expect(vault.unlock(PASSPHRASE)).rejects.toMatchObject({ code: 'wrong_passphrase' });
    await vault.unlock('new passphrase 2');
    expect(await vault.keyFor('openai', 'https://api.example.com')).toBe(OPENAI_KEY);
  });

  it('keeps the old passphrase working when the change fails mid-way', async () => {
    const { vault, meta } = await setup();
    await vault.init(PASSPHRASE);
    meta.replaceWrappedIdentity = () => {
      throw new Error('disk full');
    };
    await expect(vault.changePassphrase(PASSPHRASE, 'new passphrase 2')).rejects.toThrow('disk full');
    vault.lock();
    await vault.unlock(PASSPHRASE);
    expect(vault.status().state).toBe('unlocked');
  });

  it('keeps the event loop ticking while unlocking at the chosen work factor (largest lag < 100 ms)', async () => {
    const { vault } = await setup({ workFactor: 17 });
    await vault.init(PASSPHRASE);
    vault.lock();
    let last = performance.now();
    let worst = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
    }, 5);
    const started = performance.now();
    await vault.unlock(PASSPHRASE);
    const unlockMs = performance.now() - started;
    clearInterval(ticker);
    expect(unlockMs).toBeGreaterThan(100);
    expect(worst).toBeLessThan(100);
  });
});

describe('interop with the reference age tool', () => {
  it('a stored secret decrypts with `age -d -i <identity file>`, and a file age encrypted decrypts in the vault', async () => {
    const { vault, secrets, meta, dir, db } = await setup();
    await vault.init(PASSPHRASE);
    await vault.setSecret('openai', OPENAI_KEY, 'https://api.example.com');
    const identity = new TextDecoder().decode(await decryptWith(meta.get()?.wrappedIdentity ?? new Uint8Array(), { passphrases: [PASSPHRASE] }));
    const identityFile = path.join(dir, 'identity.txt');
    const secretFile = path.join(dir, 'secret.age');
    await writeFile(identityFile, `${identity}\n`, { mode: 0o600 });
    await writeFile(secretFile, secrets.get('openai')?.ciphertext ?? new Uint8Array());
    const payload = JSON.parse(execFileSync('age', ['-d', '-i', identityFile, secretFile], { encoding: 'utf8' })) as { provider: string; secret: string };
    expect(payload).toEqual({ v: 2, provider: 'openai', secret: OPENAI_KEY, origin: 'https://api.example.com' });

    const recipient = meta.get()?.recipient ?? '';
    const plainFile = path.join(dir, 'plain.json');
    await writeFile(plainFile, JSON.stringify({ v: 2, provider: 'anthropic', secret: ANTHROPIC_KEY, origin: 'https://api.example.com' }));
    execFileSync('age', ['-r', recipient, '-o', path.join(dir, 'from-age.age'), plainFile]);
    const fromAge = await readFile(path.join(dir, 'from-age.age'));
    db.prepare("INSERT INTO secrets (provider, ciphertext, hint, updated_at) VALUES ('anthropic', ?, '…9876', '2026-01-01')").run(fromAge);
    expect(await vault.keyFor('anthropic', 'https://api.example.com')).toBe(ANTHROPIC_KEY);
  });
});
