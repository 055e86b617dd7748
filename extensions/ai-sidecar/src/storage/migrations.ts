/** Versioned schema migrations, tracked in SQLite's `user_version`. Append; never edit a shipped one. */
import type Database from 'better-sqlite3';

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE vault_meta (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     recipient TEXT NOT NULL,
     wrapped_identity BLOB NOT NULL,
     auto_lock_minutes INTEGER,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE secrets (
     provider TEXT PRIMARY KEY,
     ciphertext BLOB NOT NULL,
     hint TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE provider_settings (
     provider TEXT PRIMARY KEY,
     base_url TEXT,
     preset TEXT,
     enabled INTEGER
   );
   CREATE TABLE executions (
     id TEXT PRIMARY KEY,
     started_at TEXT NOT NULL,
     provider TEXT NOT NULL,
     model TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('completed', 'cancelled', 'failed', 'incomplete')),
     finish_reason TEXT NOT NULL,
     input_tokens INTEGER NOT NULL,
     output_tokens INTEGER NOT NULL,
     ttft_ms REAL,
     total_ms REAL NOT NULL,
     error_code TEXT,
     error_message TEXT,
     output TEXT NOT NULL
   );
   CREATE INDEX executions_started ON executions (started_at DESC);`,
  // The user's Ollama keep-alive (e.g. "10m", "-1"), sent instead of Ollama's own default.
  `ALTER TABLE provider_settings ADD COLUMN keep_alive TEXT;`,
  // Issue 10: seconds of silence between stream parts before a run fails with `timeout`; NULL is 60 s.
  `ALTER TABLE provider_settings ADD COLUMN idle_timeout_s INTEGER;`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new Error(`The database was written by a newer version of the app (schema ${current} > ${SCHEMA_VERSION}).`);
  }
  for (let version = current; version < SCHEMA_VERSION; version += 1) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version] ?? '');
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
