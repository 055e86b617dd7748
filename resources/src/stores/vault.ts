/** The vault as the UI sees it: its state and auto-lock setting, never a key. */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { CommandResult } from '@contract';
import { useConnectionStore } from './connection';
import { useProvidersStore } from './providers';

type VaultStatus = CommandResult<'vault_status'>;
export type Busy = 'idle' | 'working';

export const useVaultStore = defineStore('vault', () => {
  const status = ref<VaultStatus>();
  const busy = ref<Busy>('idle');
  const error = ref<string>();
  const connection = useConnectionStore();

  async function run(action: () => Promise<VaultStatus>): Promise<boolean> {
    busy.value = 'working';
    error.value = undefined;
    try {
      const before = status.value?.state;
      status.value = await action();
      // Locking and unlocking change which providers can run: ask again.
      if (before !== undefined && before !== status.value.state) void useProvidersStore().refresh();
      return true;
    } catch (e) {
      error.value = e instanceof Error ? e.message : String(e);
      return false;
    } finally {
      busy.value = 'idle';
    }
  }

  const client = () => connection.require();
  return {
    status,
    busy,
    error,
    set: (next: VaultStatus) => {
      const changed = status.value !== undefined && status.value.state !== next.state;
      status.value = next;
      if (changed) void useProvidersStore().refresh();
    },
    refresh: () => run(() => client().invoke('vault_status', {})),
    init: (passphrase: string) => run(() => client().invoke('vault_init', { passphrase })),
    unlock: (passphrase: string) => run(() => client().invoke('vault_unlock', { passphrase })),
    lock: () => run(() => client().invoke('vault_lock', {})),
    changePassphrase: (current: string, next: string) => run(() => client().invoke('vault_change_passphrase', { current, next })),
    setAutoLock: (minutes: number | null) => run(() => client().invoke('vault_set_auto_lock', { minutes })),
  };
});
