/**
 * Opens the app's one SQLite database: WAL, a busy timeout, secure_delete (deleted secrets are
 * overwritten, not left in free pages), synchronous=FULL (an acknowledged write survives a crash or a
 * power cut), versioned migrations, and an integrity check before anything else touches it. A
 * corrupt file is reported and left exactly as it is; a read-only medium gives a read-only handle.
 */
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from './migrations.js';

export type SqliteDatabase = Database.Database;

export type StorageErrorCode = 'storage' | 'read_only';

export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface OpenedDatabase {
  readonly db: SqliteDatabase;
  /** True when the data folder cannot be written: everything works, nothing is saved. */
  readonly readOnly: boolean;
}

export function openDatabase(file: string): OpenedDatabase {
  const folder = path.dirname(file);
  if (!isWritable(folder)) return openReadOnly(file);
  let db: SqliteDatabase;
  try {
    db = new Database(file);
    db.pragma('busy_timeout = 5000');
    checkIntegrity(db, file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('secure_delete = ON');
    db.pragma('foreign_keys = ON');
    migrate(db);
    return { db, readOnly: false };
  } catch (error) {
    throw asStorageError(error, file);
  }
}

/** Without a writable folder SQLite cannot even keep its WAL files: work in memory, say so. */
function openReadOnly(file: string): OpenedDatabase {
  const db = new Database(':memory:');
  migrate(db);
  if (existsSync(file)) {
    try {
      const source = new Database(file, { readonly: true, fileMustExist: true });
      checkIntegrity(source, file);
      // Copy what is there so keys and settings still work this session.
      for (const table of ['vault_meta', 'secrets', 'provider_settings', 'executions']) {
        const rows = source.prepare(`SELECT * FROM ${table}`).all() as Record<string, unknown>[];
        for (const row of rows) {
          const columns = Object.keys(row);
          db.prepare(`INSERT OR REPLACE INTO ${table} (${columns.join(',')}) VALUES (${columns.map((c) => `@${c}`).join(',')})`).run(row);
        }
      }
      source.close();
    } catch {
      // An unreadable copy on read-only media still leaves the app usable for local models.
    }
  }
  return { db, readOnly: true };
}

function checkIntegrity(db: SqliteDatabase, file: string): void {
  const result = db.pragma('integrity_check', { simple: true });
  if (result !== 'ok') {
    db.close();
    throw new StorageError('storage', `The database at ${file} is damaged (${String(result)}). It was left untouched; move it aside to start afresh.`);
  }
}

function asStorageError(error: unknown, file: string): StorageError {
  if (error instanceof StorageError) return error;
  const code = (error as { code?: unknown }).code;
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new StorageError('storage', `The database at ${file} is damaged or is not a database. It was left untouched; move it aside to start afresh.`, { cause: error });
  }
  return new StorageError('storage', `Could not open the database at ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

function isWritable(folder: string): boolean {
  try {
    mkdirSync(folder, { recursive: true });
    accessSync(folder, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
