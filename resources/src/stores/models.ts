/** Local model files, the catalogue, running downloads and pulls, and Ollama's loaded models. */
import { defineStore } from 'pinia';
import { reactive, ref } from 'vue';
import type { CommandResult, EventPayload, EVENTS } from '@contract';
import { useConnectionStore } from './connection';
import { guarded } from '../lib/guard';

type Task = EventPayload<typeof EVENTS.task> & { label: string };

export const useModelsStore = defineStore('models', () => {
  const local = ref<CommandResult<'list_local_models'>>([]);
  const catalogue = ref<CommandResult<'model_catalogue'>>([]);
  const ollamaLoaded = ref<CommandResult<'ollama_loaded'>>([]);
  const tasks = reactive(new Map<string, Task>());
  const error = ref<string>();
  const connection = useConnectionStore();
  const client = () => connection.require();

  const guard = async (action: () => Promise<unknown>): Promise<void> => void (await guarded(error, action));

  const refresh = () =>
    guard(async () => {
      [local.value, catalogue.value] = await Promise.all([client().invoke('list_local_models', {}), client().invoke('model_catalogue', {})]);
      ollamaLoaded.value = await client().invoke('ollama_loaded', {}).catch(() => []);
    });

  /** Progress events from the sidecar (wired in main.ts). */
  function onTask(event: EventPayload<typeof EVENTS.task>): void {
    const known = tasks.get(event.taskId);
    tasks.set(event.taskId, { ...known, ...event, label: known?.label ?? event.kind });
    if (event.status !== 'running') void refresh();
  }

  return {
    local,
    catalogue,
    ollamaLoaded,
    tasks,
    error,
    refresh,
    onTask,
    download: (entry: { url: string; id: string; name: string; sizeBytes?: number; sha256?: string | null }) =>
      guard(async () => {
        const { taskId } = await client().invoke('download_model', { url: entry.url, name: entry.id, ...(entry.sizeBytes ? { sizeBytes: entry.sizeBytes } : {}), ...(entry.sha256 ? { sha256: entry.sha256 } : {}) });
        tasks.set(taskId, { taskId, kind: 'download', status: 'running', label: entry.name });
      }),
    importFile: (path: string) => guard(async () => (await client().invoke('import_model', { path }), await refresh())),
    remove: (name: string) => guard(async () => (await client().invoke('delete_model', { name }), await refresh())),
    unload: () => guard(() => client().invoke('unload_model', {})),
    setIdleUnload: (minutes: number | null) => guard(() => client().invoke('set_local_settings', { idleUnloadMinutes: minutes })),
    cancel: (taskId: string) => guard(() => client().invoke('cancel_task', { taskId })),
    pull: (model: string) =>
      guard(async () => {
        const { taskId } = await client().invoke('ollama_pull', { model });
        tasks.set(taskId, { taskId, kind: 'pull', status: 'running', label: model });
      }),
    removeOllama: (model: string) => guard(async () => (await client().invoke('ollama_delete', { model }), await refresh())),
  };
});
