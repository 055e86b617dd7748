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
  // Issue 12: the origin each key was entered for (display only: the binding itself is inside the
  // ciphertext), and a checksum that tells a damaged wrapped identity from a wrong passphrase.
  `ALTER TABLE secrets ADD COLUMN origin TEXT;
   ALTER TABLE vault_meta ADD COLUMN wrapped_identity_sha256 TEXT;`,
  // Conversations (issue 14): conversations, their messages as they stream, presets; and the ledger
  // links a run to its conversation and keeps what was sent (the request as JSON), not only the answer.
  `CREATE TABLE conversations (
     id TEXT PRIMARY KEY,
     title TEXT NOT NULL,
     title_set INTEGER NOT NULL DEFAULT 0,
     provider TEXT NOT NULL,
     model TEXT NOT NULL,
     settings TEXT NOT NULL,
     preset_id TEXT,
     context TEXT,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     deleted_at TEXT
   );
   CREATE INDEX conversations_updated ON conversations (updated_at DESC);
   CREATE TABLE conversation_messages (
     id TEXT PRIMARY KEY,
     conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
     position INTEGER NOT NULL,
     role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
     content TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('streaming', 'complete', 'cancelled', 'failed')),
     execution_id TEXT,
     provider TEXT,
     model TEXT,
     stats TEXT,
     error TEXT,
     created_at TEXT NOT NULL,
     UNIQUE (conversation_id, position)
   );
   CREATE TABLE presets (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     provider TEXT,
     model TEXT,
     settings TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   ALTER TABLE executions ADD COLUMN conversation_id TEXT;
   ALTER TABLE executions ADD COLUMN request TEXT;
   CREATE INDEX executions_conversation ON executions (conversation_id);`,
  // Workflows (issue 11): the definition as JSON; each execution keeps a snapshot of the workflow it
  // ran and its per-block trace, so a trace stays readable and rerunnable after the workflow changes.
  `CREATE TABLE workflows (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     definition TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE workflow_executions (
     id TEXT PRIMARY KEY,
     workflow_id TEXT NOT NULL,
     workflow_name TEXT NOT NULL,
     workflow TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
     input TEXT NOT NULL,
     started_at TEXT NOT NULL,
     finished_at TEXT,
     duration_ms REAL,
     input_tokens INTEGER NOT NULL DEFAULT 0,
     output_tokens INTEGER NOT NULL DEFAULT 0,
     trace TEXT NOT NULL
   );
   CREATE INDEX workflow_executions_started ON workflow_executions (workflow_id, started_at DESC);`,
  // Issue 10: seconds of silence between stream parts before a run fails with `timeout`; NULL is 60 s.
  `ALTER TABLE provider_settings ADD COLUMN idle_timeout_s INTEGER;`,
  // Issue 13: when the whole file last passed an integrity check (database.ts checks it in full only
  // after an unclean end or once a week).
  `CREATE TABLE maintenance (
     name TEXT PRIMARY KEY,
     at TEXT NOT NULL
   );`,
  // Issue 13: the start's queries for runs a crash left open read only those rows, not the history.
  `CREATE INDEX conversation_messages_streaming ON conversation_messages (status) WHERE status = 'streaming';
   CREATE INDEX workflow_executions_running ON workflow_executions (status) WHERE status = 'running';`,
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
