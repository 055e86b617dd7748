/** Handlers for running AI blocks and managing providers. */
import type { AIManager } from '../../core/manager.js';
import type { ProviderCatalog } from '../../providers/catalog.js';
import type { ProviderDescriptor } from '../../providers/registry.js';
import type { AIRequest } from '../../core/types.js';
import { originOf, transportOf, type Transport } from '../../core/origin.js';
import { retainRedactions } from '../../core/redact.js';
import { AIError } from '../../core/errors.js';
import type { AIRequestInput, CommandResult } from '../../protocol/contract.js';
import { ChannelError } from '../errors.js';
import type { Handlers } from '../dispatcher.js';
import { RunStreamer, type EmitEvent } from '../run-streamer.js';

export interface AIHandlerDeps {
  readonly manager: AIManager;
  readonly catalog: ProviderCatalog;
  readonly emit: EmitEvent;
  /** Frame interval for chunk coalescing. Default 16 ms. */
  readonly frameMs?: number;
}

/** Runs streaming at once; more are refused as `busy` (a stated bound on memory, see the dispatcher). */
export const MAX_CONCURRENT_RUNS = 8;

type AIHandlers = Pick<Handlers, 'call_ai_provider' | 'cancel_execution' | 'list_models' | 'list_providers' | 'test_connection' | 'update_provider'>;

export function aiHandlers({ manager, catalog, emit, frameMs }: AIHandlerDeps): AIHandlers {
  let running = 0;
  return {
    call_ai_provider: ({ provider, request }) => {
      const descriptor = catalog.find(provider);
      if (descriptor === undefined || !descriptor.enabled) throw new ChannelError('not_found', `Provider "${provider}" is not available. Enable it under Providers.`);
      if (running >= MAX_CONCURRENT_RUNS) {
        throw new AIError('busy', `${MAX_CONCURRENT_RUNS} runs are going already: wait for one to finish, or stop one.`, { provider });
      }
      let streamer: RunStreamer | undefined;
      const buffered: Parameters<RunStreamer['onPart']>[0][] = [];
      // A key locked, deleted or replaced mid-run stays known to the redactor until this run's last
      // event is sent and its History row written (the manager records it before `result` settles here).
      const releaseKeys = retainRedactions();
      running += 1;
      const release = (): void => {
        running -= 1;
        releaseKeys();
      };
      let execution: ReturnType<AIManager['execute']>;
      try {
        execution = manager.execute(provider, toAIRequest(request), {
          // Parts can arrive before we know the id only in theory (execute returns synchronously).
          onPart: (part) => (streamer === undefined ? buffered.push(part) : streamer.onPart(part)),
          // Retries come only after an awaited attempt, so the streamer exists by then.
          onRetry: (retry) => streamer?.onRetry(retry),
        });
      } catch (error) {
        release();
        throw error;
      }
      streamer = new RunStreamer(execution.id, emit, frameMs);
      for (const part of buffered) streamer.onPart(part);
      void execution.result.then((response) => streamer.finish(response)).finally(release);
      return { executionId: execution.id };
    },
    cancel_execution: ({ executionId }) => {
      if (!manager.cancel(executionId)) throw new ChannelError('not_found', `No running execution "${executionId}" (it may have finished).`);
      return { ok: true };
    },
    list_models: async () => {
      const all = await manager.listAllModels();
      return all.map((entry) => ({ ...entry, models: entry.models.map((m) => ({ ...m })) }));
    },
    list_providers: () => catalog.list().map(toProviderInfo),
    test_connection: async ({ provider }) => {
      const entry = (await manager.listAllModels()).find((e) => e.provider === provider);
      if (entry === undefined) throw new ChannelError('not_found', `Provider "${provider}" is not enabled.`);
      return { status: entry.status, models: entry.models.length };
    },
    update_provider: ({ provider, ...patch }) => {
      const descriptor = catalog.update(provider, patch);
      if (descriptor === undefined) throw new ChannelError('not_found', `Unknown provider "${provider}".`);
      return toProviderInfo(descriptor);
    },
  };
}

function toProviderInfo(descriptor: ProviderDescriptor): CommandResult<'list_providers'>[number] {
  return { ...descriptor, ...(descriptor.baseURL === undefined ? {} : { transport: transportOfURL(descriptor.baseURL) }) };
}

function transportOfURL(url: string): Transport | undefined {
  try {
    return transportOf(originOf(url));
  } catch {
    return undefined;
  }
}

/** The contract's request minus transport-only fields, in the core's shape. */
function toAIRequest(input: AIRequestInput): AIRequest {
  const { stream: _stream, ...rest } = input;
  void _stream;
  return rest;
}
