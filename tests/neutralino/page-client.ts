/**
 * Plays the page's side of the protocol with a raw WebSocket, as @neutralinojs/lib does: native calls
 * `{id, method, data, accessToken}`, events `{event, data}`. For channel tests and benchmarks that
 * need no browser.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { PROTOCOL_VERSION, REPLY_EVENT, REQUEST_EVENT, SIDECAR_ID, type ReplyEnvelope } from '../../extensions/ai-sidecar/src/protocol/contract.js';
import type { StandIn } from './runtime.js';

export class PageClient {
  private readonly pending = new Map<string, (data: unknown) => void>();
  private readonly listeners = new Set<(event: string, data: unknown) => void>();

  private constructor(
    private readonly ws: WebSocket,
    private readonly token: string,
  ) {
    ws.on('message', (raw) => {
      const message = JSON.parse(raw.toString()) as { id?: string; event?: string; data?: unknown };
      if (message.id !== undefined) this.pending.get(message.id)?.(message.data);
      else if (message.event !== undefined) for (const l of this.listeners) l(message.event, message.data);
    });
  }

  /** Connects to a runtime's socket: the stand-in, or the real runtime by its port and token. */
  static async connect(runtime: Pick<StandIn, 'port' | 'token'>, token = runtime.token): Promise<PageClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${runtime.port}?connectToken=${token.split('.')[1] ?? ''}`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new PageClient(ws, token);
  }

  on(listener: (event: string, data: unknown) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A native call; one the runtime never answers fails naming the method instead of hanging. */
  native(method: string, data: unknown = {}, timeoutMs = 30_000): Promise<unknown> {
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no answer to the native call ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, (value) => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(value);
      });
      this.ws.send(JSON.stringify({ id, method, data, accessToken: this.token }));
    });
  }

  async waitForSidecar(timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const stats = (await this.native('extensions.getStats')) as { returnValue?: { connected: string[] } };
      if (stats.returnValue?.connected.includes(SIDECAR_ID)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the sidecar did not connect');
  }

  /**
   * Sends a contract request and resolves with its one reply. A reply that never comes fails with the
   * command's name after `timeoutMs`, instead of hanging the calling hook until its own timeout.
   */
  request(command: string, params: unknown = {}, envelope: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<ReplyEnvelope> {
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`no reply to ${command} within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.on((event, data) => {
        if (event === REPLY_EVENT && (data as { id?: string }).id === id) {
          clearTimeout(timer);
          off();
          resolve(data as ReplyEnvelope);
        }
      });
      this.native('extensions.dispatch', { extensionId: SIDECAR_ID, event: REQUEST_EVENT, data: { v: PROTOCOL_VERSION, id, command, params, ...envelope } }).catch(() => undefined); // the reply's own timer reports a lost request
    });
  }

  close(): void {
    this.ws.close();
  }
}
