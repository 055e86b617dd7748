/**
 * The first launch: what the app has to work with (local models, keys, the vault), and the two ways
 * in, each finished on the same screen: a local model (picked with the system file dialog, then
 * linked or copied by the sidecar, by path; or downloaded from the catalogue) or a cloud key.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { CommandResult } from '@contract';
import { guarded } from '../lib/guard';
import { caughtText } from '../lib/words';
import { useConnectionStore } from './connection';
import { useVaultStore } from './vault';

type Status = CommandResult<'first_launch_status'>;

export const useOnboardingStore = defineStore('onboarding', () => {
  const status = ref<Status>();
  const busy = ref<'idle' | 'picking' | 'importing' | 'saving'>('idle');
  const error = ref<string>();
  const connection = useConnectionStore();
  const client = () => connection.require();

  async function refresh(): Promise<Status | undefined> {
    try {
      status.value = await client().invoke('first_launch_status', {});
    } catch (e) {
      error.value = caughtText(e);
    }
    return status.value;
  }

  async function step<T>(state: 'picking' | 'importing' | 'saving', action: () => Promise<T>): Promise<T | undefined> {
    busy.value = state;
    try {
      return await guarded(error, action);
    } finally {
      busy.value = 'idle';
    }
  }

  /** Opens the system file dialog for a GGUF file and has the sidecar take it into the models folder (linked, else copied). */
  async function pickLocalModel(): Promise<string | undefined> {
    // The runtime's library loads with the channel, after the first screen (main.ts).
    const picked = await step('picking', async () => (await import('@neutralinojs/lib')).os.showOpenDialog('Choose a GGUF model file', { filters: [{ name: 'GGUF models', extensions: ['gguf'] }, { name: 'All files', extensions: ['*'] }] }));
    const file = picked?.[0];
    if (file === undefined) return undefined;
    const model = await step('importing', () => client().invoke('import_model', { path: file, link: true }));
    return model?.id;
  }

  /** Saves a cloud key, creating the vault first when there is none (or unlocking it). The caller refreshes what it shows. */
  async function saveKey(input: { provider: string; key: string; passphrase: string; baseURL?: string }): Promise<boolean> {
    const vault = useVaultStore();
    const saved = await step('saving', async () => {
      const state = vault.status?.state ?? (await client().invoke('vault_status', {})).state;
      if (state === 'uninitialised') vault.set(await client().invoke('vault_init', { passphrase: input.passphrase }));
      else if (state === 'locked') vault.set(await client().invoke('vault_unlock', { passphrase: input.passphrase }));
      if (input.baseURL) await client().invoke('update_provider', { provider: input.provider, baseURL: input.baseURL });
      return client().invoke('set_secret', { provider: input.provider, secret: input.key });
    });
    return saved !== undefined;
  }

  return { status, busy, error, refresh, pickLocalModel, saveKey };
});
