/**
 * Where provider keys come from. The vault implements this; until it is unlocked it throws the typed
 * `locked` error. `EnvKeySource` reads the conventional environment variables for headless use.
 */
import { AIError } from './errors.js';
import { registerSecret } from './redact.js';
import type { ProviderStatus } from './types.js';
export interface KeySource {
  /** The key for a provider, or undefined when none is stored. Throws `AIError('locked')` when locked. */
  getKey(providerName: string): Promise<string | undefined>;
}

const ENV_NAMES: Readonly<Record<string, string>> = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  openrouter: 'OPENROUTER_API_KEY',
  groq: 'GROQ_API_KEY',
  together: 'TOGETHER_API_KEY',
  deepseek: 'DEEPSEEK_API_KEY',
  mistral: 'MISTRAL_API_KEY',
};

export class EnvKeySource implements KeySource {
  /** Every key in the environment is registered with the redactor at once, like a decrypted vault key. */
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {
    for (const [name, value] of Object.entries(env)) {
      if (/_API_KEY$/.test(name) && value !== undefined && value.trim() !== '') registerSecret(value.trim());
    }
  }

  getKey(providerName: string): Promise<string | undefined> {
    const name = ENV_NAMES[providerName] ?? `${providerName.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_API_KEY`;
    const value = this.env[name]?.trim();
    return Promise.resolve(value === undefined || value === '' ? undefined : value);
  }
}

/** Tries each source in order; the first defined key wins. A `locked` error from one source propagates. */
export class ChainedKeySource implements KeySource {
  constructor(private readonly sources: readonly KeySource[]) {}

  async getKey(providerName: string): Promise<string | undefined> {
    for (const source of this.sources) {
      const key = await source.getKey(providerName);
      if (key !== undefined) return key;
    }
    return undefined;
  }
}

/** A keyed provider's cheap status: ready, needs a key, or vault locked. Spends no tokens. */
export async function keyStatus(keys: KeySource, provider: string, required = true): Promise<ProviderStatus> {
  try {
    const key = await keys.getKey(provider);
    return key === undefined && required ? { state: 'needs_key', detail: 'No API key stored.' } : { state: 'ready' };
  } catch (error) {
    if (error instanceof AIError && error.code === 'locked') return { state: 'locked', detail: error.message };
    throw error;
  }
}

/** The key a request needs, or the typed `auth` error that tells the user where to add one. */
export async function requireKey(keys: KeySource, provider: string): Promise<string> {
  const key = await keys.getKey(provider);
  if (key === undefined) throw new AIError('auth', `No API key stored for ${provider}. Add one under Providers.`, { provider });
  return key;
}
