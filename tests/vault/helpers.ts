/** A fresh database and vault in a temp folder, for each test. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../extensions/ai-sidecar/src/storage/database.js';
import { SecretsRepository, VaultMetaRepository } from '../../extensions/ai-sidecar/src/storage/repositories.js';
import { Vault, type VaultOptions } from '../../extensions/ai-sidecar/src/vault/vault.js';

export const PASSPHRASE = 'correct horse battery staple';

export async function freshVault(options: VaultOptions = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sim-vault-'));
  const file = path.join(dir, 'sim-ai.db');
  const { db } = openDatabase(file);
  const meta = new VaultMetaRepository(db);
  const secrets = new SecretsRepository(db);
  const vault = new Vault(meta, secrets, { workFactor: 10, ...options });
  return {
    dir,
    file,
    db,
    meta,
    secrets,
    vault,
    cleanup: async () => {
      vault.dispose();
      db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
