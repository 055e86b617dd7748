/**
 * A data folder with a long history, for the launch benchmark: `conversations` conversations of 50
 * messages (600 and 2,000 characters, user and assistant), each answer with its ledger row (the
 * request as sent, ~6,000 characters, and the output), written through the app's own schema and
 * closed cleanly. `leaveUnclean` then ends a writer the way a crash or a pulled stick does.
 */
import { statSync } from 'node:fs';
import { openDatabase } from '../extensions/ai-sidecar/src/storage/database.js';
import { dataPaths } from '../extensions/ai-sidecar/src/storage/paths.js';
import { killWriterMidSession } from '../tests/storage/killed-writer.js';

const text = (n: number): string => 'lorem ipsum dolor sit amet, '.repeat(Math.ceil(n / 28)).slice(0, n);

/** Fills `dataDir` and returns the database file's size in bytes. */
export function writeHistory(dataDir: string, conversations: number): number {
  const file = dataPaths(dataDir).database;
  const { db } = openDatabase(file);
  const conversation = db.prepare('INSERT INTO conversations (id, title, provider, model, settings, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const message = db.prepare('INSERT INTO conversation_messages (id, conversation_id, position, role, content, status, execution_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const execution = db.prepare(
    "INSERT INTO executions (id, started_at, provider, model, status, finish_reason, input_tokens, output_tokens, total_ms, output, conversation_id, request) VALUES (?, ?, 'openai', 'gpt-4o-mini', 'completed', 'stop', 1500, 500, 4000, ?, ?, ?)",
  );
  db.transaction(() => {
    for (let c = 0; c < conversations; c += 1) {
      const at = new Date(Date.UTC(2026, 0, 1) + c * 3_600_000).toISOString();
      conversation.run(`c${c}`, `Conversation ${c}`, 'openai', 'gpt-4o-mini', '{}', at, at);
      for (let m = 0; m < 50; m += 1) {
        const answer = m % 2 === 1;
        message.run(`c${c}-m${m}`, `c${c}`, m, answer ? 'assistant' : 'user', text(answer ? 2000 : 600), 'complete', answer ? `c${c}-e${m}` : null, at);
        if (answer) execution.run(`c${c}-e${m}`, at, text(2000), `c${c}`, text(6000));
      }
    }
  })();
  db.close();
  return statSync(file).size;
}

/** A writer killed mid-session leaves its WAL, as after a crash, a kill or a pulled stick. */
export function leaveUnclean(dataDir: string): Promise<void> {
  return killWriterMidSession(dataPaths(dataDir).database);
}
