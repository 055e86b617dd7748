/**
 * An extension for the real runtime that drives the sidecar's WebSocket client against websocketpp
 * (`websocket-client.real.test.ts` bundles and starts it): prints one `PROBE <json>` line with what it saw.
 */
import { readAuth, type NeutralinoAuth } from '../../extensions/ai-sidecar/src/channel/neutralino-link.js';
import { connect, type WebSocketClient } from '../../extensions/ai-sidecar/src/channel/websocket-client.js';

const PROBE_SIZES = [70_000, 5_000_000] as const;

/** `bytes` of UTF-8 with 1- to 4-byte characters. */
function probeText(bytes: number): string {
  return 'abcdé€😀'.repeat(Math.ceil(bytes / 13));
}

async function refusal(url: string): Promise<string> {
  try {
    (await connect(url)).close();
    return 'accepted';
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

function caller(socket: WebSocketClient, auth: NeutralinoAuth): (method: string, data: unknown) => Promise<unknown> {
  const waiting = new Map<string, (data: unknown) => void>();
  socket.on('message', (raw) => {
    const message = JSON.parse(raw.toString()) as { id?: string; data?: unknown };
    if (message.id !== undefined) waiting.get(message.id)?.(message.data);
  });
  let next = 0;
  return (method, data) =>
    new Promise((resolve) => {
      const id = `probe-${(next += 1)}`;
      waiting.set(id, resolve);
      socket.send(JSON.stringify({ id, method, accessToken: auth.nlToken, data }));
    });
}

const auth = await readAuth(process.stdin);
const base = `ws://127.0.0.1:${auth.nlPort}/?extensionId=${auth.nlExtensionId}`;
const refused = await refusal(`${base}&connectToken=wrong`);
const socket = await connect(`${base}&connectToken=${auth.nlConnectToken}`);
const echoed = new Map<string, boolean>();
socket.on('message', (raw) => {
  const message = JSON.parse(raw.toString()) as { event?: string; data?: unknown };
  const size = Number(message.event?.replace(/^probe-/, ''));
  if (PROBE_SIZES.includes(size as never)) echoed.set(String(size), message.data === probeText(size));
});
const call = caller(socket, auth);
const config = (await call('app.getConfig', {})) as { returnValue?: { applicationId?: string } };
// An event the runtime sends back to this extension: each size goes out and comes back.
for (const size of PROBE_SIZES) await call('extensions.dispatch', { extensionId: auth.nlExtensionId, event: `probe-${size}`, data: probeText(size) });
for (let waited = 0; echoed.size < PROBE_SIZES.length && waited < 10_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
socket.close();
const closed = await socket.closed;
process.stdout.write(`PROBE ${JSON.stringify({ refused, applicationId: config.returnValue?.applicationId, echoed: Object.fromEntries(echoed), closed })}\n`);
process.exit(0);
