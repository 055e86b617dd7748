/**
 * Conversations: storage plus runs. Each send stores the user's message first (so nothing typed is
 * lost), assembles the history that fits the model's context, and runs it as an ordinary execution.
 * The answer is written to the database frame by frame, before each frame is sent to the window, so
 * a crash or a kill loses at most the text of the frame being written.
 */
import { randomUUID } from 'node:crypto';
import type { AIManager } from '../core/manager.js';
import type { AIRequest, AIResponse, FinishReason, ModelInfo } from '../core/types.js';
import { RunStreamer, type EmitEvent } from '../channel/run-streamer.js';
import { log } from '../log.js';
import {
  EVENTS,
  type CommandParams,
  type CommandResult,
  type ConversationMessageData,
  type ConversationSettings,
  type ConversationSettingsInput,
  type ErrorCode,
  type EventName,
  type EventPayload,
} from '../protocol/contract.js';
import type { ConversationRow, ConversationsRepository, ContextUsage, FrameSink, MessageStats, MessageStatus, PresetRow, PresetsRepository } from '../storage/conversations.js';
import { estimatingCounter, fitToContext, historyOf, titleFrom, type TokenCounter } from './history.js';
import { BUILT_IN_PRESETS, isBuiltIn } from './presets.js';
import { exportFileName, ImportError, parseConversationFile, toJsonExport, toMarkdownExport } from './transfer.js';
import { CodedError } from '../core/coded-error.js';

/** Typed failures of conversation commands, with words the UI shows as they are. */
export class ConversationError extends CodedError<Extract<ErrorCode, 'not_found' | 'validation' | 'busy'>> {
  override readonly name = 'ConversationError';
}

/** Real token counts for the in-process model (it loads the model if needed). */
export interface LocalTokenizer {
  tokenCounter(model: string, contextSize: number | undefined): Promise<TokenCounter>;
}

export interface ConversationServiceDeps {
  readonly repo: ConversationsRepository;
  /** Where streamed frames are appended. Default: `repo` itself (the app's synchronous=FULL connection). */
  readonly frames?: FrameSink;
  readonly presets: PresetsRepository;
  readonly manager: AIManager;
  /** Is this provider configured and enabled? */
  readonly providerEnabled: (provider: string) => boolean;
  readonly local?: LocalTokenizer;
  readonly emit: EmitEvent;
  readonly frameMs?: number;
  /** For `first_launch_status`. */
  readonly localModels: () => Promise<string[]>;
  readonly keys: () => string[];
  readonly vaultState: () => 'uninitialised' | 'locked' | 'unlocked';
  readonly newId?: () => string;
}

type Run = CommandResult<'send_message'>;
type Summary = CommandResult<'list_conversations'>[number];
type Detail = CommandResult<'get_conversation'>;
type Preset = CommandResult<'list_presets'>[number];

/** Deleted conversations are kept this long for undo, then purged at a start. */
const KEEP_DELETED_MS = 7 * 24 * 60 * 60 * 1000;
const INTERRUPTED = { code: 'incomplete_stream' as const, message: 'The app closed while this answer was being written; the text up to then was kept.', retryable: true };

export class ConversationService {
  /** Conversation id → its running execution. One answer at a time per conversation. */
  private readonly running = new Map<string, string>();
  private readonly contextLengths = new Map<string, number | null>();
  /** Answers whose end is still being written. */
  private readonly ending = new Set<Promise<void>>();

  constructor(private readonly deps: ConversationServiceDeps) {
    const interrupted = deps.repo.markInterrupted(INTERRUPTED);
    if (interrupted > 0) log('info', `${interrupted} answer(s) interrupted by the last shutdown were kept and marked failed.`);
    deps.repo.purgeDeleted(new Date(Date.now() - KEEP_DELETED_MS).toISOString());
  }

  list(query: string | undefined, limit = 100, offset = 0): Summary[] {
    return this.deps.repo.list(query, limit, offset);
  }

  get(id: string): Detail {
    const conversation = this.require(id);
    return { ...publicConversation(conversation), messages: this.deps.repo.messages(id), context: conversation.context };
  }

  async create(params: CommandParams<'create_conversation'>): Promise<CommandResult<'create_conversation'>> {
    const preset = params.presetId === undefined ? undefined : this.preset(params.presetId);
    let provider = params.provider ?? preset?.provider ?? undefined;
    let model = params.model ?? preset?.model ?? undefined;
    if (provider === undefined && model === undefined) {
      // Nothing chosen: the first launch's suggestion (a model in the models folder).
      const suggested = (await this.firstLaunchStatus()).suggested;
      provider = suggested?.provider;
      model = suggested?.model;
    }
    if (provider === undefined || model === undefined) {
      throw new ConversationError('validation', 'Choose a provider and a model for this conversation (no local model is installed yet).');
    }
    const at = new Date().toISOString();
    const settings = normaliseSettings(params.settings ?? preset?.settings);
    const row = this.deps.repo.create({
      id: this.newId(),
      title: params.title ?? preset?.name ?? 'New conversation',
      titleSet: params.title !== undefined,
      provider,
      model,
      settings,
      presetId: preset?.id ?? null,
      createdAt: at,
      updatedAt: at,
    });
    return publicConversation(row);
  }

  update(params: CommandParams<'update_conversation'>): CommandResult<'update_conversation'> {
    const { id, title, provider, model, settings } = params;
    const current = this.require(id);
    // Switching provider without a model would keep a model id the new provider does not have.
    if (provider !== undefined && provider !== current.provider && model === undefined) {
      throw new ConversationError('validation', 'Choose a model of the new provider as well.');
    }
    this.deps.repo.update(id, {
      ...(title === undefined ? {} : { title, titleSet: true }),
      ...(provider === undefined ? {} : { provider }),
      ...(model === undefined ? {} : { model }),
      ...(settings === undefined ? {} : { settings: normaliseSettings(settings) }),
    });
    return publicConversation(this.require(id));
  }

  delete(id: string): void {
    this.require(id);
    const running = this.running.get(id);
    if (running !== undefined) this.deps.manager.cancel(running);
    this.deps.repo.softDelete(id);
  }

  restore(id: string): CommandResult<'restore_conversation'> {
    if (!this.deps.repo.restore(id)) throw new ConversationError('not_found', 'That conversation cannot be restored (it was never deleted, or it has been purged).');
    return publicConversation(this.require(id));
  }

  async send(conversationId: string, content: string): Promise<Run> {
    const conversation = this.readyToRun(conversationId);
    const userMessage = this.deps.repo.appendMessage({ id: this.newId(), conversationId, role: 'user', content, status: 'complete' });
    if (!conversation.titleSet) {
      this.deps.repo.update(conversationId, { title: titleFrom(content), titleSet: true });
      this.deps.emit(EVENTS.conversation, { conversation: publicConversation(this.require(conversationId)) });
    }
    return { userMessage, ...(await this.answer(conversationId)) };
  }

  async regenerate(conversationId: string): Promise<Run> {
    this.readyToRun(conversationId);
    const messages = this.deps.repo.messages(conversationId);
    const last = messages.at(-1);
    if (last === undefined) throw new ConversationError('validation', 'There is nothing to regenerate yet: send a message first.');
    if (last.role === 'assistant') {
      if (!messages.some((m) => m.role === 'user')) throw new ConversationError('validation', 'There is no question to answer again.');
      this.deps.repo.deleteFrom(conversationId, last.id);
    }
    return this.answer(conversationId);
  }

  async editAndResend(conversationId: string, messageId: string, content: string): Promise<Run> {
    this.readyToRun(conversationId);
    const message = this.deps.repo.message(messageId);
    if (message === undefined || message.conversationId !== conversationId) throw new ConversationError('not_found', 'That message is no longer in this conversation.');
    if (message.role !== 'user') throw new ConversationError('validation', 'Only your own messages can be edited.');
    this.deps.repo.setContent(messageId, content);
    this.deps.repo.deleteFrom(conversationId, messageId, { keepMessage: true });
    const userMessage = this.deps.repo.message(messageId);
    return { ...(userMessage === undefined ? {} : { userMessage }), ...(await this.answer(conversationId)) };
  }

  export(id: string, format: 'markdown' | 'json'): CommandResult<'export_conversation'> {
    const conversation = this.require(id);
    const messages = this.deps.repo.messages(id);
    return format === 'json'
      ? { fileName: exportFileName(conversation.title, 'json'), mimeType: 'application/json', content: toJsonExport(conversation, messages) }
      : { fileName: exportFileName(conversation.title, 'md'), mimeType: 'text/markdown', content: toMarkdownExport(conversation, messages) };
  }

  import(content: string): CommandResult<'import_conversation'> {
    let file;
    try {
      file = parseConversationFile(content);
    } catch (error) {
      if (error instanceof ImportError) throw new ConversationError('validation', error.message);
      throw error;
    }
    const id = this.newId();
    const { conversation } = file;
    this.deps.repo.insertWhole(
      { id, title: conversation.title, titleSet: true, provider: conversation.provider, model: conversation.model, settings: normaliseSettings(conversation.settings), presetId: null, createdAt: conversation.createdAt, updatedAt: conversation.updatedAt },
      file.messages.map((m) => ({
        ...m,
        id: this.newId(),
        conversationId: id,
        executionId: null,
        // An answer exported mid-stream can never finish now.
        ...(m.status === 'streaming' ? { status: 'failed' as const, error: m.error ?? INTERRUPTED } : {}),
      })),
    );
    return publicConversation(this.require(id));
  }

  listPresets(): Preset[] {
    return [...BUILT_IN_PRESETS.map((p) => ({ ...p, builtIn: true })), ...this.deps.presets.list().map((p) => ({ ...p, builtIn: false }))];
  }

  savePreset(params: CommandParams<'save_preset'>): Preset {
    if (params.id !== undefined && isBuiltIn(params.id)) throw new ConversationError('validation', 'Presets that come with the app cannot be changed; save a copy under a new name instead.');
    if (params.id !== undefined && this.deps.presets.get(params.id) === undefined) throw new ConversationError('not_found', 'That preset no longer exists.');
    const preset: PresetRow = {
      id: params.id ?? this.newId(),
      name: params.name,
      provider: params.provider ?? null,
      model: params.model ?? null,
      settings: normaliseSettings(params.settings),
    };
    this.deps.presets.save(preset);
    return { ...preset, builtIn: false };
  }

  deletePreset(id: string): void {
    if (isBuiltIn(id)) throw new ConversationError('validation', 'Presets that come with the app cannot be deleted.');
    if (!this.deps.presets.delete(id)) throw new ConversationError('not_found', 'That preset no longer exists.');
  }

  async firstLaunchStatus(): Promise<CommandResult<'first_launch_status'>> {
    const localModels = await this.deps.localModels().catch(() => []);
    const first = localModels[0];
    return {
      localModels,
      keys: this.deps.keys(),
      vault: this.deps.vaultState(),
      conversations: this.deps.repo.count(),
      suggested: first === undefined || !this.deps.providerEnabled('local') ? null : { provider: 'local', model: first },
    };
  }

  /**
   * At shutdown, after the manager has stopped the runs: waits (boundedly) until their ends are
   * stored, so an answer stopped by quitting is kept as stopped, not found half-written next time.
   */
  async drain(timeoutMs = 2_000): Promise<void> {
    const all = Promise.allSettled([...this.ending]);
    await Promise.race([all, new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref())]);
  }

  // ---- runs -------------------------------------------------------------------------------

  private readyToRun(conversationId: string): ConversationRow {
    const conversation = this.require(conversationId);
    if (this.running.has(conversationId)) throw new ConversationError('busy', 'An answer is still being written in this conversation. Stop it first.');
    if (!this.deps.providerEnabled(conversation.provider)) {
      throw new ConversationError('not_found', `The provider "${conversation.provider}" is not available. Enable it under Providers, or switch this conversation to another one.`);
    }
    return conversation;
  }

  /** Answers the conversation as it stands: stores an empty streaming answer and starts the run. */
  private async answer(conversationId: string): Promise<Omit<Run, 'userMessage'>> {
    const conversation = this.require(conversationId);
    const { settings, provider, model } = conversation;
    // Claimed before the first await, so a second send in the meantime is refused.
    this.running.set(conversationId, '');
    try {
      const counter = await this.counterFor(provider, model, settings.contextSize);
      const fitted = fitToContext(settings.systemPrompt, historyOf(this.deps.repo.messages(conversationId)), counter, settings.maxTokens);
      const usage: ContextUsage = { tokensUsed: fitted.tokensUsed, contextSize: counter.contextSize, droppedMessages: fitted.droppedMessages, estimated: counter.estimated };
      const request: AIRequest = { model, messages: fitted.messages, ...requestSettings(settings), sessionKey: conversationId };
      const assistantId = this.newId();
      let streamer: RunStreamer | undefined;
      const execution = this.deps.manager.execute(provider, request, {
        conversationId,
        onStart: (executionId) => {
          this.deps.repo.appendMessage({ id: assistantId, conversationId, role: 'assistant', content: '', status: 'streaming', executionId, provider, model });
          streamer = new RunStreamer(executionId, this.persistingEmit(assistantId, executionId), this.deps.frameMs);
        },
        onPart: (part) => streamer?.onPart(part),
      });
      this.running.set(conversationId, execution.id);
      this.deps.repo.setContext(conversationId, usage);
      this.emitContext(conversationId, execution.id, usage);
      const ended = execution.result.then((response) => this.finish(conversationId, assistantId, execution.id, response, streamer));
      this.ending.add(ended);
      void ended.finally(() => this.ending.delete(ended));
      const assistantMessage = this.deps.repo.message(assistantId);
      if (assistantMessage === undefined) throw new Error('The answer could not be stored.');
      return { executionId: execution.id, assistantMessage };
    } catch (error) {
      this.running.delete(conversationId);
      throw error;
    }
  }

  /** Writes each frame to the database, then passes it on: the window never shows what is not stored. */
  private persistingEmit(messageId: string, executionId: string): EmitEvent {
    const emit = this.deps.emit;
    return <E extends EventName>(event: E, payload: EventPayload<E>): void => {
      if (event === EVENTS.chunk) {
        const { executionId: id, text } = payload as EventPayload<typeof EVENTS.chunk>;
        if (id === executionId) {
          try {
            if (this.deps.frames === undefined) this.deps.repo.appendText(messageId, text);
            else this.deps.frames.append(messageId, text);
          } catch (error) {
            // The run goes on; the final write at the end stores the whole text again.
            log('warn', `Could not store a frame of ${executionId}: ${error instanceof Error ? error.message : String(error)}`);
          }
        }
      }
      emit(event, payload);
    };
  }

  private finish(conversationId: string, messageId: string, executionId: string, response: AIResponse, streamer: RunStreamer | undefined): void {
    try {
      streamer?.finish(response);
      const message = this.deps.repo.finishMessage(messageId, {
        status: STATUS[response.finishReason],
        stats: statsOf(response),
        error: response.error === undefined ? null : { ...response.error },
        content: response.text,
      });
      this.deps.repo.touch(conversationId);
      const conversation = this.deps.repo.get(conversationId, { includeDeleted: true });
      if (conversation !== undefined && message !== undefined) {
        this.deps.emit(EVENTS.conversation, { conversation: publicConversation(conversation), message });
      }
    } catch (error) {
      log('warn', `Could not store the end of ${executionId}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      if (this.running.get(conversationId) === executionId) this.running.delete(conversationId);
    }
  }

  private emitContext(conversationId: string, executionId: string, usage: ContextUsage): void {
    const dropped = usage.droppedMessages;
    const trimmed =
      dropped > 0
        ? {
            droppedMessages: dropped,
            message:
              `This conversation is longer than the model's ${usage.contextSize === null ? '' : `${usage.contextSize}-token `}context, so ` +
              `${dropped === 1 ? 'the oldest message was' : `the ${dropped} oldest messages were`} left out of this request. The system prompt is always kept.`,
          }
        : undefined;
    this.deps.emit(EVENTS.context, { conversationId, executionId, usage, ...(trimmed === undefined ? {} : { trimmed }) });
  }

  /** The model's own tokenizer for local models; an estimate against the model's known context otherwise. */
  private async counterFor(provider: string, model: string, contextSize: number | undefined): Promise<TokenCounter> {
    if (provider === 'local' && this.deps.local !== undefined) {
      try {
        return await this.deps.local.tokenCounter(model, contextSize);
      } catch (error) {
        // The run itself reports a missing or broken model in words; counting just falls back.
        log('info', `Token count for ${model} falls back to an estimate: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return estimatingCounter(contextSize ?? (await this.knownContextLength(provider, model)));
  }

  private async knownContextLength(provider: string, model: string): Promise<number | null> {
    const key = `${provider}\u0000${model}`;
    if (this.contextLengths.has(key)) return this.contextLengths.get(key) ?? null;
    let models: ModelInfo[] = [];
    try {
      models = await this.deps.manager.provider(provider).listModels({ signal: AbortSignal.timeout(2_000) });
    } catch {
      // Unknown is fine: nothing is trimmed, the provider says if the context overflows.
    }
    const length = models.find((m) => m.id === model)?.contextLength ?? null;
    this.contextLengths.set(key, length);
    return length;
  }

  private require(id: string): ConversationRow {
    const conversation = this.deps.repo.get(id);
    if (conversation === undefined) throw new ConversationError('not_found', 'That conversation no longer exists.');
    return conversation;
  }

  private preset(id: string): PresetRow {
    const preset = BUILT_IN_PRESETS.find((p) => p.id === id) ?? this.deps.presets.get(id);
    if (preset === undefined) throw new ConversationError('not_found', 'That preset no longer exists.');
    return preset;
  }

  private newId(): string {
    return this.deps.newId?.() ?? randomUUID();
  }
}

const STATUS: Record<FinishReason, MessageStatus> = { stop: 'complete', length: 'complete', cancelled: 'cancelled', error: 'failed', incomplete: 'failed' };

function statsOf(response: AIResponse): MessageStats {
  return {
    timeToFirstTokenMs: response.timing.timeToFirstTokenMs ?? null,
    tokensPerSecond: response.timing.tokensPerSecond,
    inputTokens: response.usage.inputTokens,
    outputTokens: response.usage.outputTokens,
    totalMs: response.timing.totalMs,
    finishReason: response.finishReason,
  };
}

function publicConversation(row: ConversationRow): CommandResult<'create_conversation'> {
  const { id, title, provider, model, settings, presetId, createdAt, updatedAt } = row;
  return { id, title, provider, model, settings, presetId, createdAt, updatedAt };
}

/** Settings as stored: absent fields stay absent, the system prompt is always a string. */
function normaliseSettings(settings: ConversationSettingsInput | undefined): ConversationSettings {
  const { systemPrompt = '', ...rest } = settings ?? {};
  return Object.fromEntries(Object.entries({ systemPrompt, ...rest }).filter(([, v]) => v !== undefined)) as ConversationSettings;
}

function requestSettings(settings: ConversationSettings): Omit<AIRequest, 'model' | 'messages'> {
  const { temperature, maxTokens, topP, stop, contextSize } = settings;
  return {
    ...(temperature === undefined ? {} : { temperature }),
    ...(maxTokens === undefined ? {} : { maxTokens }),
    ...(topP === undefined ? {} : { topP }),
    ...(stop === undefined ? {} : { stop }),
    ...(contextSize === undefined ? {} : { contextSize }),
  };
}

export type { ConversationMessageData };
