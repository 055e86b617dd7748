/** The channel to the sidecar: one client for the app, its state, and what `hello` told us. */
import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type { CommandResult } from '@contract';
import { PROTOCOL_VERSION } from '@contract/names';
import type { ConnectionState, SidecarClient, Transport } from '../api/client';

export const useConnectionStore = defineStore('connection', () => {
  const client = shallowRef<SidecarClient>();
  const state = ref<ConnectionState>('connecting');
  const info = ref<CommandResult<'hello'>>();
  const error = ref<string>();
  const transport = shallowRef<Transport>();
  /** Set when a restart was asked for and the runtime could not do it. */
  const restartError = ref<string>();

  /** Attaches a transport and greets the sidecar; retries a few times while it starts. */
  async function connect(next: Transport): Promise<void> {
    transport.value = next;
    // The client brings the contract's schemas (zod): loaded here, after the first screen is drawn.
    const { SidecarClient } = await import('../api/client');
    const c = new SidecarClient(next, { timeoutMs: 15_000 });
    c.onState((s) => (state.value = s));
    client.value = c;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        info.value = await c.invoke('hello', { protocolVersion: PROTOCOL_VERSION });
        c.setState('ready');
        return;
      } catch (e) {
        error.value = e instanceof Error ? e.message : String(e);
        // Gone for good: retrying would only wait out more timeouts.
        if (c.state === 'offline' || c.state === 'stopped') return;
      }
    }
  }

  function require(): SidecarClient {
    if (client.value === undefined) throw new Error('Not connected to the sidecar yet.');
    return client.value;
  }

  /** The engine stopped: restart the whole app, or say how to when the runtime will not. */
  async function restart(): Promise<void> {
    restartError.value = undefined;
    try {
      if (transport.value?.restartApp === undefined) throw new Error('no restart');
      await transport.value.restartApp();
    } catch {
      restartError.value = 'The app could not restart itself. Close this window and open Sim AI again.';
    }
  }

  return { client, state, info, error, restartError, connect, require, restart };
});
