/**
 * Conversations, their messages and the user's presets, over SQLite. Answers are written as they
 * stream: one `appendText` per frame (a single UPDATE that concatenates in place, so a long answer
 * costs the frame's text, not the whole answer, per write).
 */
import Database from 'better-sqlite3';
import { SQLITE_OPTIONS, type SqliteDatabase } from './database.js';
import type { ConversationData, ConversationMessageData, ConversationSettings, ErrorData } from '../protocol/contract.js';

export type MessageStatus = ConversationMessageData['status'];
export type MessageStats = NonNullable<ConversationMessageData['stats']>;
export type ContextUsage = { tokensUsed: number; contextSize: number | null; droppedMessages: number; estimated: boolean };

export interface ConversationRow extends ConversationData {
  /** False until the user (or the first message) named it: the first message then names it. */
  readonly titleSet: boolean;
  readonly context: ContextUsage | null;
  readonly deletedAt: string | null;
}

export interface ConversationListItem {
  readonly id: string;
  readonly title: string;
  readonly provider: string;
  readonly model: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly messageCount: number;
  readonly snippet: string | null;
}

export interface NewMessage {
  readonly id: string;
  readonly conversationId: string;
  readonly role: 'user' | 'assistant';
  readonly content: string;
  readonly status: MessageStatus;
  readonly executionId?: string | null;
  readonly provider?: string | null;
  readonly model?: string | null;
  readonly stats?: MessageStats | null;
  readonly error?: ErrorData | null;
  readonly createdAt?: string;
}

export interface PresetRow {
  readonly id: string;
  readonly name: string;
  readonly provider: string | null;
  readonly model: string | null;
  readonly settings: ConversationSettings;
}

interface RawConversation {
  id: string;
  title: string;
  title_set: number;
  provider: string;
  model: string;
  settings: string;
  preset_id: string | null;
  context: string | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

interface RawMessage {
  id: string;
  conversation_id: string;
  position: number;
  role: 'user' | 'assistant';
  content: string;
  status: MessageStatus;
  execution_id: string | null;
  provider: string | null;
  model: string | null;
  stats: string | null;
  error: string | null;
  created_at: string;
}

const now = (): string => new Date().toISOString();
const SNIPPET_CHARS = 120;

export class ConversationsRepository {
  constructor(private readonly db: SqliteDatabase) {
    // SQLite's LIKE folds ASCII only; search folds both sides itself, so "ÉTÉ" finds "été".
    db.function('sim_fold', { deterministic: true }, (text: unknown) => (typeof text === 'string' ? text.toLowerCase() : text));
  }

  create(conversation: Omit<ConversationRow, 'context' | 'deletedAt'>): ConversationRow {
    this.db
      .prepare(`INSERT INTO conversations (id, title, title_set, provider, model, settings, preset_id, context, created_at, updated_at, deleted_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, NULL)`)
      .run(conversation.id, conversation.title, Number(conversation.titleSet), conversation.provider, conversation.model, JSON.stringify(conversation.settings), conversation.presetId, conversation.createdAt, conversation.updatedAt);
    return { ...conversation, context: null, deletedAt: null };
  }

  /** Deleted conversations only when asked for (restore). */
  get(id: string, options: { includeDeleted?: boolean } = {}): ConversationRow | undefined {
    const row = this.db.prepare('SELECT * FROM conversations WHERE id = ?').get(id) as RawConversation | undefined;
    if (row === undefined || (row.deleted_at !== null && options.includeDeleted !== true)) return undefined;
    return toConversation(row);
  }

  /** Newest first; `query` matches the title or any message's text, case-insensitively. */
  list(query: string | undefined, limit: number, offset: number): ConversationListItem[] {
    const q = query?.trim() ?? '';
    const counts = 'SELECT conversation_id, COUNT(*) AS n FROM conversation_messages GROUP BY conversation_id';
    if (q === '') {
      const rows = this.db
        .prepare(`SELECT c.*, COALESCE(m.n, 0) AS message_count FROM conversations c LEFT JOIN (${counts}) m ON m.conversation_id = c.id
                  WHERE c.deleted_at IS NULL ORDER BY c.updated_at DESC, c.id LIMIT ? OFFSET ?`)
        .all(limit, offset) as (RawConversation & { message_count: number })[];
      return rows.map((row) => toListItem(row, null));
    }
    const pattern = `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const rows = this.db
      .prepare(`SELECT c.*, COALESCE(m.n, 0) AS message_count,
                       (SELECT content FROM conversation_messages x WHERE x.conversation_id = c.id AND sim_fold(x.content) LIKE ? ESCAPE '\\' ORDER BY x.position LIMIT 1) AS matched
                FROM conversations c LEFT JOIN (${counts}) m ON m.conversation_id = c.id
                WHERE c.deleted_at IS NULL AND (sim_fold(c.title) LIKE ? ESCAPE '\\' OR matched IS NOT NULL)
                ORDER BY c.updated_at DESC, c.id LIMIT ? OFFSET ?`)
      .all(pattern, pattern, limit, offset) as (RawConversation & { message_count: number; matched: string | null })[];
    return rows.map((row) => toListItem(row, row.matched === null ? null : snippet(row.matched, q)));
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM conversations WHERE deleted_at IS NULL').get() as { n: number }).n;
  }

  update(id: string, patch: Partial<Pick<ConversationRow, 'title' | 'titleSet' | 'provider' | 'model' | 'settings'>>): void {
    const current = this.get(id);
    if (current === undefined) return;
    const next = { ...current, ...patch };
    this.db
      .prepare('UPDATE conversations SET title = ?, title_set = ?, provider = ?, model = ?, settings = ?, updated_at = ? WHERE id = ?')
      .run(next.title, Number(next.titleSet), next.provider, next.model, JSON.stringify(next.settings), now(), id);
  }

  setContext(id: string, context: ContextUsage): void {
    this.db.prepare('UPDATE conversations SET context = ? WHERE id = ?').run(JSON.stringify(context), id);
  }

  touch(id: string): void {
    this.db.prepare('UPDATE conversations SET updated_at = ? WHERE id = ?').run(now(), id);
  }

  softDelete(id: string): boolean {
    return this.db.prepare('UPDATE conversations SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL').run(now(), id).changes > 0;
  }

  restore(id: string): boolean {
    return this.db.prepare('UPDATE conversations SET deleted_at = NULL WHERE id = ? AND deleted_at IS NOT NULL').run(id).changes > 0;
  }

  /** Removes for good what was deleted before `before` (ISO time); messages go with them. */
  purgeDeleted(before: string): number {
    return this.db.prepare('DELETE FROM conversations WHERE deleted_at IS NOT NULL AND deleted_at < ?').run(before).changes;
  }

  messages(conversationId: string): ConversationMessageData[] {
    const rows = this.db.prepare('SELECT * FROM conversation_messages WHERE conversation_id = ? ORDER BY position').all(conversationId) as RawMessage[];
    return rows.map(toMessage);
  }

  message(id: string): ConversationMessageData | undefined {
    const row = this.db.prepare('SELECT * FROM conversation_messages WHERE id = ?').get(id) as RawMessage | undefined;
    return row && toMessage(row);
  }

  /** Appends at the end of the conversation and moves it to the top of the list. */
  appendMessage(message: NewMessage): ConversationMessageData {
    const createdAt = message.createdAt ?? now();
    this.db.transaction(() => {
      const { next } = this.db.prepare('SELECT COALESCE(MAX(position), -1) + 1 AS next FROM conversation_messages WHERE conversation_id = ?').get(message.conversationId) as { next: number };
      this.db
        .prepare(`INSERT INTO conversation_messages (id, conversation_id, position, role, content, status, execution_id, provider, model, stats, error, created_at)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(
          message.id,
          message.conversationId,
          next,
          message.role,
          message.content,
          message.status,
          message.executionId ?? null,
          message.provider ?? null,
          message.model ?? null,
          message.stats ? JSON.stringify(message.stats) : null,
          message.error ? JSON.stringify(message.error) : null,
          createdAt,
        );
      this.db.prepare('UPDATE conversations SET updated_at = ? WHERE id = ?').run(createdAt, message.conversationId);
    })();
    const stored = this.message(message.id);
    if (stored === undefined) throw new Error(`Message ${message.id} was not stored.`);
    return stored;
  }

  /** One frame of a streaming answer. */
  appendText(messageId: string, text: string): void {
    this.db.prepare('UPDATE conversation_messages SET content = content || ? WHERE id = ?').run(text, messageId);
  }

  setExecution(messageId: string, executionId: string): void {
    this.db.prepare('UPDATE conversation_messages SET execution_id = ? WHERE id = ?').run(executionId, messageId);
  }

  /** The answer's end: its status, stats and error; `content` replaces the text when given. */
  finishMessage(messageId: string, end: { status: MessageStatus; stats: MessageStats | null; error: ErrorData | null; content?: string }): ConversationMessageData | undefined {
    if (end.content === undefined) {
      this.db.prepare('UPDATE conversation_messages SET status = ?, stats = ?, error = ? WHERE id = ?').run(end.status, json(end.stats), json(end.error), messageId);
    } else {
      this.db.prepare('UPDATE conversation_messages SET status = ?, stats = ?, error = ?, content = ? WHERE id = ?').run(end.status, json(end.stats), json(end.error), end.content, messageId);
    }
    return this.message(messageId);
  }

  setContent(messageId: string, content: string): void {
    this.db.prepare('UPDATE conversation_messages SET content = ? WHERE id = ?').run(content, messageId);
  }

  /** Removes the message and every one after it (edit and resend; regenerate). */
  deleteFrom(conversationId: string, messageId: string, options: { keepMessage?: boolean } = {}): void {
    const row = this.db.prepare('SELECT position FROM conversation_messages WHERE id = ? AND conversation_id = ?').get(messageId, conversationId) as { position: number } | undefined;
    if (row === undefined) return;
    const from = options.keepMessage === true ? row.position + 1 : row.position;
    this.db.prepare('DELETE FROM conversation_messages WHERE conversation_id = ? AND position >= ?').run(conversationId, from);
  }

  /** At start: answers left `streaming` by a crash or kill keep their text and are marked failed. */
  markInterrupted(error: ErrorData): number {
    return this.db.prepare("UPDATE conversation_messages SET status = 'failed', error = ? WHERE status = 'streaming'").run(JSON.stringify(error)).changes;
  }

  /** A whole conversation at once (import): all of it or nothing. */
  insertWhole(conversation: Omit<ConversationRow, 'context' | 'deletedAt'>, messages: readonly NewMessage[]): void {
    this.db.transaction(() => {
      this.create(conversation);
      for (const message of messages) this.appendMessage(message);
      this.db.prepare('UPDATE conversations SET updated_at = ? WHERE id = ?').run(conversation.updatedAt, conversation.id);
    })();
  }
}

/** Where a streaming answer's frames are appended. */
export interface FrameSink {
  append(messageId: string, text: string): void;
}

/**
 * Streamed frames on their own connection with synchronous=NORMAL. Each frame is still committed to
 * the WAL before it is shown (a kill or crash of the app loses nothing committed), but without
 * waiting for the disk to confirm, which on a USB stick can take longer than the 16 ms frame itself
 * and would stall the stream (better-sqlite3 writes on the event loop). The answer's final write,
 * on the app's synchronous=FULL connection, syncs the WAL and with it every frame before it; only a
 * power cut mid-answer can lose that answer's unsynced frames.
 */
export class FrameWriter implements FrameSink {
  private readonly statement: Database.Statement<[string, string]>;

  private constructor(private readonly db: SqliteDatabase) {
    this.statement = db.prepare('UPDATE conversation_messages SET content = content || ? WHERE id = ?');
  }

  /** A second connection to the app's database file (opened and migrated already). */
  static open(file: string): FrameWriter {
    const db = new Database(file, SQLITE_OPTIONS);
    db.pragma('busy_timeout = 5000');
    db.pragma('synchronous = NORMAL');
    return new FrameWriter(db);
  }

  append(messageId: string, text: string): void {
    this.statement.run(text, messageId);
  }

  close(): void {
    this.db.close();
  }
}

export class PresetsRepository {
  constructor(private readonly db: SqliteDatabase) {}

  list(): PresetRow[] {
    const rows = this.db.prepare('SELECT id, name, provider, model, settings FROM presets ORDER BY created_at, id').all() as {
      id: string;
      name: string;
      provider: string | null;
      model: string | null;
      settings: string;
    }[];
    return rows.map((r) => ({ id: r.id, name: r.name, provider: r.provider, model: r.model, settings: JSON.parse(r.settings) as ConversationSettings }));
  }

  get(id: string): PresetRow | undefined {
    return this.list().find((p) => p.id === id);
  }

  save(preset: PresetRow): void {
    this.db
      .prepare(`INSERT INTO presets (id, name, provider, model, settings, created_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET name = excluded.name, provider = excluded.provider, model = excluded.model, settings = excluded.settings`)
      .run(preset.id, preset.name, preset.provider, preset.model, JSON.stringify(preset.settings), now());
  }

  delete(id: string): boolean {
    return this.db.prepare('DELETE FROM presets WHERE id = ?').run(id).changes > 0;
  }
}

/** A stored conversation as the contract shows it. */
export function publicConversation(row: ConversationRow): ConversationData {
  const { id, title, provider, model, settings, presetId, createdAt, updatedAt } = row;
  return { id, title, provider, model, settings, presetId, createdAt, updatedAt };
}

function json(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

function toConversation(row: RawConversation): ConversationRow {
  return {
    id: row.id,
    title: row.title,
    titleSet: row.title_set === 1,
    provider: row.provider,
    model: row.model,
    settings: JSON.parse(row.settings) as ConversationSettings,
    presetId: row.preset_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    context: row.context === null ? null : (JSON.parse(row.context) as ContextUsage),
    deletedAt: row.deleted_at,
  };
}

function toListItem(row: RawConversation & { message_count: number }, matched: string | null): ConversationListItem {
  return { id: row.id, title: row.title, provider: row.provider, model: row.model, createdAt: row.created_at, updatedAt: row.updated_at, messageCount: row.message_count, snippet: matched };
}

function toMessage(row: RawMessage): ConversationMessageData {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    role: row.role,
    content: row.content,
    status: row.status,
    executionId: row.execution_id,
    provider: row.provider,
    model: row.model,
    stats: row.stats === null ? null : (JSON.parse(row.stats) as MessageStats),
    error: row.error === null ? null : (JSON.parse(row.error) as ErrorData),
    createdAt: row.created_at,
  };
}

/** The words around the first match, on one line. */
function snippet(text: string, query: string): string {
  const at = text.toLowerCase().indexOf(query.toLowerCase());
  const start = Math.max(0, at - Math.floor((SNIPPET_CHARS - query.length) / 2));
  const cut = text.slice(start, start + SNIPPET_CHARS).replace(/\s+/g, ' ').trim();
  return `${start > 0 ? '…' : ''}${cut}${start + SNIPPET_CHARS < text.length ? '…' : ''}`;
}
