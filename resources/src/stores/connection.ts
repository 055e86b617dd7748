/** The channel to the sidecar: one client for the app, its state, and what `hello` told us. */
import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import { PROTOCOL_VERSION, type CommandResult } from '@contract';
import { SidecarClient, type ConnectionState, type Transport } from '../api/client';

export const useConnectionStore = defineStore('connection', () => {
  const client = shallowRef<SidecarClient>();
  const state = ref<ConnectionState>('connecting');
  const info = ref<CommandResult<'hello'>>();
  const error = ref<string>();

  /** Attaches a transport and greets the sidecar; retries a few times while it starts. */
  async function connect(transport: Transport): Promise<void> {
    const c = new SidecarClient(transport, { timeoutMs: 15_000 });
    c.onState((s) => (state.value = s));
    client.value = c;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        info.value = await c.invoke('hello', { protocolVersion: PROTOCOL_VERSION });
        c.setState('ready');
        return;
      } catch (e) {
        error.value = e instanceof Error ? e.message : String(e);
      }
    }
  }

  function require(): SidecarClient {
    if (client.value === undefined) throw new Error('Not connected to the sidecar yet.');
    return client.value;
  }

  return { client, state, info, error, connect, require };
});
