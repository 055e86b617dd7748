/**
 * Full scenario: create the vault, store keys, run requests that fail with 401 (the vendor echoes the
 * key), lock, unlock. Afterwards the key appears nowhere: not in the database or WAL bytes, not in
 * any vault method's result, not in any run's response or error.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AIManager } from '../../extensions/ai-sidecar/src/core/manager.js';
import { AnthropicProvider } from '../../extensions/ai-sidecar/src/providers/anthropic.js';
import { OpenAICompatibleProvider } from '../../extensions/ai-sidecar/src/providers/openai-compatible.js';
import { useCloudStandIns } from '../wire/cloud-stand-ins.js';
import { PASSPHRASE, freshVault } from './helpers.js';

const OPENAI_KEY = 'sk-proj-NOWHEREnowhereNOWHEREnowhere4242';
const ANTHROPIC_KEY = 'sk-ant-api03-NOWHEREnowhereNOWHERE-7373';
const standIns = useCloudStandIns();

function leaks(text: string): string[] {
  return [OPENAI_KEY, ANTHROPIC_KEY, OPENAI_KEY.slice(8, 24), ANTHROPIC_KEY.slice(14, 30)].filter((needle) => text.includes(needle));
}

describe('a stored key appears nowhere', () => {
  it('after init, set, 401s, lock and unlock', async () => {
    const fresh = await freshVault();
    const { vault } = fresh;
    const outputs: unknown[] = [];
    try {
      outputs.push(await vault.init(PASSPHRASE));
      const openaiOrigin = new URL(standIns.openai.url).origin;
      const anthropicOrigin = new URL(standIns.anthropic.url).origin;
      outputs.push(await vault.setSecret('openai', OPENAI_KEY, openaiOrigin));
      outputs.push(await vault.setSecret('anthropic', ANTHROPIC_KEY, anthropicOrigin));
      outputs.push(vault.listSecrets(), vault.status());

      const manager = new AIManager();
      manager.register(new OpenAICompatibleProvider({ providerName: 'openai', baseURL: `${standIns.openai.url}/v1` }, { getKey: (p) => vault.keyFor(p, openaiOrigin) }));
      manager.register(new AnthropicProvider({ baseURL: standIns.anthropic.url }, { getKey: (p) => vault.keyFor(p, anthropicOrigin) }));
      standIns.openai.script({ kind: 'auth_error' });
      standIns.anthropic.script({ kind: 'auth_error' });
      const failed = await Promise.all([
        manager.execute('openai', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).result,
        manager.execute('anthropic', { model: 'claude-test-1', messages: [{ role: 'user', content: 'hi' }] }).result,
      ]);
      expect(failed.map((r) => r.error?.code)).toEqual(['auth', 'auth']);
      // The vendor really did receive (and echo) the key: the test would catch a leak.
      expect(standIns.openai.requests.at(-1)?.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
      outputs.push(...failed);

      outputs.push(vault.lock());
      // While locked, cloud providers fail with the typed `locked` error and send nothing.
      const before = standIns.openai.requests.length;
      const locked = await manager.execute('openai', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).result;
      expect(locked.error?.code).toBe('locked');
      expect(standIns.openai.requests.length).toBe(before);
      expect((await manager.listAllModels()).find((e) => e.provider === 'anthropic')?.status.state).toBe('locked');
      outputs.push(locked, await vault.unlock(PASSPHRASE), vault.listSecrets());

      expect(leaks(JSON.stringify(outputs))).toEqual([]);
      fresh.db.pragma('wal_checkpoint(PASSIVE)');
      for (const name of await readdir(fresh.dir)) {
        const bytes = await readFile(path.join(fresh.dir, name));
        expect(leaks(bytes.toString('latin1')), name).toEqual([]);
      }
    } finally {
      await fresh.cleanup();
    }
  });
});
