/** The executions log, newest first, and the one opened for reading. */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { CommandResult } from '@contract';
import { useConnectionStore } from './connection';

export const useHistoryStore = defineStore('history', () => {
  const items = ref<CommandResult<'list_executions'>>([]);
  const open = ref<CommandResult<'get_execution'>>();
  const status = ref<'idle' | 'loading' | 'error'>('idle');
  const error = ref<string>();
  const connection = useConnectionStore();

  async function load(): Promise<void> {
    status.value = 'loading';
    try {
      items.value = await connection.require().invoke('list_executions', { limit: 100 });
      status.value = 'idle';
    } catch (e) {
      error.value = e instanceof Error ? e.message : String(e);
      status.value = 'error';
    }
  }

  async function show(id: string): Promise<void> {
    open.value = await connection.require().invoke('get_execution', { id });
  }

  return { items, open, status, error, load, show, close: () => (open.value = undefined) };
});
