/**
 * Local model files and Ollama's models: listing, import, delete, downloads and pulls as cancellable
 * tasks that report progress as events.
 */
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import nodePath from 'node:path';
import { EVENTS } from '../../protocol/contract.js';
import { CATALOGUE, type CatalogueEntry } from '../../models/catalogue.js';
import { checkDownloadURL, type DownloadPolicy } from '../../models/download-policy.js';
import { MODEL_FILE_NAME, type ModelStore } from '../../models/model-store.js';
import type { LocalLlamaProvider } from '../../providers/local-llama.js';
import type { OllamaProvider } from '../../providers/ollama.js';
import { ChannelError } from '../errors.js';
import type { Handlers } from '../dispatcher.js';
import type { EmitEvent } from '../run-streamer.js';

export interface ModelHandlerDeps {
  readonly store: ModelStore;
  readonly local: LocalLlamaProvider;
  /** The Ollama provider as currently configured (its host may change). */
  readonly ollama: () => OllamaProvider | undefined;
  readonly emit: EmitEvent;
  /** Where downloads may come from (the store's fetch applies it to every redirect too). */
  readonly downloads?: DownloadPolicy;
  /** The catalogue offered (default: the built-in one; see catalogueFromEnv). */
  readonly catalogue?: readonly CatalogueEntry[];
}


type ModelHandlers = Pick<Handlers, 'list_local_models' | 'model_catalogue' | 'import_model' | 'delete_model' | 'download_model' | 'cancel_task' | 'unload_model' | 'set_local_settings' | 'ollama_loaded' | 'ollama_pull' | 'ollama_delete'>;

/** Progress events at most every 100 ms per task: a fast download must not flood the channel. */
const PROGRESS_INTERVAL_MS = 100;

export function modelHandlers({ store, local, ollama, emit, downloads, catalogue = CATALOGUE }: ModelHandlerDeps): ModelHandlers {
  const tasks = new Map<string, AbortController>();

  function startTask(kind: 'download' | 'pull', work: (signal: AbortSignal, progress: (completed: number, total?: number, message?: string) => void) => Promise<void>): { taskId: string } {
    const taskId = randomUUID();
    const controller = new AbortController();
    tasks.set(taskId, controller);
    let last = 0;
    const progress = (completed: number, total?: number, message?: string): void => {
      const now = performance.now();
      if (now - last < PROGRESS_INTERVAL_MS) return;
      last = now;
      emit(EVENTS.task, { taskId, kind, status: 'running', completed, ...(total === undefined ? {} : { total }), ...(message === undefined ? {} : { message }) });
    };
    void work(controller.signal, progress).then(
      () => emit(EVENTS.task, { taskId, kind, status: 'done' }),
      (error: unknown) =>
        emit(EVENTS.task, { taskId, kind, status: controller.signal.aborted ? 'cancelled' : 'failed', message: error instanceof Error ? error.message : String(error) }),
    ).finally(() => tasks.delete(taskId));
    return { taskId };
  }

  const requireOllama = (): OllamaProvider => {
    const provider = ollama();
    if (provider === undefined) throw new ChannelError('not_found', 'Ollama is turned off under Providers.');
    return provider;
  };

  return {
    list_local_models: () => store.list().then((models) => models.map((m) => ({ ...m }))),
    model_catalogue: () => catalogue.map((entry) => ({ ...entry })),
    // The page may name any path: every answer about the source is the same whether it is missing,
    // a folder, unreadable or not a model, so import_model cannot be used to probe the file system.
    import_model: async ({ path: source, link }) => {
      const name = nodePath.basename(source);
      // Only names the store accepts, checked before the source path is touched.
      if (!MODEL_FILE_NAME.test(name)) throw new ChannelError('validation', `"${name}" is not a model file name: letters, digits, . _ - ( ) and spaces, ending in .gguf.`);
      if (await stat(nodePath.join(store.folder, name)).then(() => true, () => false)) {
        throw new ChannelError('validation', `A model named ${name} is already in the models folder.`);
      }
      try {
        return await store.import(source, link === undefined ? {} : { link });
      } catch {
        throw new ChannelError('validation', `Could not import ${source}: there is no readable GGUF model file there.`);
      }
    },
    delete_model: async ({ name }) => {
      if (local.loadedModel?.endsWith(`/${name}`) === true) await local.unload();
      await store.delete(name);
      return { ok: true };
    },
    download_model: async ({ url, name, sha256, sizeBytes }) => {
      await checkDownloadURL(url, downloads);
      return startTask('download', async (signal, progress) => {
        await store.download({ url, name, sha256, sizeBytes }, { signal, onProgress: (p) => progress(p.receivedBytes, p.totalBytes ?? undefined) });
      });
    },
    cancel_task: ({ taskId }) => {
      const controller = tasks.get(taskId);
      if (controller === undefined) throw new ChannelError('not_found', `No running task "${taskId}".`);
      controller.abort();
      return { ok: true };
    },
    unload_model: async () => (await local.unload(), { ok: true }),
    set_local_settings: ({ idleUnloadMinutes }) => (local.setIdleUnload(idleUnloadMinutes === null ? null : idleUnloadMinutes * 60_000), { ok: true }),
    ollama_loaded: () => requireOllama().loadedModels(),
    ollama_pull: ({ model }) => {
      const provider = requireOllama();
      return startTask('pull', async (signal, progress) => {
        for await (const p of provider.pull(model, { signal })) progress(p.completed ?? 0, p.total, p.status);
      });
    },
    ollama_delete: async ({ model }) => (await requireOllama().deleteModel(model), { ok: true }),
  };
}
