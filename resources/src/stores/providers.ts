/** Providers, their live model lists and status, and which keys are stored (as hints only). */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { CommandResult } from '@contract';
import { guarded } from '../lib/guard';
import { providerState } from '../lib/words';
import { useConnectionStore } from './connection';

type ProviderInfo = CommandResult<'list_providers'>[number];
type ProviderModels = CommandResult<'list_models'>[number];
type SecretInfo = CommandResult<'list_secrets'>[number];

export const useProvidersStore = defineStore('providers', () => {
  const providers = ref<ProviderInfo[]>([]);
  const models = ref<ProviderModels[]>([]);
  const secrets = ref<SecretInfo[]>([]);
  const status = ref<'idle' | 'loading' | 'error'>('idle');
  const error = ref<string>();
  const message = ref<string>();
  const connection = useConnectionStore();
  const client = () => connection.require();

  const byName = computed(() => new Map(models.value.map((m) => [m.provider, m])));

  const guard = <T>(action: () => Promise<T>): Promise<T | undefined> => guarded(error, action);

  /**
   * Settings and key hints only: nothing here makes the sidecar contact a provider. It keeps the
   * error of the action before it on screen (a refused key or passphrase stays explained).
   */
  async function refreshSettings(): Promise<void> {
    try {
      const [p, s] = await Promise.all([client().invoke('list_providers', {}), client().invoke('list_secrets', {})]);
      providers.value = p;
      secrets.value = s;
    } catch (e) {
      error.value = e instanceof Error ? e.message : String(e);
    }
  }

  /**
   * Statuses and model lists again once a key is stored or removed: the chat's Send reads a
   * provider's status ("needs a key"). Not awaited (a list may wait on a network), and its failure
   * is left to the next refresh so the action's own error stays on screen. A key goes only to the
   * origin it was sealed with, so this contacts no address the user has not entered the key for.
   */
  function refreshStatuses(): void {
    client().invoke('list_models', {}).then((m) => (models.value = m), () => undefined);
  }

  const secretFor = (provider: string) => secrets.value.find((s) => s.provider === provider);

  /**
   * The new origin a stored key is not yet allowed to go to, when the provider's address moved
   * away from the origin the key was entered for; undefined when the key may be used as it is.
   */
  function pendingOrigin(provider: string): string | undefined {
    const keyOrigin = secretFor(provider)?.origin;
    const baseURL = providers.value.find((p) => p.name === provider)?.baseURL;
    if (keyOrigin == null || baseURL === undefined) return undefined;
    const target = originOf(baseURL);
    return target !== keyOrigin ? target : undefined;
  }

  async function refresh(): Promise<void> {
    status.value = 'loading';
    // The provider list and keys answer at once; model lists may wait on a network: each lands when it comes.
    await guard(() =>
      Promise.all([
        client().invoke('list_providers', {}).then((p) => (providers.value = p)),
        client().invoke('list_secrets', {}).then((s) => (secrets.value = s)),
        client().invoke('list_models', {}).then((m) => (models.value = m)),
      ]),
    );
    status.value = error.value ? 'error' : 'idle';
  }

  return {
    providers,
    models,
    secrets,
    status,
    error,
    message,
    byName,
    refresh,
    hasKey: (provider: string) => secrets.value.some((s) => s.provider === provider && s.present),
    hint: (provider: string) => secretFor(provider)?.hint ?? null,
    keyOrigin: (provider: string) => secretFor(provider)?.origin ?? null,
    pendingOrigin,
    /** The user confirmed, with the vault passphrase, that the key may go to the new address. */
    confirmOrigin: async (provider: string, passphrase: string) => {
      const saved = await guard(() => client().invoke('confirm_key_origin', { provider, passphrase }));
      if (saved) message.value = `The key for ${provider} may now be sent to ${saved.origin ?? ''}.`;
      await refreshSettings();
      return saved !== undefined;
    },
    setSecret: async (provider: string, secret: string) => {
      const saved = await guard(() => client().invoke('set_secret', { provider, secret }));
      if (saved) message.value = `Key for ${provider} stored (${saved.hint ?? ''}), for ${saved.origin ?? ''} only.`;
      await refreshSettings();
      if (saved) refreshStatuses();
      return saved !== undefined;
    },
    deleteSecret: async (provider: string) => {
      await guard(() => client().invoke('delete_secret', { provider }));
      await refreshSettings();
      refreshStatuses();
    },
    update: async (provider: string, patch: { baseURL?: string; enabled?: boolean; preset?: string; keepAlive?: string }) => {
      // No model list after a change: the next request to the new address is the user's own.
      await guard(() => client().invoke('update_provider', { provider, ...patch }));
      await refreshSettings();
    },
    test: async (provider: string) => {
      const result = await guard(() => client().invoke('test_connection', { provider }));
      if (result) message.value = `${provider}: ${providerState(result.status.state)}${result.status.detail ? ` (${result.status.detail})` : ''}, ${result.models} model(s).`;
    },
  };
});

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
