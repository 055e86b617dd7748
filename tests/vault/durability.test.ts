/**
 * A child process writing secrets is SIGKILLed at random moments, 50 times. After each restart every
 * write it acknowledged is present and readable, and the database passes its integrity check. The
 * same for a passphrase change killed mid-way: the old or the new passphrase opens the vault.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../extensions/ai-sidecar/src/storage/database.js';
import { SecretsRepository, VaultMetaRepository } from '../../extensions/ai-sidecar/src/storage/repositories.js';
import { Vault } from '../../extensions/ai-sidecar/src/vault/vault.js';

const root = path.resolve(__dirname, '../..');
const bundle = path.join(root, 'test-output', 'fixtures', 'writer.mjs');
let dir: string;

beforeAll(async () => {
  await mkdir(path.dirname(bundle), { recursive: true });
  await build({ entryPoints: [path.join(__dirname, 'fixtures/writer.ts')], outfile: bundle, bundle: true, platform: 'node', format: 'esm', target: 'node20', external: ['better-sqlite3'], logLevel: 'error' });
  dir = await mkdtemp(path.join(os.tmpdir(), 'sim-durability-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs the writer, kills it after a random moment past its first ack, returns what it acknowledged. */
function runAndKill(file: string, args: string[], maxDelayMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bundle, file, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const acks: string[] = [];
    let buffer = '';
    let armed = false;
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('ack ')) acks.push(line.slice(4));
      if (!armed && lines.includes('ready')) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), Math.random() * maxDelayMs);
      }
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(acks) : reject(new Error(`writer exited ${code}: ${stderr}`))));
  });
}

function reopen(file: string) {
  const { db } = openDatabase(file);
  expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  return { db, vault: new Vault(new VaultMetaRepository(db), new SecretsRepository(db), { workFactor: 10 }) };
}

describe('durability under SIGKILL', () => {
  it('keeps every acknowledged secret across 50 kills', async () => {
    const file = path.join(dir, 'secrets.db');
    const acknowledged: string[] = [];
    for (let round = 0; round < 50; round += 1) {
      acknowledged.push(...(await runAndKill(file, ['secrets', String(round * 100_000)], 150)));
      const { db, vault } = reopen(file);
      await vault.unlock('passphrase number A');
      for (const provider of acknowledged) expect(await vault.keyFor(provider, 'https://api.example.com'), provider).toMatch(/^key-\d+-0123456789abcdef$/);
      vault.dispose();
      db.close();
    }
    expect(acknowledged.length).toBeGreaterThan(50);
  }, 120_000);

  it('leaves the old or the new passphrase working when a change is killed mid-way', async () => {
    const file = path.join(dir, 'passphrase.db');
    for (let round = 0; round < 10; round += 1) {
      const acks = await runAndKill(file, ['passphrase'], 400);
      const { db, vault } = reopen(file);
      const opened = await vault.unlock('passphrase number A').then(() => 'A', () => vault.unlock('passphrase number B').then(() => 'B', () => 'neither'));
      expect(opened, `after ${acks.length} acknowledged changes`).not.toBe('neither');
      vault.dispose();
      db.close();
    }
  }, 60_000);
});
