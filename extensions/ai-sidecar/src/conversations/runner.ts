/**
 * Runs a conversation's answer: fits its history to the model's context (real token counts for the
 * in-process model, an estimate otherwise), starts an ordinary execution, and stores the answer as it
 * streams: each frame is written to the database before it is sent to the window, so a crash or a
 * kill loses at most the frame being written. One answer at a time per conversation.
 */
import type { AIManager } from '../core/manager.js';
import type { AIRequest, AIResponse, FinishReason, ModelInfo } from '../core/types.js';
import { RunStreamer, type EmitEvent } from '../channel/run-streamer.js';
import { log } from '../log.js';
import { EVENTS, messageStatsOf, type ConversationMessageData, type ConversationSettings, type EventName, type EventPayload } from '../protocol/contract.js';
import { publicConversation, type ContextUsage, type ConversationRow, type ConversationsRepository, type FrameSink, type MessageStats, type MessageStatus } from '../storage/conversations.js';
import { ConversationError } from './errors.js';
import { estimatingCounter, fitToContext, historyOf, type TokenCounter } from './history.js';

/** Real token counts for the in-process model (it loads the model if needed). */
export interface LocalTokenizer {
  tokenCounter(model: string, contextSize: number | undefined, signal?: AbortSignal): Promise<TokenCounter>;
}

export interface RunnerDeps {
  readonly repo: ConversationsRepository;
  /** Where streamed frames are appended. Default: `repo` itself (the app's synchronous=FULL connection). */
  readonly frames?: FrameSink | undefined;
  readonly manager: AIManager;
  readonly local?: LocalTokenizer | undefined;
  readonly emit: EmitEvent;
  readonly frameMs?: number | undefined;
  readonly newId: () => string;
}

export interface StartedAnswer {
  readonly executionId: string;
  readonly assistantMessage: ConversationMessageData;
}

export class ConversationRunner {
  /** Conversation id → its running execution. */
  private readonly running = new Map<string, string>();
  private readonly contextLengths = new Map<string, number | null>();
  /** Answers whose end is still being written. */
  private readonly ending = new Set<Promise<void>>();

  constructor(private readonly deps: RunnerDeps) {}

  isRunning(conversationId: string): boolean {
    return this.running.has(conversationId);
  }

  /** Stops the conversation's answer, if one is being written. */
  cancel(conversationId: string): void {
    const executionId = this.running.get(conversationId);
    if (executionId !== undefined) this.deps.manager.cancel(executionId);
  }

  /**
   * At shutdown, after the manager has stopped the runs: waits (boundedly) until their ends are
   * stored, so an answer stopped by quitting is kept as stopped, not found half-written next time.
   */
  async drain(timeoutMs = 2_000): Promise<void> {
    const all = Promise.allSettled([...this.ending]);
    await Promise.race([all, new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref())]);
  }

  /**
   * Answers the conversation as it stands: stores an empty streaming answer and starts the run at
   * once. The history is fitted inside the run (it may load a local model), so Stop works from the
   * start and the reply carries the execution id without waiting for the model.
   */
  answer(conversation: ConversationRow): StartedAnswer {
    const { id: conversationId, settings, provider, model } = conversation;
    if (this.running.has(conversationId)) throw new ConversationError('busy', 'An answer is still being written in this conversation. Stop it first.');
    const assistantId = this.deps.newId();
    let executionId = '';
    let streamer: RunStreamer | undefined;
    const base: AIRequest = { model, messages: [], ...requestSettings(settings), sessionKey: conversationId };
    const execution = this.deps.manager.execute(provider, base, {
      conversationId,
      onStart: (id) => {
        executionId = id;
        this.deps.repo.appendMessage({ id: assistantId, conversationId, role: 'assistant', content: '', status: 'streaming', executionId: id, provider, model });
        streamer = new RunStreamer(id, this.persistingEmit(assistantId, id), this.deps.frameMs);
      },
      onPart: (part) => streamer?.onPart(part),
      onRetry: (retry) => streamer?.onRetry(retry),
      prepare: async (request, signal) => {
        const counter = await this.counterFor(provider, model, settings.contextSize, signal);
        signal.throwIfAborted();
        // The answer being written is not history: historyOf leaves streaming answers out.
        const fitted = fitToContext(settings.systemPrompt, historyOf(this.deps.repo.messages(conversationId)), counter, settings.maxTokens);
        const usage: ContextUsage = { tokensUsed: fitted.tokensUsed, contextSize: counter.contextSize, droppedMessages: fitted.droppedMessages, estimated: counter.estimated };
        this.deps.repo.setContext(conversationId, usage);
        this.emitContext(conversationId, executionId, usage);
        return { ...request, messages: fitted.messages };
      },
    });
    this.running.set(conversationId, execution.id);
    const ended = execution.result.then((response) => this.finish(conversationId, assistantId, execution.id, response, streamer));
    this.ending.add(ended);
    void ended.finally(() => this.ending.delete(ended));
    const assistantMessage = this.deps.repo.message(assistantId);
    if (assistantMessage === undefined) throw new Error('The answer could not be stored.');
    return { executionId: execution.id, assistantMessage };
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
      // A conversation deleted meanwhile is not announced again (its answer is still stored, for undo).
      const conversation = this.deps.repo.get(conversationId);
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
  private async counterFor(provider: string, model: string, contextSize: number | undefined, signal: AbortSignal): Promise<TokenCounter> {
    if (provider === 'local' && this.deps.local !== undefined) {
      try {
        return await this.deps.local.tokenCounter(model, contextSize, signal);
      } catch (error) {
        if (signal.aborted) throw error;
        // The run itself reports a missing or broken model in words; counting just falls back.
        log('info', `Token count for ${model} falls back to an estimate: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return estimatingCounter(contextSize ?? (await this.knownContextLength(provider, model, signal)));
  }

  private async knownContextLength(provider: string, model: string, signal: AbortSignal): Promise<number | null> {
    const key = `${provider}\u0000${model}`;
    if (this.contextLengths.has(key)) return this.contextLengths.get(key) ?? null;
    let models: ModelInfo[] = [];
    try {
      models = await this.deps.manager.provider(provider).listModels({ signal: AbortSignal.any([signal, AbortSignal.timeout(2_000)]) });
    } catch {
      // Unknown is fine: nothing is trimmed, the provider says if the context overflows.
      if (signal.aborted) return null;
    }
    const length = models.find((m) => m.id === model)?.contextLength ?? null;
    this.contextLengths.set(key, length);
    return length;
  }
}

const STATUS: Record<FinishReason, MessageStatus> = { stop: 'complete', length: 'complete', cancelled: 'cancelled', error: 'failed', incomplete: 'failed' };

const statsOf = (response: AIResponse): MessageStats => messageStatsOf(response);

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
