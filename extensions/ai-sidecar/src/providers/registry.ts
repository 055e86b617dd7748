/**
 * Which providers the app offers and how each is built from its (non-secret) settings: every
 * OpenAI-compatible preset, Anthropic, Ollama and the in-process local model.
 */
import type { KeySource } from '../core/key-source.js';
import type { AIProvider, ProviderKind } from '../core/types.js';
import { AnthropicProvider } from './anthropic.js';
import { OllamaProvider, OLLAMA_DEFAULT_HOST } from './ollama.js';
import { OpenAICompatibleProvider } from './openai-compatible.js';
import { OPENAI_COMPATIBLE_PRESETS, findPreset } from './presets.js';

/** What the user may change about a provider; stored in `provider_settings`. */
export interface ProviderSetting {
  readonly provider: string;
  readonly baseURL?: string | undefined;
  readonly preset?: string | undefined;
  readonly enabled?: boolean | undefined;
  /** Ollama only: the keep-alive to send (e.g. `10m`, `-1`); unset leaves Ollama's own. */
  readonly keepAlive?: string | undefined;
  /** Seconds of silence between stream parts before a run fails with `timeout`. Unset: 60 s. */
  readonly idleTimeoutSeconds?: number | undefined;
}

export interface ProviderDescriptor {
  readonly name: string;
  readonly kind: ProviderKind;
  readonly label: string;
  readonly keyRequired: boolean;
  readonly enabled: boolean;
  readonly baseURL?: string;
  readonly preset?: string;
  readonly keepAlive?: string;
  readonly idleTimeoutSeconds?: number;
}

/** Local servers are off until the user turns them on, so an idle app probes no ports. */
const OFF_BY_DEFAULT = new Set(['lmstudio', 'llamacpp-server', 'vllm']);

const BUILT_IN: readonly ProviderDescriptor[] = [
  ...OPENAI_COMPATIBLE_PRESETS.map((preset) => ({
    name: preset.id,
    kind: 'openai-compatible' as const,
    label: preset.label,
    keyRequired: preset.keyRequired,
    enabled: !OFF_BY_DEFAULT.has(preset.id),
    baseURL: preset.baseURL,
    preset: preset.id,
  })),
  { name: 'anthropic', kind: 'anthropic', label: 'Anthropic', keyRequired: true, enabled: true },
  { name: 'ollama', kind: 'ollama', label: 'Ollama', keyRequired: false, enabled: true, baseURL: OLLAMA_DEFAULT_HOST },
  { name: 'local', kind: 'local', label: 'Local model (llama.cpp)', keyRequired: false, enabled: true },
];

export function isKnownProvider(name: string): boolean {
  return BUILT_IN.some((descriptor) => descriptor.name === name);
}

/** The built-in providers with the user's settings applied. */
export function describeProviders(settings: readonly ProviderSetting[]): ProviderDescriptor[] {
  return BUILT_IN.map((builtIn) => applySetting(builtIn, settings.find((s) => s.provider === builtIn.name)));
}

function applySetting(builtIn: ProviderDescriptor, setting: ProviderSetting | undefined): ProviderDescriptor {
  if (setting === undefined) return builtIn;
  const preset = setting.preset === undefined ? undefined : findPreset(setting.preset);
  const baseURL = setting.baseURL ?? preset?.baseURL ?? builtIn.baseURL;
  return {
    ...builtIn,
    enabled: setting.enabled ?? builtIn.enabled,
    ...(baseURL === undefined ? {} : { baseURL }),
    ...(setting.preset === undefined ? {} : { preset: setting.preset }),
    ...(setting.keepAlive === undefined || builtIn.kind !== 'ollama' ? {} : { keepAlive: setting.keepAlive }),
    ...(setting.idleTimeoutSeconds === undefined ? {} : { idleTimeoutSeconds: setting.idleTimeoutSeconds }),
  };
}

export interface ProviderFactoryDeps {
  readonly keys: KeySource;
  /** Builds the in-process llama.cpp provider; it loads nothing until first used. */
  readonly createLocal: () => AIProvider;
}

export function createProvider(descriptor: ProviderDescriptor, deps: ProviderFactoryDeps): AIProvider {
  switch (descriptor.kind) {
    case 'openai-compatible': {
      const preset = findPreset(descriptor.preset ?? descriptor.name);
      return new OpenAICompatibleProvider(
        {
          providerName: descriptor.name,
          baseURL: descriptor.baseURL ?? preset?.baseURL ?? '',
          keyRequired: descriptor.keyRequired,
          maxTokensField: preset?.maxTokensField ?? 'max_tokens',
          supportsJsonSchema: preset?.supportsJsonSchema ?? true,
          ...idleTimeout(descriptor),
        },
        deps.keys,
      );
    }
    case 'anthropic':
      return new AnthropicProvider({ providerName: descriptor.name, ...(descriptor.baseURL === undefined ? {} : { baseURL: descriptor.baseURL }), ...idleTimeout(descriptor) }, deps.keys);
    case 'ollama':
      return new OllamaProvider({
        providerName: descriptor.name,
        ...(descriptor.baseURL === undefined ? {} : { host: descriptor.baseURL }),
        ...(descriptor.keepAlive === undefined ? {} : { keepAlive: descriptor.keepAlive }),
        ...idleTimeout(descriptor),
      });
    case 'local':
      return deps.createLocal();
  }
}

function idleTimeout(descriptor: ProviderDescriptor): { idleTimeoutMs?: number } {
  return descriptor.idleTimeoutSeconds === undefined ? {} : { idleTimeoutMs: descriptor.idleTimeoutSeconds * 1000 };
}
