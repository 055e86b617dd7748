/**
 * The vault: provider keys as standard age files, each encrypted to the vault's own X25519 recipient.
 * The identity that opens them is itself an age file wrapped with the user's passphrase (scrypt), and
 * lives in memory only while unlocked. Writing a key needs no unlock; reading one does. Keys never
 * leave through any command: `getKey` serves the providers inside the sidecar, nothing else.
 */
import { AIError } from '../core/errors.js';
import type { KeySource } from '../core/key-source.js';
import { forgetSecret, registerSecret } from '../core/redact.js';
import { sleep } from '../core/retry.js';
import type { SecretsRepository, VaultMetaRepository } from '../storage/repositories.js';
import { DEFAULT_WORK_FACTOR } from './work-factor.js';

/** The age library (and its curve code) loads on the first crypto operation, not at start-up. */
const ageCrypto = () => import('./age-crypto.js');
import { VaultError } from './errors.js';
import { hintFor, validateSecret } from './secret-validation.js';

export type VaultState = 'uninitialised' | 'locked' | 'unlocked';

export interface VaultStatus {
  readonly state: VaultState;
  readonly autoLockMinutes: number | null;
}

export interface SecretInfo {
  readonly provider: string;
  readonly present: boolean;
  readonly hint: string | null;
  readonly updatedAt: string | null;
}

export interface VaultOptions {
  /** scrypt work factor (log2 N) for new wrappings. Default 17: ~1 s on a low-end laptop, 128 MiB. */
  readonly workFactor?: number;
  /** Auto-lock for a new vault, in minutes; null turns it off. Default 15. */
  readonly defaultAutoLockMinutes?: number | null;
  /** Called when the vault changes state by itself (auto-lock). */
  readonly onChange?: (status: VaultStatus) => void;
  /** Delay before checking a passphrase after `failures` wrong ones. Default 250 ms doubling, at most 30 s. */
  readonly failureDelayMs?: (failures: number) => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly timers?: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout };
}

interface Unlocked {
  readonly identity: string;
  readonly keys: Map<string, string>;
  /** Made on the first read after unlock; reused for every key until the vault locks. */
  decrypt?: (file: Uint8Array) => Promise<Uint8Array>;
}

interface SecretPayload {
  readonly v: 1;
  readonly provider: string;
  readonly secret: string;
}

export class Vault implements KeySource {
  private unlocked: Unlocked | undefined;
  private failures = 0;
  private autoLockTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly meta: VaultMetaRepository,
    private readonly secrets: SecretsRepository,
    private readonly options: VaultOptions = {},
  ) {}

  status(): VaultStatus {
    const meta = this.meta.get();
    if (meta === undefined) return { state: 'uninitialised', autoLockMinutes: this.options.defaultAutoLockMinutes ?? 15 };
    return { state: this.unlocked ? 'unlocked' : 'locked', autoLockMinutes: meta.autoLockMinutes };
  }

  /** First run: a new identity, wrapped with the passphrase. Leaves the vault unlocked. */
  async init(passphrase: string): Promise<VaultStatus> {
    if (this.meta.get() !== undefined) throw new VaultError('vault_exists', 'The vault already exists: unlock it, or change its passphrase.');
    const { newIdentity, encryptWithPassphrase } = await ageCrypto();
    const { identity, recipient } = await newIdentity();
    const wrappedIdentity = await encryptWithPassphrase(identity, passphrase, this.workFactor);
    this.meta.create({ recipient, wrappedIdentity, autoLockMinutes: this.options.defaultAutoLockMinutes === undefined ? 15 : this.options.defaultAutoLockMinutes });
    this.open(identity);
    return this.status();
  }

  async unlock(passphrase: string): Promise<VaultStatus> {
    const identity = await this.unwrapIdentity(passphrase);
    this.open(identity);
    return this.status();
  }

  lock(): VaultStatus {
    this.close();
    return this.status();
  }

  /** Re-wraps the identity only; one UPDATE, so a crash leaves the old or the new passphrase working. */
  async changePassphrase(current: string, next: string): Promise<VaultStatus> {
    const identity = await this.unwrapIdentity(current);
    const { encryptWithPassphrase } = await ageCrypto();
    this.meta.replaceWrappedIdentity(await encryptWithPassphrase(identity, next, this.workFactor));
    this.open(identity);
    return this.status();
  }

  setAutoLock(minutes: number | null): VaultStatus {
    this.requireMeta();
    this.meta.setAutoLock(minutes);
    this.touch();
    return this.status();
  }

  /** Stores a key for a provider. Needs no unlock: it is encrypted to the vault's public recipient. */
  async setSecret(provider: string, raw: string): Promise<SecretInfo> {
    const meta = this.requireMeta();
    const secret = validateSecret(provider, raw);
    const payload: SecretPayload = { v: 1, provider, secret };
    const { encryptTo } = await ageCrypto();
    const row = this.secrets.upsert(provider, await encryptTo(meta.recipient, JSON.stringify(payload)), hintFor(secret));
    if (this.unlocked) {
      const previous = this.unlocked.keys.get(provider);
      if (previous !== undefined) forgetSecret(previous);
      this.unlocked.keys.set(provider, secret);
      registerSecret(secret);
    }
    return { provider, present: true, hint: row.hint, updatedAt: row.updatedAt };
  }

  deleteSecret(provider: string): void {
    this.secrets.delete(provider);
    const cached = this.unlocked?.keys.get(provider);
    if (cached !== undefined) forgetSecret(cached);
    this.unlocked?.keys.delete(provider);
  }

  listSecrets(): SecretInfo[] {
    return this.secrets.list().map((row) => ({ provider: row.provider, present: true, hint: row.hint, updatedAt: row.updatedAt }));
  }

  /** For providers inside the sidecar only. Throws the typed `locked` error while locked. */
  async getKey(provider: string): Promise<string | undefined> {
    const row = this.secrets.get(provider);
    if (row === undefined) return undefined;
    const unlocked = this.unlocked;
    if (unlocked === undefined) {
      throw new AIError('locked', `The vault is locked: unlock it to use ${provider}.`, { provider });
    }
    this.touch();
    const cached = unlocked.keys.get(provider);
    if (cached !== undefined) return cached;
    const secret = await this.decryptRow(unlocked, provider, row.ciphertext);
    unlocked.keys.set(provider, secret);
    registerSecret(secret);
    return secret;
  }

  /** Locks and stops the auto-lock timer (shutdown). */
  dispose(): void {
    this.close();
  }

  private get workFactor(): number {
    return this.options.workFactor ?? DEFAULT_WORK_FACTOR;
  }

  private requireMeta() {
    const meta = this.meta.get();
    if (meta === undefined) throw new VaultError('vault_not_initialised', 'Create the vault first: choose a passphrase.');
    return meta;
  }

  private async unwrapIdentity(passphrase: string): Promise<string> {
    const meta = this.requireMeta();
    const delay = this.failures === 0 ? 0 : (this.options.failureDelayMs ?? defaultFailureDelay)(this.failures);
    if (delay > 0) await (this.options.sleep ?? sleep)(delay);
    const { decryptWith } = await ageCrypto();
    try {
      const identity = new TextDecoder().decode(await decryptWith(meta.wrappedIdentity, { passphrases: [passphrase] }));
      this.failures = 0;
      return identity;
    } catch (error) {
      this.failures += 1;
      // Never pass the library's message on: it may quote parts of the file.
      throw new VaultError('wrong_passphrase', 'That passphrase does not open the vault.', { cause: error instanceof Error ? error.name : 'error' });
    }
  }

  private async decryptRow(unlocked: Unlocked, provider: string, ciphertext: Uint8Array): Promise<string> {
    const { identityDecrypter } = await ageCrypto();
    let payload: Partial<SecretPayload>;
    try {
      unlocked.decrypt ??= identityDecrypter(unlocked.identity);
      payload = JSON.parse(new TextDecoder().decode(await unlocked.decrypt(ciphertext))) as Partial<SecretPayload>;
    } catch {
      throw new VaultError('storage', `The stored key for ${provider} is damaged and cannot be read. Store it again.`);
    }
    // The provider inside the ciphertext binds it to its row: a key copied over another's is refused.
    if (payload.provider !== provider || typeof payload.secret !== 'string') {
      throw new VaultError('storage', `The stored key for ${provider} belongs to another row (tampered). Store it again.`);
    }
    return payload.secret;
  }

  private open(identity: string): void {
    this.close();
    this.unlocked = { identity, keys: new Map() };
    this.touch();
  }

  private close(): void {
    const timers = this.options.timers ?? globalThis;
    if (this.autoLockTimer !== undefined) timers.clearTimeout(this.autoLockTimer);
    this.autoLockTimer = undefined;
    for (const key of this.unlocked?.keys.values() ?? []) forgetSecret(key);
    this.unlocked = undefined;
  }

  /** Activity: restart the auto-lock countdown. */
  private touch(): void {
    if (this.unlocked === undefined) return;
    const timers = this.options.timers ?? globalThis;
    if (this.autoLockTimer !== undefined) timers.clearTimeout(this.autoLockTimer);
    this.autoLockTimer = undefined;
    const minutes = this.meta.get()?.autoLockMinutes ?? null;
    if (minutes === null) return;
    this.autoLockTimer = timers.setTimeout(() => {
      this.close();
      this.options.onChange?.(this.status());
    }, minutes * 60_000);
    (this.autoLockTimer as { unref?: () => void }).unref?.();
  }
}

function defaultFailureDelay(failures: number): number {
  return Math.min(30_000, 250 * 2 ** (failures - 1));
}
