/** Small typed repositories over the database's tables. Nothing here decrypts anything. */
import { createHash } from 'node:crypto';
import type { ExecutionRecord } from '../core/manager.js';
import type { FinishReason } from '../core/types.js';
import type { ProviderSetting } from '../providers/registry.js';
import type { ProviderSettingsStore } from '../providers/catalog.js';
import type { ExecutionDetailData, ExecutionSummaryData, HistoryService } from '../channel/handlers/history.js';
import type { SqliteDatabase } from './database.js';

export interface VaultMetaRow {
  readonly recipient: string;
  readonly wrappedIdentity: Uint8Array;
  readonly autoLockMinutes: number | null;
  /** SHA-256 (hex) of `wrappedIdentity` as written; null for vaults made before it was kept. */
  readonly wrappedIdentitySha256: string | null;
}

export class VaultMetaRepository {
  constructor(private readonly db: SqliteDatabase) {}

  get(): VaultMetaRow | undefined {
    const row = this.db.prepare('SELECT recipient, wrapped_identity, auto_lock_minutes, wrapped_identity_sha256 FROM vault_meta WHERE id = 1').get() as
      | { recipient: string; wrapped_identity: Buffer; auto_lock_minutes: number | null; wrapped_identity_sha256: string | null }
      | undefined;
    return row && { recipient: row.recipient, wrappedIdentity: new Uint8Array(row.wrapped_identity), autoLockMinutes: row.auto_lock_minutes, wrappedIdentitySha256: row.wrapped_identity_sha256 };
  }

  create(meta: Omit<VaultMetaRow, 'wrappedIdentitySha256'>): void {
    const now = new Date().toISOString();
    this.db
      .prepare('INSERT INTO vault_meta (id, recipient, wrapped_identity, wrapped_identity_sha256, auto_lock_minutes, created_at, updated_at) VALUES (1, ?, ?, ?, ?, ?, ?)')
      .run(meta.recipient, Buffer.from(meta.wrappedIdentity), sha256(meta.wrappedIdentity), meta.autoLockMinutes, now, now);
  }

  /**
   * One UPDATE: the old wrapping or the new one is on disk, never neither. Then the WAL is
   * checkpointed and truncated, and secure_delete has zeroed the old cell, so no copy of the old
   * wrapping (still openable with the old passphrase) stays readable in the files.
   */
  replaceWrappedIdentity(wrapped: Uint8Array): void {
    this.db.prepare('UPDATE vault_meta SET wrapped_identity = ?, wrapped_identity_sha256 = ?, updated_at = ? WHERE id = 1').run(Buffer.from(wrapped), sha256(wrapped), new Date().toISOString());
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /** Records the checksum of a wrapping that predates it (after it opened with the right passphrase). */
  recordChecksum(wrapped: Uint8Array): void {
    this.db.prepare('UPDATE vault_meta SET wrapped_identity_sha256 = ? WHERE id = 1 AND wrapped_identity_sha256 IS NULL').run(sha256(wrapped));
  }

  setAutoLock(minutes: number | null): void {
    this.db.prepare('UPDATE vault_meta SET auto_lock_minutes = ?, updated_at = ? WHERE id = 1').run(minutes, new Date().toISOString());
  }
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface SecretRow {
  readonly provider: string;
  readonly ciphertext: Uint8Array;
  readonly hint: string;
  readonly updatedAt: string;
  /** The origin the key was entered for, as shown to the user; null for keys stored before it was kept. */
  readonly origin: string | null;
}

export class SecretsRepository {
  constructor(private readonly db: SqliteDatabase) {}

  get(provider: string): SecretRow | undefined {
    const row = this.db.prepare('SELECT provider, ciphertext, hint, updated_at, origin FROM secrets WHERE provider = ?').get(provider) as RawSecret | undefined;
    return row && toSecret(row);
  }

  list(): SecretRow[] {
    return (this.db.prepare('SELECT provider, ciphertext, hint, updated_at, origin FROM secrets ORDER BY provider').all() as RawSecret[]).map(toSecret);
  }

  upsert(provider: string, ciphertext: Uint8Array, hint: string, origin: string): SecretRow {
    const updatedAt = new Date().toISOString();
    this.db
      .prepare('INSERT INTO secrets (provider, ciphertext, hint, updated_at, origin) VALUES (?, ?, ?, ?, ?) ON CONFLICT(provider) DO UPDATE SET ciphertext = excluded.ciphertext, hint = excluded.hint, updated_at = excluded.updated_at, origin = excluded.origin')
      .run(provider, Buffer.from(ciphertext), hint, updatedAt, origin);
    return { provider, ciphertext, hint, updatedAt, origin };
  }

  delete(provider: string): boolean {
    return this.db.prepare('DELETE FROM secrets WHERE provider = ?').run(provider).changes > 0;
  }
}

interface RawSecret {
  provider: string;
  ciphertext: Buffer;
  hint: string;
  updated_at: string;
  origin: string | null;
}

function toSecret(row: RawSecret): SecretRow {
  return { provider: row.provider, ciphertext: new Uint8Array(row.ciphertext), hint: row.hint, updatedAt: row.updated_at, origin: row.origin };
}

export class ProviderSettingsRepository implements ProviderSettingsStore {
  constructor(private readonly db: SqliteDatabase) {}

  list(): ProviderSetting[] {
    const rows = this.db.prepare('SELECT provider, base_url, preset, enabled, keep_alive, idle_timeout_s FROM provider_settings').all() as {
      provider: string;
      base_url: string | null;
      preset: string | null;
      enabled: number | null;
      keep_alive: string | null;
      idle_timeout_s: number | null;
    }[];
    return rows.map((r) => ({
      provider: r.provider,
      ...(r.base_url === null ? {} : { baseURL: r.base_url }),
      ...(r.keep_alive === null ? {} : { keepAlive: r.keep_alive }),
      ...(r.preset === null ? {} : { preset: r.preset }),
      ...(r.enabled === null ? {} : { enabled: r.enabled === 1 }),
      ...(r.idle_timeout_s === null ? {} : { idleTimeoutSeconds: r.idle_timeout_s }),
    }));
  }

  save(setting: ProviderSetting): void {
    this.db
      .prepare('INSERT INTO provider_settings (provider, base_url, preset, enabled, keep_alive, idle_timeout_s) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(provider) DO UPDATE SET base_url = excluded.base_url, preset = excluded.preset, enabled = excluded.enabled, keep_alive = excluded.keep_alive, idle_timeout_s = excluded.idle_timeout_s')
      .run(setting.provider, setting.baseURL ?? null, setting.preset ?? null, setting.enabled === undefined ? null : Number(setting.enabled), setting.keepAlive ?? null, setting.idleTimeoutSeconds ?? null);
  }
}

const STATUS: Record<FinishReason, ExecutionSummaryData['status']> = {
  stop: 'completed',
  length: 'completed',
  cancelled: 'cancelled',
  error: 'failed',
  incomplete: 'incomplete',
};

interface RawExecution {
  id: string;
  started_at: string;
  provider: string;
  model: string;
  status: ExecutionSummaryData['status'];
  finish_reason: FinishReason;
  input_tokens: number;
  output_tokens: number;
  ttft_ms: number | null;
  total_ms: number;
  error_code: string | null;
  error_message: string | null;
  output: string;
  conversation_id: string | null;
  request: string | null;
}

/** The executions log: one row per AI block run, written by the AI core as each run ends. */
export class ExecutionsRepository implements HistoryService {
  constructor(private readonly db: SqliteDatabase) {}

  record({ id, startedAt, request, response, conversationId }: ExecutionRecord): void {
    this.db
      .prepare(`INSERT OR REPLACE INTO executions (id, started_at, provider, model, status, finish_reason, input_tokens, output_tokens, ttft_ms, total_ms, error_code, error_message, output, conversation_id, request)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(
        id,
        new Date(startedAt).toISOString(),
        response.provider,
        response.model,
        STATUS[response.finishReason],
        response.finishReason,
        response.usage.inputTokens,
        response.usage.outputTokens,
        response.timing.timeToFirstTokenMs ?? null,
        response.timing.totalMs,
        response.error?.code ?? null,
        response.error?.message ?? null,
        response.text,
        conversationId ?? null,
        JSON.stringify(sentRequest(request)),
      );
  }

  list(limit: number, offset: number, conversationId?: string): ExecutionSummaryData[] {
    const rows = (
      conversationId === undefined
        ? this.db.prepare('SELECT * FROM executions ORDER BY started_at DESC LIMIT ? OFFSET ?').all(limit, offset)
        : this.db.prepare('SELECT * FROM executions WHERE conversation_id = ? ORDER BY started_at DESC LIMIT ? OFFSET ?').all(conversationId, limit, offset)
    ) as RawExecution[];
    return rows.map(toSummary);
  }

  get(id: string): ExecutionDetailData | undefined {
    const row = this.db.prepare('SELECT * FROM executions WHERE id = ?').get(id) as RawExecution | undefined;
    return row && { ...toSummary(row), text: row.output, errorMessage: row.error_message, request: row.request === null ? null : (JSON.parse(row.request) as ExecutionDetailData['request']) };
  }
}

function toSummary(row: RawExecution): ExecutionSummaryData {
  return {
    id: row.id,
    startedAt: row.started_at,
    provider: row.provider,
    model: row.model,
    status: row.status,
    finishReason: row.finish_reason,
    inputTokens: row.input_tokens,
    outputTokens: row.output_tokens,
    timeToFirstTokenMs: row.ttft_ms,
    totalMs: row.total_ms,
    errorCode: row.error_code,
    conversationId: row.conversation_id,
  };
}

/** What the ledger keeps of a request: the messages and the settings sent, not transport details. */
function sentRequest(request: ExecutionRecord['request']): NonNullable<ExecutionDetailData['request']> {
  const { messages, temperature, maxTokens, topP, stop, contextSize } = request;
  return {
    messages: messages.map(({ role, content }) => ({ role, content })),
    ...(temperature === undefined ? {} : { temperature }),
    ...(maxTokens === undefined ? {} : { maxTokens }),
    ...(topP === undefined ? {} : { topP }),
    ...(stop === undefined ? {} : { stop: [...stop] }),
    ...(contextSize === undefined ? {} : { contextSize }),
  };
}
