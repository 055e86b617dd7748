/**
 * Conversations: their storage, and the commands that change them. Each send stores the user's
 * message first (so nothing typed is lost), then hands the conversation to the runner, which fits
 * its history to the model's context and streams the answer into the database and the window.
 */
import { randomUUID } from 'node:crypto';
import type { AIManager } from '../core/manager.js';
import type { EmitEvent } from '../channel/run-streamer.js';
import { log } from '../log.js';
import { EVENTS, type CommandParams, type CommandResult, type ConversationSettings, type ConversationSettingsInput } from '../protocol/contract.js';
import { publicConversation, type ConversationRow, type ConversationsRepository, type FrameSink, type PresetRow, type PresetsRepository } from '../storage/conversations.js';
import { ConversationError } from './errors.js';
import { titleFrom } from './history.js';
import { BUILT_IN_PRESETS, isBuiltIn } from './presets.js';
import { ConversationRunner, type LocalTokenizer } from './runner.js';
import { exportFileName, ImportError, parseConversationFile, toJsonExport, toMarkdownExport } from './transfer.js';

export { ConversationError } from './errors.js';
export type { LocalTokenizer } from './runner.js';

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
  private readonly runner: ConversationRunner;

  constructor(private readonly deps: ConversationServiceDeps) {
    this.runner = new ConversationRunner({
      repo: deps.repo,
      frames: deps.frames,
      manager: deps.manager,
      local: deps.local,
      emit: deps.emit,
      frameMs: deps.frameMs,
      newId: () => this.newId(),
    });
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
    this.runner.cancel(id);
    this.deps.repo.softDelete(id);
  }

  restore(id: string): CommandResult<'restore_conversation'> {
    if (!this.deps.repo.restore(id)) throw new ConversationError('not_found', 'That conversation cannot be restored (it was never deleted, or it has been purged).');
    return publicConversation(this.require(id));
  }

  send(conversationId: string, content: string): Run {
    const conversation = this.readyToRun(conversationId);
    const userMessage = this.deps.repo.appendMessage({ id: this.newId(), conversationId, role: 'user', content, status: 'complete' });
    if (!conversation.titleSet) {
      this.deps.repo.update(conversationId, { title: titleFrom(content), titleSet: true });
      this.deps.emit(EVENTS.conversation, { conversation: publicConversation(this.require(conversationId)) });
    }
    return { userMessage, ...this.runner.answer(this.require(conversationId)) };
  }

  regenerate(conversationId: string): Run {
    this.readyToRun(conversationId);
    const messages = this.deps.repo.messages(conversationId);
    const last = messages.at(-1);
    if (last === undefined) throw new ConversationError('validation', 'There is nothing to regenerate yet: send a message first.');
    if (last.role === 'assistant') {
      if (!messages.some((m) => m.role === 'user')) throw new ConversationError('validation', 'There is no question to answer again.');
      this.deps.repo.deleteFrom(conversationId, last.id);
    }
    return this.runner.answer(this.require(conversationId));
  }

  editAndResend(conversationId: string, messageId: string, content: string): Run {
    this.readyToRun(conversationId);
    const message = this.deps.repo.message(messageId);
    if (message === undefined || message.conversationId !== conversationId) throw new ConversationError('not_found', 'That message is no longer in this conversation.');
    if (message.role !== 'user') throw new ConversationError('validation', 'Only your own messages can be edited.');
    this.deps.repo.setContent(messageId, content);
    this.deps.repo.deleteFrom(conversationId, messageId, { keepMessage: true });
    const userMessage = this.deps.repo.message(messageId);
    return { ...(userMessage === undefined ? {} : { userMessage }), ...this.runner.answer(this.require(conversationId)) };
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
  drain(timeoutMs?: number): Promise<void> {
    return this.runner.drain(timeoutMs);
  }

  private readyToRun(conversationId: string): ConversationRow {
    const conversation = this.require(conversationId);
    if (this.runner.isRunning(conversationId)) throw new ConversationError('busy', 'An answer is still being written in this conversation. Stop it first.');
    if (!this.deps.providerEnabled(conversation.provider)) {
      throw new ConversationError('not_found', `The provider "${conversation.provider}" is not available. Enable it under Providers, or switch this conversation to another one.`);
    }
    return conversation;
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

/** Settings as stored: absent fields stay absent, the system prompt is always a string. */
function normaliseSettings(settings: ConversationSettingsInput | undefined): ConversationSettings {
  const { systemPrompt = '', ...rest } = settings ?? {};
  return Object.fromEntries(Object.entries({ systemPrompt, ...rest }).filter(([, v]) => v !== undefined)) as ConversationSettings;
}
