/**
 * The composition root: storage, vault, providers, the AIManager and the command handlers, built in
 * that order and released in reverse. No transport here: `main.ts` wires it to Neutralino, tests may
 * wire it to anything that carries the contract's messages.
 */
import { AIManager } from './core/manager.js';
import { AIError } from './core/errors.js';
import type { OriginKeySource } from './core/origin.js';
import { aiHandlers } from './channel/handlers/ai.js';
import { historyHandlers, type HistoryService } from './channel/handlers/history.js';
import { conversationHandlers } from './channel/handlers/conversations.js';
import { throttleProgress } from './channel/progress-throttle.js';
import { vaultHandlers, type VaultService } from './channel/handlers/vault.js';
import type { Handlers } from './channel/dispatcher.js';
import type { EmitEvent } from './channel/run-streamer.js';
import { log } from './log.js';
import { EVENTS, PROTOCOL_VERSION, WORKFLOW_COMMANDS } from './protocol/contract.js';
import { defaultOrigin, MemoryProviderSettings, ProviderCatalog, type ProviderSettingsStore } from './providers/catalog.js';
import { LocalLlamaProvider } from './providers/local-llama.js';
import { OllamaProvider } from './providers/ollama.js';
import { modelHandlers } from './channel/handlers/models.js';
import { workflowHandlers } from './channel/handlers/workflows.js';
import { deferredHandlers } from './channel/deferred-handlers.js';
import { lazyModule } from './core/lazy-module.js';
import { ModelStore } from './models/model-store.js';
import { mirrorFromEnv, policyFetch } from './models/download-policy.js';
import { catalogueFromEnv } from './models/catalogue.js';
import { openDatabase, type SqliteDatabase } from './storage/database.js';
import { dataPaths, resolveDataLocation, restrictNewFileModes } from './storage/paths.js';
import { ExecutionsRepository, ProviderSettingsRepository, SecretsRepository, VaultMetaRepository } from './storage/repositories.js';
import { ConversationsRepository, FrameWriter, PresetsRepository } from './storage/conversations.js';
import { ConversationService } from './conversations/service.js';
import { VaultError } from './vault/errors.js';
import { Vault } from './vault/vault.js';

export const SIDECAR_VERSION = '0.1.0';

const WORKFLOW_COMMAND_NAMES = Object.keys(WORKFLOW_COMMANDS) as (keyof typeof WORKFLOW_COMMANDS)[];

export interface SidecarOptions {
  /** The app folder (Neutralino's NL_PATH): where a `portable` marker is looked for. */
  readonly appDir: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Sends an event to the window(s). */
  readonly emit: EmitEvent;
  /** Chunk coalescing interval. Default 16 ms. */
  readonly frameMs?: number;
}

export interface Sidecar {
  readonly handlers: Handlers;
  readonly info: { dataDir: string; readOnly: boolean; storageError: string | null };
  /** Warms llama.cpp's backend when local models are in use (see main.ts); says whether it did. */
  warmUpLocal(): Promise<boolean>;
  dispose(): Promise<void>;
}

interface Storage {
  readonly db: SqliteDatabase | undefined;
  readonly readOnly: boolean;
  readonly error: string | null;
}

function openStorage(file: string): Storage {
  try {
    const { db, readOnly } = openDatabase(file);
    return { db, readOnly, error: readOnly ? 'The data folder is read-only: nothing will be saved this session.' : null };
  } catch (error) {
    // A damaged database must not take local models down with it.
    const message = error instanceof Error ? error.message : String(error);
    log('error', message);
    return { db: undefined, readOnly: true, error: message };
  }
}

export function createSidecar(options: SidecarOptions): Sidecar {
  restrictNewFileModes();
  const location = resolveDataLocation({ appDir: options.appDir, ...(options.env === undefined ? {} : { env: options.env }) });
  const paths = dataPaths(location.dataDir);
  const storage = openStorage(paths.database);
  const { db } = storage;
  let catalog: ProviderCatalog | undefined;
  const vault = db
    ? new Vault(new VaultMetaRepository(db), new SecretsRepository(db), {
        onChange: (status) => options.emit(EVENTS.vault, status),
        // Locking drops the SDK clients too: they hold the key they were built with.
        onLock: () => catalog?.rebuild(),
        legacyOrigin: defaultOrigin,
      })
    : undefined;
  const history = db ? new ExecutionsRepository(db) : undefined;
  const manager = new AIManager({
    onExecutionEnd: (record) => {
      try {
        history?.record(record);
      } catch (error) {
        log('warn', `Could not record execution ${record.id}: ${error instanceof Error ? error.message : String(error)}`);
      }
    },
  });
  const settings: ProviderSettingsStore = db ? new ProviderSettingsRepository(db) : new MemoryProviderSettings();
  const keys: OriginKeySource = vault ?? { keyFor: () => Promise.reject(new AIError('locked', `Keys are unavailable: ${storage.error ?? 'no storage'}`)) };
  const local = new LocalLlamaProvider({
    modelsDir: paths.models,
    threadCacheFile: paths.threadCache,
    onLoadProgress: throttleProgress((model, progress) => options.emit(EVENTS.modelLoad, { model, progress })),
  });
  const providers = new ProviderCatalog(manager, settings, { keys, createLocal: () => local });
  catalog = providers;
  const downloads = { mirrorOrigin: mirrorFromEnv(options.env ?? process.env) };
  const info = { dataDir: location.dataDir, readOnly: storage.readOnly, storageError: storage.error };
  const frames = db && !storage.readOnly ? openFrameWriter(paths.database) : undefined;
  const conversations = db
    ? new ConversationService({
        repo: new ConversationsRepository(db),
        ...(frames === undefined ? {} : { frames }),
        presets: new PresetsRepository(db),
        manager,
        providerEnabled: (name) => catalog.find(name)?.enabled === true,
        local,
        emit: options.emit,
        ...(options.frameMs === undefined ? {} : { frameMs: options.frameMs }),
        localModels: async () => (await local.listModels()).map((m) => m.id),
        keys: () => vault?.listSecrets().map((s) => s.provider) ?? [],
        vaultState: () => vault?.status().state ?? 'uninitialised',
      })
    : undefined;
  // Workflows load on their first command (executor, validator, store): a start that serves a chat
  // or a settings page never pays for them. An execution a crash left running is marked interrupted
  // then, before any workflow command can read it.
  const workflows = lazyModule(async () => (await import('./app-workflows.js')).createWorkflowService({ db, manager, emit: options.emit, frameMs: options.frameMs }));
  const workflowCommands = lazyModule(async () => workflowHandlers(await workflows.load()));
  const handlers: Handlers = {
    hello: () => ({ protocolVersion: PROTOCOL_VERSION, sidecarVersion: SIDECAR_VERSION, ...info }),
    ...aiHandlers({ manager, catalog: providers, emit: options.emit, ...(options.frameMs === undefined ? {} : { frameMs: options.frameMs }) }),
    ...vaultHandlers(vault ?? unavailableVault(info.storageError), options.emit, (provider) => providers.keyOrigin(provider)),
    ...historyHandlers(history ?? emptyHistory),
    ...conversationHandlers(conversations, info.storageError),
    ...modelHandlers({
      store: new ModelStore(paths.models, policyFetch(downloads)),
      downloads,
      catalogue: catalogueFromEnv(options.env ?? process.env, (message) => log('warn', message)),
      local,
      ollama: () => {
        const provider = manager.providerNames().includes('ollama') ? manager.provider('ollama') : undefined;
        return provider instanceof OllamaProvider ? provider : undefined;
      },
      emit: options.emit,
    }),
    ...deferredHandlers(WORKFLOW_COMMAND_NAMES, workflowCommands.load),
  };
  // One Stop for both kinds of run: a workflow execution id stops every block of it.
  const cancelRun = handlers.cancel_execution;
  handlers.cancel_execution = (params) => (workflows.current?.cancel(params.executionId) ? { ok: true } : cancelRun(params));
  return {
    handlers,
    info,
    // Only for someone with local models: the backend keeps ~50 MiB resident, which an app used
    // with cloud models alone should not carry while idle.
    warmUpLocal: async () => {
      if ((await local.listModels()).length === 0) return false;
      await local.warmUp();
      return true;
    },
    dispose: async () => {
      await workflows.current?.shutdown();
      await manager.dispose();
      await conversations?.drain();
      frames?.close();
      vault?.dispose();
      db?.close();
    },
  };
}

/** Without it, frames go through the main connection: slower on slow disks, never lost. */
function openFrameWriter(file: string): FrameWriter | undefined {
  try {
    return FrameWriter.open(file);
  } catch (error) {
    log('warn', `Streaming answers are written on the main connection: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

const emptyHistory: HistoryService = { list: () => [], get: () => undefined };

/** Without storage there is no vault: every vault command says why. */
function unavailableVault(reason: string | null): VaultService {
  const fail = (): never => {
    throw new VaultError('storage', `The vault is unavailable: ${reason ?? 'no storage'}.`);
  };
  return {
    status: () => ({ state: 'uninitialised', autoLockMinutes: null }),
    init: fail,
    unlock: fail,
    lock: fail,
    changePassphrase: fail,
    setAutoLock: fail,
    setSecret: fail,
    confirmOrigin: fail,
    deleteSecret: fail,
    listSecrets: () => [],
  };
}
