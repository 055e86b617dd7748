/**
 * The live set of providers: descriptors from settings, instances registered with the AIManager,
 * rebuilt when the user changes a provider's base URL, preset or enabled flag.
 */
import type { AIManager } from '../core/manager.js';
import type { AIProvider } from '../core/types.js';
import { createProvider, describeProviders, type ProviderDescriptor, type ProviderFactoryDeps, type ProviderSetting } from './registry.js';

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
    private readonly deps: ProviderFactoryDeps,
  ) {
    for (const descriptor of this.list()) if (descriptor.enabled) this.manager.register(this.build(descriptor));
  }

  list(): ProviderDescriptor[] {
    return describeProviders(this.store.list());
  }

  find(name: string): ProviderDescriptor | undefined {
    return this.list().find((descriptor) => descriptor.name === name);
  }

  /** Saves the change and swaps the provider instance; runs already going keep the old one. */
  update(name: string, patch: Omit<ProviderSetting, 'provider'>): ProviderDescriptor | undefined {
    if (this.find(name) === undefined) return undefined;
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
    return createProvider(descriptor, this.deps);
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
