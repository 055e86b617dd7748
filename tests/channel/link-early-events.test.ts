/**
 * The link holds events that arrive before anyone listens (the sidecar connects before its app is
 * built): the first handler gets them in order, at most MAX_EARLY_EVENTS of them, one per turn of the
 * event loop (a request's reply goes out before the next request is handled), then events flow live.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_EARLY_EVENTS, NeutralinoLink } from '../../extensions/ai-sidecar/src/channel/neutralino-link.js';

let server: WebSocketServer | undefined;
let link: NeutralinoLink | undefined;

afterEach(async () => {
  link?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

async function connected(): Promise<WebSocket> {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server?.once('listening', () => resolve()));
  const port = (server.address() as { port: number }).port;
  const peer = new Promise<WebSocket>((resolve) => server?.once('connection', (socket) => resolve(socket)));
  link = await NeutralinoLink.connect({ nlPort: String(port), nlToken: 't', nlConnectToken: 'c', nlExtensionId: 'ai.sidecar' });
  return peer;
}

describe('events before the first handler', () => {
  it('are kept in order up to the bound, handed to the first handler, and later events flow live', async () => {
    const runtime = await connected();
    const sent = MAX_EARLY_EVENTS + 44;
    for (let i = 0; i < sent; i += 1) runtime.send(JSON.stringify({ event: 'sim.request', data: i }));
    // A native call answered after those events, on the same ordered stream: once the link has its
    // answer, it has read every event above.
    runtime.once('message', (raw: Buffer) => runtime.send(JSON.stringify({ id: (JSON.parse(raw.toString()) as { id: string }).id, data: {} })));
    await link?.call('app.getConfig', {});
    const heard: unknown[] = [];
    link?.onEvent((_event, data) => {
      heard.push(data);
      // Like the dispatcher: the reply goes out a few promise turns after the request is handled.
      if (data === 0) void Promise.resolve().then(() => Promise.resolve()).then(() => heard.push('reply to 0'));
    });
    // An event arriving while the early ones are still being handed over queues behind them.
    runtime.send(JSON.stringify({ event: 'sim.request', data: 'live' }));
    await expect.poll(() => heard.at(-1)).toBe('live');
    // The first request's reply went out before the second request was handled.
    expect(heard.slice(0, 3)).toEqual([0, 'reply to 0', 1]);
    expect(heard.filter((d) => typeof d === 'number')).toEqual(Array.from({ length: MAX_EARLY_EVENTS }, (_, i) => i));
    expect(heard).toHaveLength(MAX_EARLY_EVENTS + 2);
  });
});
