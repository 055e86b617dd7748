/** Small typed repositories over the database's tables. Nothing here decrypts anything. */
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
}

export class VaultMetaRepository {
  constructor(private readonly db: SqliteDatabase) {}

  get(): VaultMetaRow | undefined {
    const row = this.db.prepare('SELECT recipient, wrapped_identity, auto_lock_minutes FROM vault_meta WHERE id = 1').get() as
      | { recipient: string; wrapped_identity: Buffer; auto_lock_minutes: number | null }
      | undefined;
    return row && { recipient: row.recipient, wrappedIdentity: new Uint8Array(row.wrapped_identity), autoLockMinutes: row.auto_lock_minutes };
  }

  create(meta: VaultMetaRow): void {
    const now = new Date().toISOString();
    this.db
      .prepare('INSERT INTO vault_meta (id, recipient, wrapped_identity, auto_lock_minutes, created_at, updated_at) VALUES (1, ?, ?, ?, ?, ?)')
      .run(meta.recipient, Buffer.from(meta.wrappedIdentity), meta.autoLockMinutes, now, now);
  }

  /** One UPDATE: the old wrapping or the new one is on disk, never neither. */
  replaceWrappedIdentity(wrapped: Uint8Array): void {
    this.db.prepare('UPDATE vault_meta SET wrapped_identity = ?, updated_at = ? WHERE id = 1').run(Buffer.from(wrapped), new Date().toISOString());
  }

  setAutoLock(minutes: number | null): void {
    this.db.prepare('UPDATE vault_meta SET auto_lock_minutes = ?, updated_at = ? WHERE id = 1').run(minutes, new Date().toISOString());
  }
}

export interface SecretRow {
  readonly provider: string;
  readonly ciphertext: Uint8Array;
  readonly hint: string;
  readonly updatedAt: string;
}

export class SecretsRepository {
  constructor(private readonly db: SqliteDatabase) {}

  get(provider: string): SecretRow | undefined {
    const row = this.db.prepare('SELECT provider, ciphertext, hint, updated_at FROM secrets WHERE provider = ?').get(provider) as RawSecret | undefined;
    return row && toSecret(row);
  }

  list(): SecretRow[] {
    return (this.db.prepare('SELECT provider, ciphertext, hint, updated_at FROM secrets ORDER BY provider').all() as RawSecret[]).map(toSecret);
  }

  upsert(provider: string, ciphertext: Uint8Array, hint: string): SecretRow {
    const updatedAt = new Date().toISOString();
    this.db
      .prepare('INSERT INTO secrets (provider, ciphertext, hint, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(provider) DO UPDATE SET ciphertext = excluded.ciphertext, hint = excluded.hint, updated_at = excluded.updated_at')
      .run(provider, Buffer.from(ciphertext), hint, updatedAt);
    return { provider, ciphertext, hint, updatedAt };
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
}

function toSecret(row: RawSecret): SecretRow {
  return { provider: row.provider, ciphertext: new Uint8Array(row.ciphertext), hint: row.hint, updatedAt: row.updated_at };
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
}

/** The executions log: one row per AI block run, written by the AI core as each run ends. */
export class ExecutionsRepository implements HistoryService {
  constructor(private readonly db: SqliteDatabase) {}

  record({ id, startedAt, response }: ExecutionRecord): void {
    this.db
      .prepare(`INSERT OR REPLACE INTO executions (id, started_at, provider, model, status, finish_reason, input_tokens, output_tokens, ttft_ms, total_ms, error_code, error_message, output)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
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
      );
  }

  list(limit: number, offset: number): ExecutionSummaryData[] {
    const rows = this.db.prepare('SELECT * FROM executions ORDER BY started_at DESC LIMIT ? OFFSET ?').all(limit, offset) as RawExecution[];
    return rows.map(toSummary);
  }

  get(id: string): ExecutionDetailData | undefined {
    const row = this.db.prepare('SELECT * FROM executions WHERE id = ?').get(id) as RawExecution | undefined;
    return row && { ...toSummary(row), text: row.output, errorMessage: row.error_message };
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
  };
}
