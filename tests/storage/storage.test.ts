import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../extensions/ai-sidecar/src/storage/database.js';
import { SCHEMA_VERSION } from '../../extensions/ai-sidecar/src/storage/migrations.js';
import { dataPaths, resolveDataLocation } from '../../extensions/ai-sidecar/src/storage/paths.js';
import { ExecutionsRepository, ProviderSettingsRepository } from '../../extensions/ai-sidecar/src/storage/repositories.js';

let dir: string;
afterEach(async () => {
  if (dir) {
    await chmod(dir, 0o755).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
});
const temp = async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'sim-storage-')));

describe('data location', () => {
  it('prefers the environment variable, then a portable marker, then the OS folder', async () => {
    const app = await temp();
    const home = '/home/u';
    expect(resolveDataLocation({ appDir: app, env: { SIM_AI_DATA_DIR: '/x/y' }, home })).toMatchObject({ dataDir: '/x/y', source: 'env' });
    expect(resolveDataLocation({ appDir: app, env: {}, platform: 'linux', home })).toEqual({ dataDir: '/home/u/.local/share/sim-ai-desktop', portable: false, source: 'user' });
    expect(resolveDataLocation({ appDir: app, env: { XDG_DATA_HOME: '/xdg' }, platform: 'linux', home }).dataDir).toBe('/xdg/sim-ai-desktop');
    expect(resolveDataLocation({ appDir: app, env: { APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, platform: 'win32', home }).dataDir).toContain('sim-ai-desktop');
    expect(resolveDataLocation({ appDir: app, env: {}, platform: 'darwin', home }).dataDir).toBe('/home/u/Library/Application Support/sim-ai-desktop');
    await writeFile(path.join(app, 'portable'), '');
    expect(resolveDataLocation({ appDir: app, env: {}, home })).toEqual({ dataDir: path.join(app, 'data'), portable: true, source: 'portable' });
  });
});

describe('database', () => {
  it('opens with WAL, secure_delete, a full sync and the current schema', async () => {
    const { db, readOnly } = openDatabase(dataPaths(await temp()).database);
    expect(readOnly).toBe(false);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('secure_delete', { simple: true })).toBe(1);
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
  });

  it('reports a corrupt file clearly and never overwrites it', async () => {
    const file = path.join(await temp(), 'sim-ai.db');
    const garbage = Buffer.from('SQLite format 3\0'.padEnd(4096, 'x'));
    await writeFile(file, garbage);
    expect(() => openDatabase(file)).toThrow(expect.objectContaining({ code: 'storage', message: expect.stringMatching(/damaged.*left untouched/) }));
    expect(await readFile(file)).toEqual(garbage);
  });

  it('gives a read-only handle on a folder it cannot write, keeping what was stored', async () => {
    if (process.getuid?.() === 0) {
      // root ignores permission bits; simulate read-only media with a path under a file instead.
      const base = await temp();
      await writeFile(path.join(base, 'not-a-folder'), '');
      const { db, readOnly } = openDatabase(path.join(base, 'not-a-folder', 'sim-ai.db'));
      expect(readOnly).toBe(true);
      new ProviderSettingsRepository(db).save({ provider: 'openai', enabled: false });
      expect(new ProviderSettingsRepository(db).list()).toHaveLength(1);
      return;
    }
    const base = await temp();
    const file = path.join(base, 'sim-ai.db');
    const first = openDatabase(file);
    new ProviderSettingsRepository(first.db).save({ provider: 'groq', enabled: false });
    first.db.close();
    await chmod(base, 0o555);
    const second = openDatabase(file);
    expect(second.readOnly).toBe(true);
    expect(new ProviderSettingsRepository(second.db).list()).toEqual([{ provider: 'groq', enabled: false }]);
  });
});

describe('repositories', () => {
  it('keeps provider settings and the executions log', async () => {
    const base = await temp();
    await mkdir(base, { recursive: true });
    const { db } = openDatabase(path.join(base, 'sim-ai.db'));
    const settings = new ProviderSettingsRepository(db);
    settings.save({ provider: 'openai', baseURL: 'http://127.0.0.1:1/v1', enabled: true });
    expect(settings.list()).toEqual([{ provider: 'openai', baseURL: 'http://127.0.0.1:1/v1', enabled: true }]);
    const executions = new ExecutionsRepository(db);
    const response = {
      provider: 'openai', model: 'gpt', text: 'partial', finishReason: 'cancelled' as const,
      usage: { inputTokens: 3, outputTokens: 2 }, timing: { timeToFirstTokenMs: 12, totalMs: 40, tokensPerSecond: 50 },
    };
    executions.record({ id: 'e1', startedAt: Date.parse('2026-01-01T00:00:00Z'), request: { model: 'gpt', messages: [] }, response });
    executions.record({ id: 'e2', startedAt: Date.parse('2026-01-02T00:00:00Z'), request: { model: 'gpt', messages: [] }, response: { ...response, finishReason: 'error', error: { code: 'auth', message: 'bad key', retryable: false } } });
    expect(executions.list(10, 0).map((e) => [e.id, e.status])).toEqual([['e2', 'failed'], ['e1', 'cancelled']]);
    expect(executions.get('e1')).toMatchObject({ text: 'partial', status: 'cancelled', timeToFirstTokenMs: 12, errorMessage: null });
    expect(executions.get('e2')).toMatchObject({ errorCode: 'auth', errorMessage: 'bad key' });
    expect(executions.get('nope')).toBeUndefined();
    db.close();
  });
});
