/**
 * Vault commands. Secrets are write-only from the UI's side: there is no command that returns a key.
 * Every state change is also broadcast, so a window learns of an auto-lock without asking.
 */
import { EVENTS, type CommandResult } from '../../protocol/contract.js';
import type { Handlers } from '../dispatcher.js';
import type { EmitEvent } from '../run-streamer.js';

export type VaultStatusData = CommandResult<'vault_status'>;
export type SecretInfoData = CommandResult<'set_secret'>;

/** What the channel needs of the vault; the vault module implements it. */
export interface VaultService {
  status(): VaultStatusData;
  init(passphrase: string): Promise<unknown>;
  unlock(passphrase: string): Promise<unknown>;
  lock(): unknown;
  changePassphrase(current: string, next: string): Promise<unknown>;
  setAutoLock(minutes: number | null): unknown;
  setSecret(provider: string, secret: string, origin: string): Promise<SecretInfoData> | SecretInfoData;
  confirmOrigin(provider: string, passphrase: string, origin: string): Promise<SecretInfoData>;
  deleteSecret(provider: string): unknown;
  listSecrets(): SecretInfoData[];
}

type VaultHandlers = Pick<Handlers, 'vault_status' | 'vault_init' | 'vault_unlock' | 'vault_lock' | 'vault_change_passphrase' | 'vault_set_auto_lock' | 'set_secret' | 'delete_secret' | 'list_secrets' | 'confirm_key_origin'>;

/**
 * `keyOrigin` names the origin of a provider's current address: a key is always bound to where
 * the provider points when the key is entered or confirmed, never to an origin the page names.
 */
export function vaultHandlers(vault: VaultService, emit: EmitEvent, keyOrigin: (provider: string) => string): VaultHandlers {
  const changed = (): VaultStatusData => {
    const status = vault.status();
    emit(EVENTS.vault, status);
    return status;
  };
  return {
    vault_status: () => vault.status(),
    vault_init: async ({ passphrase }) => (await vault.init(passphrase), changed()),
    vault_unlock: async ({ passphrase }) => (await vault.unlock(passphrase), changed()),
    vault_lock: () => (vault.lock(), changed()),
    vault_change_passphrase: async ({ current, next }) => (await vault.changePassphrase(current, next), changed()),
    vault_set_auto_lock: ({ minutes }) => (vault.setAutoLock(minutes), changed()),
    set_secret: ({ provider, secret }) => vault.setSecret(provider, secret, keyOrigin(provider)),
    confirm_key_origin: ({ provider, passphrase }) => vault.confirmOrigin(provider, passphrase, keyOrigin(provider)),
    delete_secret: ({ provider }) => (vault.deleteSecret(provider), { ok: true as const }),
    list_secrets: () => vault.listSecrets(),
  };
}
