/** Presets: a system prompt with settings (and optionally a provider and model) to start a conversation from. */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { CommandParams, CommandResult } from '@contract';
import { caughtText } from '../lib/words';
import { useConnectionStore } from './connection';

export type Preset = CommandResult<'list_presets'>[number];

export const usePresetsStore = defineStore('presets', () => {
  const items = ref<Preset[]>([]);
  const error = ref<string>();
  const connection = useConnectionStore();

  async function refresh(): Promise<void> {
    try {
      items.value = await connection.require().invoke('list_presets', {});
    } catch (e) {
      error.value = caughtText(e);
    }
  }

  async function save(preset: CommandParams<'save_preset'>): Promise<Preset | undefined> {
    error.value = undefined;
    try {
      const saved = await connection.require().invoke('save_preset', preset);
      await refresh();
      return saved;
    } catch (e) {
      error.value = caughtText(e);
      return undefined;
    }
  }

  return { items, error, refresh, save, find: (id: string | null) => items.value.find((p) => p.id === id) };
});
