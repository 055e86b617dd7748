/**
 * What the headless runners share: an AIManager with the app's providers, keys from the
 * environment (OPENAI_API_KEY, ANTHROPIC_API_KEY, ...), providers enabled on demand, and small
 * formatting helpers. (`ask.ts` can move onto this once its flag handling settles.)
 */
import { EnvKeySource } from '../core/key-source.js';
import { AIManager } from '../core/manager.js';
import { MemoryProviderSettings, ProviderCatalog } from '../providers/catalog.js';
import { createLocalProvider, type LocalLlamaOptions } from '../providers/local-llama.js';

export class UsageError extends Error {}

export interface HeadlessAI {
  readonly manager: AIManager;
  /** Enables a provider (and sets its base URL when given); false for a name the app does not know. */
  enable(provider: string, baseURL?: string): boolean;
  dispose(): Promise<void>;
}

export function createHeadlessAI(local: LocalLlamaOptions = {}, env: NodeJS.ProcessEnv = process.env): HeadlessAI {
  const manager = new AIManager();
  const catalog = new ProviderCatalog(manager, new MemoryProviderSettings(), { keys: new EnvKeySource(env), createLocal: () => createLocalProvider(local) });
  return {
    manager,
    enable: (provider, baseURL) => {
      const descriptor = catalog.find(provider);
      if (descriptor === undefined) return false;
      if (baseURL !== undefined) catalog.update(provider, { baseURL, enabled: true });
      else if (!descriptor.enabled) catalog.update(provider, { enabled: true });
      return true;
    },
    dispose: () => manager.dispose(),
  };
}

export function formatMs(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '-' : `${ms.toFixed(0)} ms`;
}
