/**
 * Opens the app's one SQLite database: WAL, a busy timeout, secure_delete (deleted secrets are
 * overwritten, not left in free pages), synchronous=FULL (an acknowledged write survives a crash or a
 * power cut), versioned migrations, and an integrity check before anything else touches it. A
 * corrupt file is reported and left exactly as it is (an empty, 0-byte file too: it is damage, not a
 * new install); a read-only medium gives a read-only handle. The folder is made 0700 and the
 * database, WAL and SHM files 0600: other users of the machine cannot read them.
 *
 * The check reads every page, ~0.3 s per 300 MiB of history from memory and far longer from a USB
 * stick, so a start checks the whole file only when damage is likely or a check is due: after an
 * unclean end (a crash, a kill, a pulled stick: SQLite's WAL is still there) and when the last full
 * check is a week old. Every other start checks the vault's and the settings' tables, which are read
 * before anything else, in well under a millisecond.
 */
import { CodedError } from '../core/coded-error.js';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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
  /** What this open checked: the whole file, or the vault's and the settings' tables. */
  readonly checked: IntegrityScope;
}

export type IntegrityScope = 'whole file' | 'vault and settings';

/** A full check at least this often, on a start after a clean close. */
export const FULL_CHECK_INTERVAL_MS = 7 * 24 * 3_600_000;

/** Read first at every start (the vault, keys, provider settings): checked at every start. */
const ALWAYS_CHECKED = ['vault_meta', 'secrets', 'provider_settings'] as const;

export interface OpenOptions {
  /** The clock, for the weekly full check. Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * The addon, by path. The bundle carries better-sqlite3's JavaScript (scripts/build.mjs), so the
 * package's own search would look beside the bundle: release 12 (the checkout's) asks the `bindings`
 * package, which works out its caller from a stack trace and tries a dozen paths (also ~1.5 ms of a
 * start); release 13 (the portable folder's) looks beside its lib/. A checkout has 12's build, the
 * portable folder 13's prebuilt for this platform.
 */
function addonOptions(): Database.Options {
  const addon = builtAddon() ?? searchedAddon();
  return addon === undefined ? {} : { nativeBinding: addon };
}

/** Where the build put the addon, relative to the bundle (scripts/build.mjs): no search at start. */
declare const __SQLITE_ADDON__: string | undefined;

function builtAddon(): string | undefined {
  if (typeof __SQLITE_ADDON__ !== 'string') return undefined; // not bundled: tests, tsx
  const file = fileURLToPath(new URL(__SQLITE_ADDON__, import.meta.url));
  return existsSync(file) ? file : undefined;
}

/** From the package's own location (resolving it costs ~1.5 ms at start on Node 20). */
function searchedAddon(): string | undefined {
  let dir: string;
  try {
    dir = path.dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json'));
  } catch {
    return undefined;
  }
  return [path.join(dir, 'build', 'Release', 'better_sqlite3.node'), path.join(dir, 'prebuilds', `${process.platform}-${process.arch}.node`)].find((file) => existsSync(file));
}

/** Options for every connection the app opens. */
export const SQLITE_OPTIONS: Database.Options = addonOptions();

export function openDatabase(file: string, options: OpenOptions = {}): OpenedDatabase {
  const folder = path.dirname(file);
  if (!isWritable(folder)) return openReadOnly(file);
  refuseEmptyFile(file);
  // Looked at before opening: the open itself may recover the WAL into the file.
  const endedUncleanly = (statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0) > 0;
  const now = (options.now ?? Date.now)();
  let db: SqliteDatabase;
  try {
    db = new Database(file, SQLITE_OPTIONS);
    restrictFiles(file);
    db.pragma('busy_timeout = 5000');
    const checked: IntegrityScope = endedUncleanly || !checkedRecently(db, now) ? 'whole file' : 'vault and settings';
    checkIntegrity(db, file, checked === 'whole file' ? undefined : ALWAYS_CHECKED);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('secure_delete = ON');
    db.pragma('foreign_keys = ON');
    migrate(db);
    if (checked === 'whole file') {
      db.prepare("INSERT INTO maintenance (name, at) VALUES ('integrity_check', ?) ON CONFLICT (name) DO UPDATE SET at = excluded.at").run(new Date(now).toISOString());
    }
    restrictFiles(file);
    return { db, readOnly: false, checked };
  } catch (error) {
    throw asStorageError(error, file);
  }
}

/** True when the whole file passed a check less than a week ago (by this clock; a date ahead of it is not trusted). */
function checkedRecently(db: SqliteDatabase, now: number): boolean {
  if (!hasTable(db, 'maintenance')) return false;
  const row = db.prepare("SELECT at FROM maintenance WHERE name = 'integrity_check'").get() as { at?: unknown } | undefined;
  const at = typeof row?.at === 'string' ? Date.parse(row.at) : Number.NaN;
  return now - at >= 0 && now - at < FULL_CHECK_INTERVAL_MS;
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
      // The whole file is in memory already: it is checked whole.
      db = new Database(bytes, SQLITE_OPTIONS);
      checkIntegrity(db, file);
    } catch {
      // An unreadable copy on read-only media still leaves the app usable for local models.
      db = undefined;
    }
  }
  db ??= new Database(':memory:', SQLITE_OPTIONS);
  migrate(db);
  return { db, readOnly: true, checked: 'whole file' };
}

/** The whole file, or only `tables` (those that exist: a new file has none yet). */
function checkIntegrity(db: SqliteDatabase, file: string, tables?: readonly string[]): void {
  const pragmas = tables === undefined ? ['integrity_check'] : tables.filter((name) => hasTable(db, name)).map((name) => `integrity_check(${name})`);
  for (const pragma of pragmas) {
    const result = db.pragma(pragma, { simple: true });
    if (result !== 'ok') {
      db.close();
      throw new StorageError('storage', `The database at ${file} is damaged (${String(result)}). It was left untouched; move it aside to start afresh.`);
    }
  }
}

function hasTable(db: SqliteDatabase, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

function asStorageError(error: unknown, file: string): StorageError {
  if (error instanceof StorageError) return error;
  const code = (error as { code?: unknown }).code;
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new StorageError('storage', `The database at ${file} is damaged or is not a database. It was left untouched; move it aside to start afresh.`, { cause: error });
  }
  return new StorageError('storage', `Could not open the database at ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

/**
 * SQLite takes a 0-byte file for a new database and would set up an empty vault over it, hiding the
 * loss. A fresh database is never 0 bytes once opened (its header is written at once), so this is a
 * truncated file; unless a WAL beside it still holds the data, it is reported and left alone.
 */
function refuseEmptyFile(file: string): void {
  if (!existsSync(file) || statSync(file).size > 0) return;
  const wal = `${file}-wal`;
  if (existsSync(wal) && statSync(wal).size > 0) return;
  throw new StorageError('storage', `The database at ${file} is empty (0 bytes): it was truncated or damaged, and your stored keys and history are not in it. It was left untouched; restore it from a backup, or move it aside to start afresh.`);
}

/** Owner-only modes for the database and its WAL and SHM (where the file system has modes at all). */
function restrictFiles(file: string): void {
  for (const target of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      if (existsSync(target)) chmodSync(target, 0o600);
    } catch {
      // FAT/exFAT sticks have no modes; nothing to restrict there.
    }
  }
}

function isWritable(folder: string): boolean {
  try {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    try {
      chmodSync(folder, 0o700);
    } catch {
      // Not ours to change (or no modes on this file system): leave it.
    }
    accessSync(folder, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
