/**
 * Opens the app's one SQLite database: WAL, a busy timeout, secure_delete (deleted secrets are
 * overwritten, not left in free pages), synchronous=FULL (an acknowledged write survives a crash or a
 * power cut), versioned migrations, and an integrity check before anything else touches it. A
 * corrupt file is reported and left exactly as it is; a read-only medium gives a read-only handle.
 */
import { CodedError } from '../core/coded-error.js';
import { accessSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from './migrations.js';

export type SqliteDatabase = Database.Database;

export type StorageErrorCode = 'storage' | 'read_only';

export class StorageError extends CodedError<StorageErrorCode> {
  override readonly name = 'StorageError';
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

/**
 * Without a writable folder SQLite cannot even keep its WAL files, so the stored database is read
 * into memory (keys and settings still work this session) and nothing is saved.
 */
function openReadOnly(file: string): OpenedDatabase {
  let db: SqliteDatabase | undefined;
  if (existsSync(file)) {
    try {
      const bytes = readFileSync(file);
      // A WAL-mode header (format bytes 2/2) cannot be opened in memory; a cleanly closed file has
      // everything checkpointed into the main file, so it reads the same in rollback mode.
      if (bytes[18] === 2 && bytes[19] === 2) bytes.fill(1, 18, 20);
      db = new Database(bytes);
      checkIntegrity(db, file);
    } catch {
      // An unreadable copy on read-only media still leaves the app usable for local models.
      db = undefined;
    }
  }
  db ??= new Database(':memory:');
  migrate(db);
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
