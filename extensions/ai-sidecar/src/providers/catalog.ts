/**
 * The live set of providers: descriptors from settings, instances registered with the AIManager,
 * rebuilt when the user changes a provider's base URL, preset or enabled flag, and when the vault
 * locks (so no SDK client keeps a key).
 *
 * Each provider reads its key through a key source bound to the origin of the URL it was built
 * with: the vault hands a key out only for the origin it was entered for, so a changed base URL
 * (from the UI, a page script or a planted setting) never carries the stored key anywhere else.
 * Changing a setting sends nothing: the next request is the user's.
 */
import type { KeySource } from '../core/key-source.js';
import type { AIManager } from '../core/manager.js';
import { mayCarryKey, originOf, OriginError, parseHttpUrl, type OriginKeySource } from '../core/origin.js';
import type { AIProvider } from '../core/types.js';
import { createProvider, describeProviders, type ProviderDescriptor, type ProviderSetting } from './registry.js';

/** The SDK's own default, made explicit so the origin checked is the origin used. */
export const ANTHROPIC_DEFAULT_BASE_URL = 'https://api.anthropic.com';

export interface CatalogDeps {
  /**
   * The vault (keys bound to origins). The command-line tool passes environment keys, which the
   * user names together with the URL on the same command line; those are still never sent over
   * plain http to another computer.
   */
  readonly keys: OriginKeySource | KeySource;
  /** Builds the in-process llama.cpp provider; it loads nothing until first used. */
  readonly createLocal: () => AIProvider;
}

/** The origin a provider's key is bound to when the user has changed nothing. */
export function defaultOrigin(name: string): string | undefined {
  const builtIn = withDefaultURL(describeProviders([])).find((d) => d.name === name);
  return builtIn?.baseURL === undefined ? undefined : originOf(builtIn.baseURL);
}

/** Where provider settings persist (the storage layer's provider_settings table, or memory). */
export interface ProviderSettingsStore {
  list(): ProviderSetting[];
  save(setting: ProviderSetting): void;
}

export class MemoryProviderSettings implements ProviderSettingsStore {
  private readonly settings = new Map<string, ProviderSetting>();
  list(): ProviderSetting[] {
    return [...this.settings.values()];
  }
  save(setting: ProviderSetting): void {
    this.settings.set(setting.provider, setting);
  }
}

export class ProviderCatalog {
  private local: AIProvider | undefined;

  constructor(
    private readonly manager: AIManager,
    private readonly store: ProviderSettingsStore,
    private readonly deps: CatalogDeps,
  ) {
    this.rebuild();
  }

  list(): ProviderDescriptor[] {
    return withDefaultURL(describeProviders(this.store.list()));
  }

  /** The origin a key stored now for this provider is bound to (its current base URL's). */
  keyOrigin(name: string): string {
    const descriptor = this.find(name);
    if (descriptor?.baseURL === undefined) throw new OriginError(`${name} has no address a key could be sent to.`);
    return originOf(descriptor.baseURL);
  }

  /** New instances for every enabled provider: the old ones, and the SDK clients holding keys, are dropped. */
  rebuild(): void {
    for (const descriptor of this.list()) if (descriptor.enabled) this.manager.register(this.build(descriptor));
  }

  find(name: string): ProviderDescriptor | undefined {
    return this.list().find((descriptor) => descriptor.name === name);
  }

  /** Saves the change and swaps the provider instance; runs already going keep the old one. */
  update(name: string, patch: Omit<ProviderSetting, 'provider'>): ProviderDescriptor | undefined {
    const current = this.find(name);
    if (current === undefined) return undefined;
    if (patch.baseURL !== undefined) checkBaseURL(current, patch.baseURL);
    const previous = this.store.list().find((s) => s.provider === name) ?? { provider: name };
    this.store.save({ ...previous, ...definedOnly(patch) });
    const descriptor = this.find(name);
    if (descriptor === undefined) return undefined;
    if (descriptor.enabled) this.manager.register(this.build(descriptor));
    else this.manager.unregister(name);
    return descriptor;
  }

  private build(descriptor: ProviderDescriptor): AIProvider {
    // One local provider for the app's life: it owns the loaded model.
    if (descriptor.kind === 'local') return (this.local ??= this.deps.createLocal());
    return createProvider(descriptor, { keys: this.boundKeys(descriptor), createLocal: this.deps.createLocal });
  }

  /** The provider's keys, only for the origin it was built to send requests to. */
  private boundKeys(descriptor: ProviderDescriptor): KeySource {
    return {
      getKey: (provider) => {
        if (descriptor.baseURL === undefined) return Promise.reject(new OriginError(`${provider} has no address a key could be sent to.`));
        const origin = originOf(descriptor.baseURL);
        const keys = this.deps.keys;
        if ('keyFor' in keys) return keys.keyFor(provider, origin);
        return keys.getKey(provider).then((key) => {
          if (key !== undefined && !mayCarryKey(origin)) throw new OriginError(`${origin} uses plain http to another computer: a key is never sent unencrypted. Use https.`);
          return key;
        });
      },
    };
  }
}

/**
 * Only http and https, without credentials in the URL; a provider that needs a key may not use
 * plain http except to this computer, since the key would travel readable on the network.
 */
function checkBaseURL(descriptor: ProviderDescriptor, url: string): void {
  const origin = parseHttpUrl(url).origin;
  if (descriptor.keyRequired && !mayCarryKey(origin)) {
    throw new OriginError(`${descriptor.label} needs a key, and a key is never sent over plain http to another computer. Use an https address.`);
  }
}

function withDefaultURL(descriptors: ProviderDescriptor[]): ProviderDescriptor[] {
  return descriptors.map((d) => (d.kind === 'anthropic' && d.baseURL === undefined ? { ...d, baseURL: ANTHROPIC_DEFAULT_BASE_URL } : d));
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
