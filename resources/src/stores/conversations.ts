/**
 * Conversations: the list (searchable, newest first), the one open in the chat (or a draft not yet
 * stored), and the answer being written now. The sidecar stores everything; this store mirrors it
 * and applies the stream's chunks to the open answer as they arrive.
 */
import { defineStore } from 'pinia';
import { computed, reactive, ref } from 'vue';
import type { CommandResult, ConversationSettings, EventPayload, EVENTS } from '@contract';
import { messageStatsOf } from '@contract/names';
import type { RunHandle } from '../api/client';
import { guarded } from '../lib/guard';
import { caughtText } from '../lib/words';
import { useConnectionStore } from './connection';

type Summary = CommandResult<'list_conversations'>[number];
export type ConversationDetail = CommandResult<'get_conversation'>;
export type Message = ConversationDetail['messages'][number];
type Run = CommandResult<'send_message'>;
type Preset = CommandResult<'list_presets'>[number];

/** A new conversation before its first message: nothing is stored until something is sent. */
export interface Draft {
  provider: string;
  model: string;
  settings: ConversationSettings;
  presetId: string | null;
}

/** Where the answer being written is: waiting for its first token, loading a local model, or streaming. */
export type AnswerPhase = 'waiting' | 'loading' | 'streaming';
interface Live {
  readonly executionId: string;
  readonly messageId: string;
  readonly conversationId: string;
  phase: AnswerPhase;
  handle: RunHandle | undefined;
  readonly startedAt: number;
  /** The engine's latest retry before the first token, and when (ms since the epoch) its wait ends. */
  retry?: { readonly attempt: number; readonly message: string; readonly until: number } | undefined;
}

const PENDING_ANSWER = 'pending-answer';

/** A message shown while the sidecar stores the real one. */
function placeholder(conversationId: string, role: 'user' | 'assistant', content: string): Message {
  return {
    id: role === 'user' ? 'pending-user' : PENDING_ANSWER, conversationId, role, content, status: role === 'user' ? 'complete' : 'streaming',
    executionId: null, provider: null, model: null, stats: null, error: null, createdAt: new Date().toISOString(),
  };
}

export const useConversationsStore = defineStore('conversations', () => {
  const list = ref<Summary[]>([]);
  const query = ref('');
  const listStatus = ref<'idle' | 'loading' | 'error'>('idle');
  const listError = ref<string>();
  const current = ref<ConversationDetail>();
  const draft = ref<Draft>();
  const live = ref<Live>();
  const error = ref<string>();
  /**
   * What is typed in the message box, kept here rather than in the box: the first launch's welcome
   * screen takes the chat's place for a while (text typed into the window's first screen included),
   * and the text is there again when the chat comes back.
   */
  const composerText = ref('');
  /** The last deleted conversation, for a few seconds, so it can be brought back. */
  const deleted = ref<{ id: string; title: string }>();
  const loadingModel = ref<{ model: string; progress: number }>();
  /** "Oldest turns left out" notes, by the run they happened in. */
  const trimNotes = reactive(new Map<string, string>());
  const connection = useConnectionStore();
  const client = () => connection.require();
  let undoTimer: ReturnType<typeof setTimeout> | undefined;
  let stopWanted = false;

  const busy = computed(() => live.value !== undefined && live.value.conversationId === current.value?.id);
  const settings = computed<ConversationSettings>(() => draft.value?.settings ?? current.value?.settings ?? { systemPrompt: '' });
  const provider = computed(() => draft.value?.provider ?? current.value?.provider ?? '');
  const model = computed(() => draft.value?.model ?? current.value?.model ?? '');

  const guard = <T>(action: () => Promise<T>): Promise<T | undefined> => guarded(error, action);

  async function refreshList(): Promise<void> {
    // The list has its own error: refreshing it never hides the chat's.
    listStatus.value = 'loading';
    try {
      list.value = await client().invoke('list_conversations', { ...(query.value.trim() ? { query: query.value.trim() } : {}), limit: 200 });
      listStatus.value = 'idle';
      listError.value = undefined;
    } catch (e) {
      listError.value = caughtText(e);
      listStatus.value = 'error';
    }
  }

  async function open(id: string): Promise<boolean> {
    const detail = await guard(() => client().invoke('get_conversation', { id }));
    if (detail === undefined) return false;
    current.value = detail;
    draft.value = undefined;
    return true;
  }

  /** A fresh conversation to type into, on the given (or the last used) provider and model. */
  function startDraft(start: Partial<Draft> = {}): void {
    const last = current.value ?? list.value[0];
    draft.value = {
      provider: start.provider ?? last?.provider ?? '',
      model: start.model ?? last?.model ?? '',
      settings: start.settings ?? { systemPrompt: '' },
      presetId: start.presetId ?? null,
    };
    current.value = undefined;
  }

  /** Changes the provider, model or settings of the draft or of the open conversation. */
  async function configure(patch: { provider?: string; model?: string; settings?: ConversationSettings }): Promise<void> {
    if (draft.value !== undefined) {
      Object.assign(draft.value, patch);
      return;
    }
    const open = current.value;
    if (open === undefined) {
      // Chosen while start-up is still asking what there is (no first draft yet): the choice starts
      // the draft, so it is kept instead of silently dropped.
      startDraft(patch);
      return;
    }
    const updated = await guard(() => client().invoke('update_conversation', { id: open.id, ...patch }));
    if (updated !== undefined && current.value?.id === updated.id) Object.assign(current.value, updated);
  }

  /** A preset fills in its prompt and settings (and its provider and model, when it names them). */
  function applyPreset(preset: Preset): Promise<void> {
    if (draft.value !== undefined) draft.value.presetId = preset.id;
    return configure({ settings: { ...preset.settings }, ...(preset.provider ? { provider: preset.provider } : {}), ...(preset.model ? { model: preset.model } : {}) });
  }

  async function send(text: string): Promise<boolean> {
    if (busy.value) return false;
    const d = draft.value;
    if (d !== undefined) {
      const created = await guard(() =>
        client().invoke('create_conversation', { provider: d.provider, model: d.model, settings: d.settings, ...(d.presetId ? { presetId: d.presetId } : {}) }),
      );
      if (created === undefined) return false;
      current.value = { ...created, messages: [], context: null };
      draft.value = undefined;
    }
    const conversationId = current.value?.id;
    if (conversationId === undefined) return false;
    const started = await start(conversationId, current.value?.messages.length ?? 0, text, () => client().invoke('send_message', { conversationId, content: text }));
    void refreshList();
    return started;
  }

  async function regenerate(): Promise<void> {
    const open = current.value;
    if (open === undefined || busy.value) return;
    const index = open.messages.at(-1)?.role === 'assistant' ? open.messages.length - 1 : open.messages.length;
    await start(open.id, index, undefined, () => client().invoke('regenerate', { conversationId: open.id }));
  }

  async function editAndResend(messageId: string, content: string): Promise<void> {
    const open = current.value;
    const index = open?.messages.findIndex((m) => m.id === messageId) ?? -1;
    if (open === undefined || index < 0 || busy.value) return;
    await start(open.id, index, content, () => client().invoke('edit_and_resend', { conversationId: open.id, messageId, content }));
  }

  /**
   * Shows the new turn at once (the sidecar may first load a local model to count tokens), starts
   * the run, then swaps in the stored messages and streams the answer. If the run cannot start, the
   * conversation is shown as it was and the error in words.
   */
  async function start(conversationId: string, index: number, userText: string | undefined, call: () => Promise<Run>): Promise<boolean> {
    const messages = () => (current.value?.id === conversationId ? current.value.messages : undefined);
    const shown = [...(userText === undefined ? [] : [placeholder(conversationId, 'user', userText)]), placeholder(conversationId, 'assistant', '')];
    const replaced = messages()?.splice(index, Infinity, ...shown) ?? [];
    live.value = { executionId: '', messageId: PENDING_ANSWER, conversationId, phase: 'waiting', handle: undefined, startedAt: Date.now() };
    const run = await guard(call);
    if (run === undefined) {
      messages()?.splice(index, Infinity, ...replaced);
      live.value = undefined;
      stopWanted = false;
      return false;
    }
    messages()?.splice(index, Infinity, ...(run.userMessage ? [run.userMessage] : []), run.assistantMessage);
    follow(conversationId, run);
    if (stopWanted) {
      stopWanted = false;
      void stop();
    }
    return true;
  }

  /** Streams a started run's answer into its message. */
  function follow(conversationId: string, run: Run): void {
    const state: Live = { executionId: run.executionId, messageId: run.assistantMessage.id, conversationId, phase: live.value?.phase ?? 'waiting', handle: undefined, startedAt: live.value?.startedAt ?? Date.now() };
    live.value = state;
    const handle = client().track(run.executionId);
    live.value.handle = handle;
    const answer = () => current.value?.messages.find((m) => m.id === state.messageId);
    handle
      .onChunk((text) => {
        if (live.value?.executionId === state.executionId) {
          live.value.phase = 'streaming';
          live.value.retry = undefined;
        }
        loadingModel.value = undefined;
        const message = answer();
        if (message !== undefined) message.content += text;
      })
      .onRetry(({ attempt, delayMs, message }) => {
        if (live.value?.executionId === state.executionId) live.value.retry = { attempt, message, until: Date.now() + delayMs };
      })
      .onDone(({ response }) => settle(state, response.finishReason === 'cancelled' ? 'cancelled' : 'complete', response))
      .onError(({ response, error: failure }) => settle(state, 'failed', response, failure));
  }

  type Response = EventPayload<typeof EVENTS.done>['response'];
  function settle(state: Live, status: Message['status'], response: Response, failure?: Message['error']): void {
    if (live.value?.executionId === state.executionId) live.value = undefined;
    loadingModel.value = undefined;
    const message = current.value?.messages.find((m) => m.id === state.messageId);
    if (message === undefined || message.status !== 'streaming') return;
    message.status = status;
    message.error = failure ?? null;
    message.stats = messageStatsOf(response);
  }

  async function stop(): Promise<void> {
    const running = live.value;
    if (running === undefined) return;
    // Not started yet: stop as soon as it has an id.
    if (running.executionId === '') return void (stopWanted = true);
    await guard(() => client().invoke('cancel_execution', { executionId: running.executionId }));
  }

  async function rename(id: string, title: string): Promise<void> {
    const updated = await guard(() => client().invoke('update_conversation', { id, title }));
    if (updated === undefined) return;
    if (current.value?.id === id) current.value.title = updated.title;
    await refreshList();
  }

  /** Deletes at once and offers Undo for 10 seconds. */
  async function remove(id: string): Promise<void> {
    const title = list.value.find((c) => c.id === id)?.title ?? current.value?.title ?? '';
    const done = await guard(() => client().invoke('delete_conversation', { id }));
    if (done === undefined) return;
    deleted.value = { id, title };
    clearTimeout(undoTimer);
    undoTimer = setTimeout(() => (deleted.value = undefined), 10_000);
    if (current.value?.id === id) startDraft();
    await refreshList();
  }

  async function undoDelete(): Promise<void> {
    const gone = deleted.value;
    if (gone === undefined) return;
    deleted.value = undefined;
    const back = await guard(() => client().invoke('restore_conversation', { id: gone.id }));
    if (back === undefined) return;
    await refreshList();
    await open(back.id);
  }

  const exportCurrent = (format: 'markdown' | 'json') => {
    const id = current.value?.id;
    return id === undefined ? Promise.resolve(undefined) : guard(() => client().invoke('export_conversation', { id, format }));
  };

  async function importText(content: string): Promise<boolean> {
    const imported = await guard(() => client().invoke('import_conversation', { content }));
    if (imported === undefined) return false;
    await refreshList();
    return open(imported.id);
  }

  /** `sim.conversation`: a stored change (title, time, an answer's final state). */
  function onStored(event: EventPayload<typeof EVENTS.conversation>): void {
    const row = list.value.find((c) => c.id === event.conversation.id);
    if (row !== undefined) Object.assign(row, { title: event.conversation.title, updatedAt: event.conversation.updatedAt });
    const open = current.value;
    if (open?.id !== event.conversation.id) return;
    open.title = event.conversation.title;
    const message = event.message;
    if (message === undefined) return;
    const index = open.messages.findIndex((m) => m.id === message.id);
    // The stream's own text is kept while it is still being written; the stored one wins at the end.
    if (index >= 0 && !(message.status === 'streaming' && open.messages[index]?.status === 'streaming')) open.messages.splice(index, 1, message);
  }

  /** `sim.context`: tokens used against the context, and a note when old turns were left out. */
  function onContext(event: EventPayload<typeof EVENTS.context>): void {
    if (current.value?.id === event.conversationId) current.value.context = event.usage;
    if (event.trimmed) trimNotes.set(event.executionId, event.trimmed.message);
  }

  function onModelLoad(event: { model: string; progress: number }): void {
    loadingModel.value = event.progress >= 1 ? undefined : event;
    if (live.value !== undefined && live.value.phase !== 'streaming') live.value.phase = event.progress >= 1 ? 'waiting' : 'loading';
  }

  return {
    composerText,
    list, query, listStatus, listError, current, draft, live, error, deleted, loadingModel, trimNotes, busy, settings, provider, model,
    refreshList, open, startDraft, configure, applyPreset, send, regenerate, editAndResend, stop, rename, remove, undoDelete, exportCurrent, importText,
    onStored, onContext, onModelLoad,
  };
});
