/**
 * The sidecar process as Neutralino starts it: read the auth the runtime writes to stdin, connect
 * back over the extension WebSocket, serve the contract's commands, and exit by itself when the
 * socket closes (the runtime never kills extensions).
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSidecar } from './app.js';
import { Dispatcher } from './channel/dispatcher.js';
import { NeutralinoLink, readStartupAuth } from './channel/neutralino-link.js';
import type { EmitEvent } from './channel/run-streamer.js';
import { log } from './log.js';
import { routeConsoleToLog } from './providers/sdk-logging.js';
import { EVENTS, PROTOCOL_VERSION, REPLY_EVENT, REQUEST_EVENT } from './protocol/contract.js';
import { SIDECAR_VERSION } from './app.js';

// libuv's pool is sized by src/boot/preload.cjs, which every launch command loads with `--require`
// (the sidecar's through src/boot/sidecar.cjs, which also starts reading the auth): by the time this
// module's first line runs, Node 20's loader has started the pool already.
// Libraries that print (the Ollama client) go through the redactor, never raw to the runtime's log.
routeConsoleToLog();

const WARM_UP_DELAY_MS = 1000;
/** How a run starts from the window: their schemas are prepared with the warm-up. */
const RUN_COMMANDS = ['call_ai_provider', 'send_message'] as const;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'app-dir': { type: 'string' } }, allowPositionals: true });
  const appDir = values['app-dir'] ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  const auth = await readStartupAuth(process.stdin);
  // The app is built while the runtime answers the WebSocket handshake, not after: once the upgrade
  // request is out (or the connection has failed, reported where `linked` is awaited below).
  let linked!: Promise<NeutralinoLink>;
  await new Promise<void>((requestSent) => {
    linked = NeutralinoLink.connect(auth, { onRequestSent: requestSent });
    linked.catch(() => requestSent());
  });
  const send = (event: string, data: unknown): void => {
    linked
      .then((link) => link.broadcast(event, data))
      .catch((error: unknown) => log('warn', `broadcast ${event} failed: ${error instanceof Error ? error.message : String(error)}`));
  };
  const emit: EmitEvent = (event, payload) => send(event, payload);
  const sidecar = createSidecar({ appDir, env: process.env, emit });
  const dispatcher = new Dispatcher(sidecar.handlers, (reply) => send(REPLY_EVENT, reply));
  const link = await linked;
  link.onEvent((event, data) => {
    if (event === REQUEST_EVENT) void dispatcher.handle(data);
  });
  send(EVENTS.ready, { protocolVersion: PROTOCOL_VERSION, sidecarVersion: SIDECAR_VERSION });
  // After the replies to the first requests: opening stderr for the first line takes ~1 ms.
  setImmediate(() => log('info', `sidecar ready; data in ${sidecar.info.dataDir}${sidecar.info.readOnly ? ' (read-only)' : ''}`));
  // Once the window has had its start-up second, build the run commands' schemas and get llama.cpp
  // ready, so a first local run waits only for its model file. A failure here is reported again by
  // the run that needs the backend.
  setTimeout(() => {
    dispatcher.prepare(RUN_COMMANDS);
    sidecar.warmUpLocal().then(
      (warmed) => warmed && log('info', 'local model backend ready'),
      (error: unknown) => log('warn', `local model backend did not start: ${error instanceof Error ? error.message : String(error)}`),
    );
  }, WARM_UP_DELAY_MS).unref();

  const ended = await link.closed;
  // A protocol failure (1002, 1007, 1009) would otherwise leave no trace of why the sidecar stopped.
  log('info', `runtime link closed: ${ended.code}${ended.reason === '' ? '' : ` (${ended.reason})`}`);
  // Give the shutdown half a second at most, then leave regardless.
  setTimeout(() => process.exit(0), 500).unref();
  await sidecar.dispose().catch(() => undefined);
  process.exit(0);
}

main().catch((error: unknown) => {
  log('error', `sidecar failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
