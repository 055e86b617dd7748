/** The channel to the sidecar: one client for the app, its state, and what `hello` told us. */
import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type { CommandResult } from '@contract';
import { PROTOCOL_VERSION } from '@contract/names';
import type { ConnectionState, SidecarClient, Transport } from '../api/client';

/** How long one greeting waits before it is sent again. */
export const HELLO_TIMEOUT_MS = 15_000;
/** When the window says why a start is slow (a start takes about a second). */
const SLOW_START_NOTICE_MS = 5_000;
/** Past this, a start is no longer explained by the database check. */
const LONG_START_MS = 10 * 60_000;
export const SLOW_START =
  'The app is still starting. After an unexpected shutdown (and once a week) it checks your saved conversations first, which can take a few minutes for a long history on a USB stick. Please wait: closing the app now would start the check again.';
export const HUNG_START = 'The app has not finished starting after 10 minutes. Close it and open it again.';

export const useConnectionStore = defineStore('connection', () => {
  const client = shallowRef<SidecarClient>();
  const state = ref<ConnectionState>('connecting');
  const info = ref<CommandResult<'hello'>>();
  const error = ref<string>();
  const transport = shallowRef<Transport>();
  /** Set when a restart was asked for and the runtime could not do it. */
  const restartError = ref<string>();

  /**
   * Attaches a transport and greets the sidecar. An engine that does not answer is waited for as long
   * as the runtime is up: a start after an unexpected shutdown checks the whole database first, which
   * takes minutes for a long history on a USB stick, and giving up would leave the window stuck while
   * the engine is fine. Other failures are tried three times.
   */
  async function connect(next: Transport): Promise<void> {
    transport.value = next;
    // The client brings the contract's schemas (zod): loaded here, after the first screen is drawn.
    const { SidecarClient } = await import('../api/client');
    const c = new SidecarClient(next, { timeoutMs: HELLO_TIMEOUT_MS });
    c.onState((s) => (state.value = s));
    client.value = c;
    const started = Date.now();
    // A start takes about a second; say why well before the first greeting times out.
    const slow = setTimeout(() => (error.value ??= SLOW_START), SLOW_START_NOTICE_MS);
    try {
      await greet(c, started);
    } finally {
      clearTimeout(slow);
    }
  }

  /** `hello` until it is answered, the runtime goes, or three failures that are not timeouts. */
  async function greet(c: SidecarClient, started: number): Promise<void> {
    for (let failures = 0; failures < 3; ) {
      try {
        info.value = await c.invoke('hello', { protocolVersion: PROTOCOL_VERSION });
        error.value = undefined;
        c.setState('ready');
        return;
      } catch (e) {
        // Gone for good: retrying would only wait out more timeouts.
        if (c.state === 'offline' || c.state === 'stopped') return;
        if ((e as { code?: unknown }).code === 'timeout') {
          error.value = Date.now() - started < LONG_START_MS ? SLOW_START : HUNG_START;
          continue;
        }
        error.value = `Still connecting: ${e instanceof Error ? e.message : String(e)}`;
        failures += 1;
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
