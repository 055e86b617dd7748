/** The production transport: @neutralinojs/lib's dispatch to the sidecar and its event bus. */
import { app, events, extensions, init } from '@neutralinojs/lib';
import type { RequestEnvelope } from '@contract';
import { RESTART_EXIT_CODE, SIDECAR_ID, REQUEST_EVENT } from '@contract/names';
import type { Transport } from './client';

export function neutralinoTransport(): Transport {
  init();
  return {
    send: async (envelope: RequestEnvelope) => {
      await extensions.dispatch(SIDECAR_ID, REQUEST_EVENT, envelope);
    },
    on: (event, handler) => {
      void events.on(event, (e: CustomEvent) => handler(e.detail));
    },
    onOffline: (handler) => {
      void events.on('serverOffline', () => handler());
    },
    // The runtime broadcasts this when an extension's socket closes; nothing restarts it.
    onSidecarStopped: (handler) => {
      void events.on('extClientDisconnect', (e: CustomEvent) => {
        if (e.detail === SIDECAR_ID) handler();
      });
    },
    // The library's restartProcess needs `os.execCommand`, which the page must never have. Leaving with
    // RESTART_EXIT_CODE asks the launcher to start the app again; a runtime started some other way just
    // closes, so give up after a moment and let the UI say how to restart by hand.
    restartApp: () =>
      Promise.race([
        app.exit(RESTART_EXIT_CODE),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the runtime did not restart the app')), 3_000)),
      ]),
  };
}

/** Resolves once the runtime's socket is open (the library raises `ready`). */
export function whenReady(): Promise<void> {
  return new Promise((resolve) => void events.on('ready', () => resolve()));
}
