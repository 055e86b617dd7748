/** Providers, their live model lists and status, and which keys are stored (as hints only). */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { CommandResult } from '@contract';
import { caughtText, providerState } from '../lib/words';
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

  async function guard<T>(action: () => Promise<T>): Promise<T | undefined> {
    error.value = undefined;
    try {
      return await action();
    } catch (e) {
      error.value = caughtText(e);
      return undefined;
    }
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
    hint: (provider: string) => secrets.value.find((s) => s.provider === provider)?.hint ?? null,
    setSecret: async (provider: string, secret: string) => {
      const saved = await guard(() => client().invoke('set_secret', { provider, secret }));
      if (saved) message.value = `Key for ${provider} stored (${saved.hint ?? ''}).`;
      await refresh();
      return saved !== undefined;
    },
    deleteSecret: async (provider: string) => {
      await guard(() => client().invoke('delete_secret', { provider }));
      await refresh();
    },
    update: async (provider: string, patch: { baseURL?: string; enabled?: boolean; preset?: string; keepAlive?: string }) => {
      await guard(() => client().invoke('update_provider', { provider, ...patch }));
      await refresh();
    },
    test: async (provider: string) => {
      const result = await guard(() => client().invoke('test_connection', { provider }));
      if (result) message.value = `${provider}: ${providerState(result.status.state)}${result.status.detail ? ` (${result.status.detail})` : ''}, ${result.models} model(s).`;
    },
  };
});
