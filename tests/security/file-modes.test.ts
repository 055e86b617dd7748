/**
 * Issue 12: the data folder is 0700 and the database, WAL and SHM 0600, whatever the umask the app
 * was started with; an existing, looser folder is tightened. As the attack: another user of the
 * machine (`nobody`) tries to read the vault database and list the folder.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSidecarOnce, ROOT } from '../neutralino/build-once.js';
import { PageClient } from '../neutralino/page-client.js';
import { startNeutralinoStandIn, type StandIn } from '../neutralino/runtime.js';

let work: string;
const mode = (file: string) => statSync(file).mode & 0o777;
/** Runs `cat`/`ls` as the unprivileged user `nobody`; true when it could read. */
const nobodyCan = (command: string, target: string) => spawnSync('runuser', ['-u', 'nobody', '--', command, target], { stdio: 'ignore' }).status === 0;
const canSwitchUser = spawnSync('runuser', ['-u', 'nobody', '--', 'true']).status === 0;

async function runSidecar(dataDir: string): Promise<void> {
  const runtime: StandIn = await startNeutralinoStandIn({ appDir: ROOT, env: { ...process.env, SIM_AI_DATA_DIR: dataDir } });
  const page = await PageClient.connect(runtime);
  try {
    await page.waitForSidecar();
    expect((await page.request('vault_init', { passphrase: 'a long and honest passphrase' })).ok).toBe(true);
    expect((await page.request('set_secret', { provider: 'openai', secret: 'sk-proj-MODESmodesMODESmodes0600' })).ok).toBe(true);
    // Checked while the sidecar runs, when the WAL and SHM exist.
    for (const file of ['sim-ai.db', 'sim-ai.db-wal', 'sim-ai.db-shm']) expect(mode(path.join(dataDir, file)), file).toBe(0o600);
    expect(mode(dataDir)).toBe(0o700);
    if (canSwitchUser) {
      expect(nobodyCan('cat', path.join(dataDir, 'sim-ai.db'))).toBe(false);
      expect(nobodyCan('ls', dataDir)).toBe(false);
    }
  } finally {
    page.close();
    await runtime.close();
    runtime.killAll();
  }
}

beforeAll(async () => {
  await buildSidecarOnce();
  work = await mkdtemp(path.join(os.tmpdir(), 'sim-modes-'));
  // Open to everyone, so only the app's own modes stand between `nobody` and the files.
  chmodSync(work, 0o755);
}, 60_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('file modes', () => {
  it('the probe works: with the default umask, nobody can read a file here', () => {
    const probe = path.join(work, 'probe.txt');
    writeFileSync(probe, 'x', { mode: 0o644 });
    if (canSwitchUser) expect(nobodyCan('cat', probe)).toBe(true);
  });

  it('attack: a new data folder is 0700 and the DB, WAL and SHM 0600 under umask 022, so another user reads nothing', async () => {
    const previous = process.umask(0o022);
    try {
      await runSidecar(path.join(work, 'fresh', 'data'));
    } finally {
      process.umask(previous);
    }
  });

  it('attack: an existing folder and database made readable to all are tightened at start', async () => {
    const dataDir = path.join(work, 'loose');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    execFileSync('sqlite3', [path.join(dataDir, 'sim-ai.db'), 'PRAGMA user_version = 0;'], { stdio: 'ignore' });
    chmodSync(path.join(dataDir, 'sim-ai.db'), 0o644);
    await runSidecar(dataDir);
  });
});
