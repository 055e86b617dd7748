/**
 * The vault: provider keys as standard age files, each encrypted to the vault's own X25519 recipient.
 * The identity that opens them is itself an age file wrapped with the user's passphrase (scrypt), and
 * lives in memory only while unlocked. Writing a key needs no unlock; reading one does. Keys never
 * leave through any command: `keyFor` serves the providers inside the sidecar, nothing else, and
 * only for the origin (scheme, host, port) each key was entered for, which is sealed in with it.
 */
import { AIError } from '../core/errors.js';
import { mayCarryKey, originOf, type OriginKeySource } from '../core/origin.js';
import { forgetSecret, registerSecret } from '../core/redact.js';
import { sleep } from '../core/retry.js';
import { sha256, type SecretsRepository, type VaultMetaRepository } from '../storage/repositories.js';
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
  /** The origin (scheme://host:port) the key may be sent to. */
  readonly origin: string | null;
}

export interface VaultOptions {
  /** scrypt work factor (log2 N) for new wrappings. Default `DEFAULT_WORK_FACTOR` (age's 18). */
  readonly workFactor?: number;
  /** Auto-lock for a new vault, in minutes; null turns it off. Default 15. */
  readonly defaultAutoLockMinutes?: number | null;
  /** Called when the vault changes state by itself (auto-lock). */
  readonly onChange?: (status: VaultStatus) => void;
  /** Called whenever the vault locks, so holders of keys (SDK clients) drop them too. */
  readonly onLock?: () => void;
  /** The origin a key stored before origins were bound (payload v1) was entered for: its provider's default. */
  readonly legacyOrigin?: (provider: string) => string | undefined;
  /** Delay before checking a passphrase after `failures` wrong ones. Default 250 ms doubling, at most 30 s. */
  readonly failureDelayMs?: (failures: number) => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly timers?: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout };
}

/** A decrypted key and the origin it is bound to. */
interface BoundKey {
  readonly secret: string;
  readonly origin: string;
}

interface Unlocked {
  readonly identity: string;
  /** Derived from the identity at unlock: new keys are encrypted to this, not to the stored column. */
  readonly recipient: string;
  readonly keys: Map<string, BoundKey>;
  /** Made on the first read after unlock; reused for every key until the vault locks. */
  decrypt?: (file: Uint8Array) => Promise<Uint8Array>;
}

/** v2 binds the key to the origin it was entered for; v1 (no origin) predates the binding. */
interface SecretPayload {
  readonly v: 1 | 2;
  readonly provider: string;
  readonly secret: string;
  readonly origin?: string;
}

export class Vault implements OriginKeySource {
  private unlocked: Unlocked | undefined;
  private failures = 0;
  /** Passphrase checks run one at a time, so parallel attempts each wait out the back-off. */
  private passphraseQueue: Promise<unknown> = Promise.resolve();
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
    requireUsablePassphrase(passphrase);
    if (this.meta.get() !== undefined) throw new VaultError('vault_exists', 'The vault already exists: unlock it, or change its passphrase.');
    const { newIdentity, encryptWithPassphrase } = await ageCrypto();
    const { identity, recipient } = await newIdentity();
    const wrappedIdentity = await encryptWithPassphrase(identity, passphrase, this.workFactor);
    this.meta.create({ recipient, wrappedIdentity, autoLockMinutes: this.options.defaultAutoLockMinutes === undefined ? 15 : this.options.defaultAutoLockMinutes });
    this.open(identity, recipient);
    return this.status();
  }

  async unlock(passphrase: string): Promise<VaultStatus> {
    const { identity, recipient } = await this.unwrapIdentity(passphrase);
    this.open(identity, recipient);
    return this.status();
  }

  lock(): VaultStatus {
    this.close();
    return this.status();
  }

  /**
   * Re-wraps the identity only; one UPDATE, so a crash leaves the old or the new passphrase working.
   * The repository then checkpoints the WAL, so no copy of the old wrapping stays in the files.
   */
  async changePassphrase(current: string, next: string): Promise<VaultStatus> {
    requireUsablePassphrase(next);
    const { identity, recipient } = await this.unwrapIdentity(current);
    const { encryptWithPassphrase } = await ageCrypto();
    this.meta.replaceWrappedIdentity(await encryptWithPassphrase(identity, next, this.workFactor));
    this.open(identity, recipient);
    return this.status();
  }

  setAutoLock(minutes: number | null): VaultStatus {
    this.requireMeta();
    this.meta.setAutoLock(minutes);
    this.touch();
    return this.status();
  }

  /**
   * Stores a key for a provider, bound to `origin` (the provider's address when the user entered
   * it). Needs no unlock: it is encrypted to the vault's public recipient.
   */
  async setSecret(provider: string, raw: string, origin: string): Promise<SecretInfo> {
    const meta = this.requireMeta();
    const secret = validateSecret(provider, raw);
    requireKeyOrigin(provider, origin);
    const recipient = this.unlocked?.recipient ?? meta.recipient;
    const row = await this.store(recipient, { v: 2, provider, secret, origin }, hintFor(secret));
    if (this.unlocked) this.cache(this.unlocked, provider, { secret, origin });
    return toInfo(row, origin);
  }

  /**
   * After the user confirmed, with the passphrase, that the key may go to the provider's new
   * address: re-binds the stored key to `origin`. The passphrase check counts like an unlock.
   */
  async confirmOrigin(provider: string, passphrase: string, origin: string): Promise<SecretInfo> {
    requireKeyOrigin(provider, origin);
    const { identity, recipient } = await this.unwrapIdentity(passphrase);
    const row = this.secrets.get(provider);
    if (row === undefined) throw new VaultError('not_found', `No key is stored for ${provider}.`);
    const { identityDecrypter } = await ageCrypto();
    const { secret } = await this.readPayload(identityDecrypter(identity), provider, row.ciphertext);
    const stored = await this.store(recipient, { v: 2, provider, secret, origin }, row.hint);
    if (this.unlocked) this.cache(this.unlocked, provider, { secret, origin });
    return toInfo(stored, origin);
  }

  deleteSecret(provider: string): void {
    this.secrets.delete(provider);
    const cached = this.unlocked?.keys.get(provider);
    if (cached !== undefined) forgetSecret(cached.secret);
    this.unlocked?.keys.delete(provider);
  }

  listSecrets(): SecretInfo[] {
    return this.secrets.list().map((row) => toInfo(row, row.origin ?? this.options.legacyOrigin?.(row.provider) ?? null));
  }

  /**
   * For providers inside the sidecar only: the key, if it is bound to `origin` (where the request is
   * about to go) and that origin may carry a key. Throws the typed `locked` error while locked and
   * `auth` when the key was entered for another address.
   */
  async keyFor(provider: string, origin: string): Promise<string | undefined> {
    const row = this.secrets.get(provider);
    if (row === undefined) return undefined;
    const unlocked = this.unlocked;
    if (unlocked === undefined) {
      throw new AIError('locked', `The vault is locked: unlock it to use ${provider}.`, { provider });
    }
    this.touch();
    let bound = unlocked.keys.get(provider);
    if (bound === undefined) {
      const { identityDecrypter } = await ageCrypto();
      unlocked.decrypt ??= identityDecrypter(unlocked.identity);
      bound = await this.readPayload(unlocked.decrypt, provider, row.ciphertext);
      // The vault may have locked (or the key changed) while this read was decrypting.
      if (this.unlocked !== unlocked) throw new AIError('locked', `The vault is locked: unlock it to use ${provider}.`, { provider });
      this.cache(unlocked, provider, bound);
    }
    if (bound.origin !== origin) {
      throw new AIError('auth', `The key for ${provider} was entered for ${bound.origin}, but ${provider} now points to ${origin}. It is not sent there: enter the key again, or confirm the new address under Providers.`, { provider });
    }
    if (!mayCarryKey(origin)) {
      throw new AIError('auth', `${origin} uses plain http to another computer: the key for ${provider} is never sent unencrypted. Use https.`, { provider });
    }
    return bound.secret;
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

  private async store(recipient: string, payload: SecretPayload, hint: string) {
    const { encryptTo } = await ageCrypto();
    return this.secrets.upsert(payload.provider, await encryptTo(recipient, JSON.stringify(payload)), hint, payload.origin ?? '');
  }

  private cache(unlocked: Unlocked, provider: string, bound: BoundKey): void {
    const previous = unlocked.keys.get(provider);
    if (previous !== undefined && previous.secret !== bound.secret) forgetSecret(previous.secret);
    unlocked.keys.set(provider, bound);
    registerSecret(bound.secret);
  }

  /** Checks one passphrase at a time: every attempt, however many arrive at once, waits its back-off. */
  private unwrapIdentity(passphrase: string): Promise<{ identity: string; recipient: string }> {
    const attempt = this.passphraseQueue.then(() => this.checkPassphrase(passphrase));
    // The queue keeps neither outcome: a resolved value here would hold the identity after locking.
    this.passphraseQueue = attempt.then(
      () => undefined,
      () => undefined,
    );
    return attempt;
  }

  private async checkPassphrase(passphrase: string): Promise<{ identity: string; recipient: string }> {
    const meta = this.requireMeta();
    if (meta.wrappedIdentitySha256 !== null && sha256(meta.wrappedIdentity) !== meta.wrappedIdentitySha256) throw damagedIdentity();
    const delay = this.failures === 0 ? 0 : (this.options.failureDelayMs ?? defaultFailureDelay)(this.failures);
    if (delay > 0) await (this.options.sleep ?? sleep)(delay);
    const { decryptWith, identityToRecipientOf, isPassphraseMismatch } = await ageCrypto();
    let identity: string;
    try {
      identity = new TextDecoder().decode(await decryptWith(meta.wrappedIdentity, { passphrases: [passphrase] }));
    } catch (error) {
      // Never pass the library's message on: it may quote parts of the file.
      if (!isPassphraseMismatch(error)) throw damagedIdentity();
      this.failures += 1;
      throw new VaultError('wrong_passphrase', 'That passphrase does not open the vault.', { cause: error instanceof Error ? error.name : 'error' });
    }
    this.failures = 0;
    if (meta.wrappedIdentitySha256 === null) this.meta.recordChecksum(meta.wrappedIdentity);
    let recipient: string;
    try {
      recipient = await identityToRecipientOf(identity);
    } catch {
      throw damagedIdentity();
    }
    if (recipient !== meta.recipient) {
      throw new VaultError('storage', 'The vault\'s public key in the database no longer matches its identity: the database was altered. New keys would be encrypted to someone else, so the vault stays locked. Restore the database from a backup, or move it aside to start afresh.');
    }
    return { identity, recipient };
  }

  private async readPayload(decrypt: (file: Uint8Array) => Promise<Uint8Array>, provider: string, ciphertext: Uint8Array): Promise<BoundKey> {
    let payload: Partial<SecretPayload>;
    try {
      payload = JSON.parse(new TextDecoder().decode(await decrypt(ciphertext))) as Partial<SecretPayload>;
    } catch {
      throw new VaultError('storage', `The stored key for ${provider} is damaged and cannot be read. Store it again.`);
    }
    // The provider inside the ciphertext binds it to its row: a key copied over another's is refused.
    if (payload.provider !== provider || typeof payload.secret !== 'string') {
      throw new VaultError('storage', `The stored key for ${provider} belongs to another row (tampered). Store it again.`);
    }
    const origin = payload.v === 2 ? payload.origin : this.options.legacyOrigin?.(provider);
    if (typeof origin !== 'string') throw new VaultError('storage', `The stored key for ${provider} names no address it may be sent to. Store it again.`);
    return { secret: payload.secret, origin };
  }

  private open(identity: string, recipient: string): void {
    this.close();
    this.unlocked = { identity, recipient, keys: new Map() };
    this.touch();
  }

  /** Drops the identity, every decrypted key and (through `onLock`) the SDK clients holding them. */
  private close(): void {
    const timers = this.options.timers ?? globalThis;
    if (this.autoLockTimer !== undefined) timers.clearTimeout(this.autoLockTimer);
    this.autoLockTimer = undefined;
    const wasUnlocked = this.unlocked !== undefined;
    for (const key of this.unlocked?.keys.values() ?? []) forgetSecret(key.secret);
    this.unlocked?.keys.clear();
    this.unlocked = undefined;
    if (wasUnlocked) this.options.onLock?.();
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

function toInfo(row: { provider: string; hint: string; updatedAt: string }, origin: string | null): SecretInfo {
  return { provider: row.provider, present: true, hint: row.hint, updatedAt: row.updatedAt, origin };
}

function damagedIdentity(): VaultError {
  return new VaultError('storage', 'The vault\'s wrapped identity in the database is damaged, so no passphrase can open it (this is not a wrong passphrase). Restore the database from a backup; the stored keys cannot be read without it.');
}

/** A passphrase of spaces only (or none) protects nothing. */
function requireUsablePassphrase(passphrase: string): void {
  if (passphrase.trim().length === 0) throw new VaultError('validation', 'A passphrase made only of spaces protects nothing: use letters, digits or symbols.');
}

/** A key is bound only to an address it may travel to: https, or plain http to this computer. */
function requireKeyOrigin(provider: string, origin: string): void {
  let normalised: string;
  try {
    normalised = originOf(origin);
  } catch (error) {
    throw new VaultError('validation', error instanceof Error ? error.message : String(error));
  }
  if (normalised !== origin) throw new VaultError('validation', `"${origin}" is not an origin (scheme://host:port).`);
  if (!mayCarryKey(origin)) {
    throw new VaultError('validation', `${provider} points to ${origin}, plain http to another computer: a key would travel unencrypted. Use an https address to store a key.`);
  }
}

function defaultFailureDelay(failures: number): number {
  return Math.min(30_000, 250 * 2 ** (failures - 1));
}
