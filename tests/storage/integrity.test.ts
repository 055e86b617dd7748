/**
 * What a start checks: the whole file after an unclean end or once a week, otherwise the vault's and
 * the settings' tables (a long history must not slow every start). Damage is staged in real pages,
 * found through SQLite's own page map (dbstat), and the unclean end is a writer killed with its WAL.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { FULL_CHECK_INTERVAL_MS, openDatabase, type SqliteDatabase } from '../../extensions/ai-sidecar/src/storage/database.js';
import { ConversationsRepository } from '../../extensions/ai-sidecar/src/storage/conversations.js';
import { WorkflowRepository } from '../../extensions/ai-sidecar/src/storage/workflow-repository.js';
import { killWriterMidSession } from './killed-writer.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

const DAY = 24 * 3_600_000;
const T0 = Date.UTC(2026, 10, 1);

/** A database with a key row and a few hundred KB of messages, opened (whole-file check) at T0 and closed cleanly. */
async function withHistory(): Promise<string> {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sim-integrity-'));
  const file = path.join(dir, 'sim-ai.db');
  const { db, checked } = openDatabase(file, { now: () => T0 });
  expect(checked).toBe('whole file');
  db.prepare("INSERT INTO secrets (provider, ciphertext, hint, updated_at) VALUES ('openai', ?, 'sk-…abcd', '2026-11-01')").run(Buffer.alloc(300, 7));
  db.prepare("INSERT INTO conversations (id, title, provider, model, settings, created_at, updated_at) VALUES ('c1', 'A long one', 'openai', 'gpt-4o-mini', '{}', '2026-11-01', '2026-11-01')").run();
  const message = db.prepare("INSERT INTO conversation_messages (id, conversation_id, position, role, content, status, created_at) VALUES (?, 'c1', ?, ?, ?, 'complete', '2026-11-01')");
  for (let i = 0; i < 200; i += 1) message.run(`m${i}`, i, i % 2 === 0 ? 'user' : 'assistant', `message ${i} `.repeat(150));
  db.close();
  return file;
}

/** Overwrites the middle of one of `table`'s leaf pages; returns where, to read it back. */
function damage(file: string, table: string): { offset: number; bytes: Buffer } {
  const probe = new Database(file, { readonly: true });
  const pageSize = probe.pragma('page_size', { simple: true }) as number;
  const page = probe.prepare("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno DESC LIMIT 1").get(table) as { pageno: number } | undefined;
  probe.close();
  if (page === undefined) throw new Error(`no leaf page for ${table}`);
  const offset = (page.pageno - 1) * pageSize + 8;
  const bytes = Buffer.alloc(64, 0xa5);
  const fd = openSync(file, 'r+');
  writeSync(fd, bytes, 0, bytes.length, offset);
  closeSync(fd);
  return { offset, bytes };
}

function read(file: string, offset: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  readSync(fd, out, 0, length, offset);
  closeSync(fd);
  return out;
}

describe('the integrity check at start', () => {
  it('checks the whole file at the first open and a week after the last full check, otherwise the vault and the settings', async () => {
    const file = await withHistory();
    const at = (now: number) => {
      const { db, checked } = openDatabase(file, { now: () => now });
      db.close();
      return checked;
    };
    expect(at(T0 + DAY)).toBe('vault and settings');
    expect(at(T0 + 6 * DAY)).toBe('vault and settings');
    expect(at(T0 + FULL_CHECK_INTERVAL_MS + 1)).toBe('whole file');
    // That check was recorded: the week starts again from it.
    expect(at(T0 + FULL_CHECK_INTERVAL_MS + DAY)).toBe('vault and settings');
    // A clock set back before the recorded check does not count as recent.
    expect(at(T0 - DAY)).toBe('whole file');
  });

  it('finds damage in the history once the week is up, and leaves the damaged page as it was', async () => {
    const file = await withHistory();
    const { offset, bytes } = damage(file, 'conversation_messages');
    expect(() => openDatabase(file, { now: () => T0 + FULL_CHECK_INTERVAL_MS + DAY })).toThrow(expect.objectContaining({ code: 'storage', message: expect.stringMatching(/damaged[\s\S]*left untouched/) }));
    expect(read(file, offset, bytes.length)).toEqual(bytes);
  });

  it('after an unclean end (a killed writer left its WAL) checks the whole file and finds damage in the history', async () => {
    const file = await withHistory();
    const { offset, bytes } = damage(file, 'conversation_messages');
    await killWriterMidSession(file);
    expect(() => openDatabase(file, { now: () => T0 + DAY })).toThrow(expect.objectContaining({ code: 'storage', message: expect.stringMatching(/damaged[\s\S]*left untouched/) }));
    expect(read(file, offset, bytes.length)).toEqual(bytes);
  });

  it('finds damage in the stored keys at every start, however recent the last full check', async () => {
    const file = await withHistory();
    damage(file, 'secrets');
    expect(() => openDatabase(file, { now: () => T0 + DAY })).toThrow(expect.objectContaining({ code: 'storage', message: expect.stringMatching(/damaged/) }));
  });

  it("finds the runs a crash left open through an index, without reading the history", async () => {
    const file = await withHistory();
    const { db } = openDatabase(file, { now: () => T0 + DAY });
    const { statements, stop } = recordStatements(db);
    new ConversationsRepository(db).markInterrupted({ code: 'incomplete_stream', message: 'x', retryable: true });
    new WorkflowRepository(db).failInterrupted();
    stop();
    expect(statements.length).toBeGreaterThanOrEqual(2);
    for (const sql of statements) {
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...Array.from(sql.matchAll(/\?/g), () => null)) as { detail: string }[];
      expect(plan.map((step) => step.detail).join('; '), sql).not.toMatch(/\bSCAN (conversation_messages|workflow_executions)\b/);
    }
    db.close();
  });
});

/** The SQL of every statement `db` prepares until `stop()`. */
function recordStatements(db: SqliteDatabase): { statements: string[]; stop(): void } {
  const statements: string[] = [];
  const prepare = db.prepare;
  db.prepare = ((sql: string) => {
    statements.push(sql);
    return prepare.call(db, sql);
  }) as typeof db.prepare;
  return { statements, stop: () => void (db.prepare = prepare) };
}
