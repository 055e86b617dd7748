/**
 * The sidecar's side of Neutralino's extension channel (see shared/neutralino-protocol.md §1–2, §7):
 * read the auth the runtime writes to stdin, connect back over WebSocket to 127.0.0.1, receive
 * `{event, data}` messages, and make native calls with string ids and a timeout each.
 */
import { randomUUID } from 'node:crypto';
import { connect as connectWebSocket, type CloseInfo, type WebSocketClient } from './websocket-client.js';

/** What the runtime writes to an extension's stdin (protocol doc §1). */
export interface NeutralinoAuth {
  readonly nlPort: string;
  readonly nlToken: string;
  readonly nlConnectToken: string;
  readonly nlExtensionId: string;
}

/** Reads stdin to its end (the runtime writes one JSON object, then closes it). */
export async function readAuth(input: NodeJS.ReadableStream, timeoutMs = 10_000): Promise<NeutralinoAuth> {
  const text = new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    input.on('data', (chunk: Buffer | string) => chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)));
    input.once('error', reject);
    input.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
  return parseAuth(await withinAuthTimeout(text, timeoutMs));
}

/** `text`, unless `timeoutMs` passes first: then the runtime is not the one that started us. */
async function withinAuthTimeout<T>(text: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('No auth arrived on stdin: start the sidecar through Neutralino.')), timeoutMs);
  });
  return Promise.race([text, timeout]).finally(() => clearTimeout(timer));
}

/** Where src/boot/sidecar.cjs leaves the promise of stdin's text it started reading at launch. */
const EARLY_STDIN = Symbol.for('sim-ai.early-stdin');

/**
 * The auth at start-up: from the text the boot file read while the modules loaded, when the process
 * was started with it (the sidecar's launch commands), else from `input` as `readAuth` reads it.
 */
export async function readStartupAuth(input: NodeJS.ReadableStream, timeoutMs = 10_000): Promise<NeutralinoAuth> {
  const early = (globalThis as Record<symbol, Promise<string | undefined> | undefined>)[EARLY_STDIN];
  const text = early === undefined ? undefined : await withinAuthTimeout(early, timeoutMs);
  return text === undefined ? readAuth(input, timeoutMs) : parseAuth(text);
}

/**
 * The runtime's auth line, checked field by field. It is the runtime's format, not the app's
 * contract, and checking it by hand keeps zod's schema building off the path to the first reply.
 */
export function parseAuth(text: string): NeutralinoAuth {
  // Only the first line matters: the runtime writes a single JSON object.
  const line = text.trim().split('\n')[0] ?? '';
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error('The auth on stdin is not JSON: start the sidecar through Neutralino.');
  }
  const record = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const field = (name: keyof NeutralinoAuth, pattern: RegExp): string => {
    const raw = name === 'nlPort' && typeof record[name] === 'number' ? String(record[name]) : record[name];
    if (typeof raw !== 'string' || !pattern.test(raw)) throw new Error(`The auth on stdin has no valid ${name}: start the sidecar through Neutralino.`);
    return raw;
  };
  return {
    nlPort: field('nlPort', /^\d{1,5}$/),
    nlToken: field('nlToken', /^\S+$/),
    nlConnectToken: field('nlConnectToken', /^\S+$/),
    nlExtensionId: field('nlExtensionId', /^[A-Za-z0-9.]+$/),
  };
}

export interface NativeError {
  readonly code: string;
  readonly message: string;
}

export class NativeCallError extends Error {
  override readonly name = 'NativeCallError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface NeutralinoLinkOptions {
  /** Per native call. Default 5 s: the runtime gives no reply at all to a malformed call. */
  readonly callTimeoutMs?: number;
  /** Host to dial. Default 127.0.0.1: the runtime listens on IPv4 only. */
  readonly host?: string;
  /** Called once the upgrade request is out (see WebSocketClientOptions). */
  readonly onRequestSent?: () => void;
}

type EventHandler = (event: string, data: unknown) => void;

/**
 * Events kept while nobody listens yet: the sidecar connects while its app is still loading, and the
 * page may dispatch the moment the runtime reports the connection. Bounded, so a flood before start
 * cannot grow it; past the bound an event is dropped (the client asks again).
 */
export const MAX_EARLY_EVENTS = 256;

export class NeutralinoLink {
  private readonly pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly handlers = new Set<EventHandler>();
  private early: { event: string; data: unknown }[] | undefined = [];
  /** Resolves once the socket has closed, for whatever reason, with the close code and reason. */
  readonly closed: Promise<CloseInfo>;

  private constructor(
    private readonly socket: WebSocketClient,
    private readonly auth: NeutralinoAuth,
    private readonly options: NeutralinoLinkOptions,
  ) {
    this.closed = socket.closed;
    // The client keeps messages that arrived with the handshake until this first listener: no early event is lost.
    socket.on('message', (raw) => this.receive(raw.toString()));
    void this.closed.then(() => this.rejectAll(new NativeCallError('disconnected', 'The Neutralino runtime went away.')));
  }

  /** Rejects with `Handshake refused: HTTP <status>` when the runtime refuses the connect token. */
  static async connect(auth: NeutralinoAuth, options: NeutralinoLinkOptions = {}): Promise<NeutralinoLink> {
    const host = options.host ?? '127.0.0.1';
    const query = new URLSearchParams({ extensionId: auth.nlExtensionId, connectToken: auth.nlConnectToken });
    const socket = await connectWebSocket(`ws://${host}:${auth.nlPort}/?${query.toString()}`, options.onRequestSent === undefined ? {} : { onRequestSent: options.onRequestSent });
    return new NeutralinoLink(socket, auth, options);
  }

  /** The first handler also receives, in order, the events that arrived before it. */
  onEvent(handler: EventHandler): () => void {
    this.handlers.add(handler);
    if (this.handlers.size === 1) this.drainEarly();
    return () => this.handlers.delete(handler);
  }

  /**
   * The early events one per turn of the event loop, so the first request's reply goes out before
   * the next one is handled (the runtime's client library sends every dispatch it queued at once).
   * Events arriving meanwhile queue behind them: the order holds.
   */
  private drainEarly(): void {
    const next = this.early?.shift();
    if (next === undefined) {
      this.early = undefined;
      return;
    }
    for (const handler of this.handlers) handler(next.event, next.data);
    setImmediate(() => this.drainEarly());
  }

  /** A native call such as `app.broadcast`; rejects with the runtime's `NE_*` code or on timeout. */
  call(method: string, data: unknown): Promise<unknown> {
    if (this.socket.state !== 'open') {
      return Promise.reject(new NativeCallError('disconnected', 'The Neutralino runtime is not connected.'));
    }
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      const timeoutMs = this.options.callTimeoutMs ?? 5_000;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new NativeCallError('timeout', `${method} got no reply within ${timeoutMs} ms.`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.socket.send(JSON.stringify({ id, method, accessToken: this.auth.nlToken, data }));
    });
  }

  /** Sends an event to every window (the UI hears it through `Neutralino.events.on`). */
  broadcast(event: string, data: unknown): Promise<unknown> {
    return this.call('app.broadcast', { event, data });
  }

  close(): void {
    this.socket.close();
  }

  private receive(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof message !== 'object' || message === null) return;
    const record = message as Record<string, unknown>;
    if (typeof record.id === 'string' && this.pending.has(record.id)) {
      this.settle(record.id, record.data);
    } else if (typeof record.event === 'string') {
      if (this.early !== undefined) {
        if (this.early.length < MAX_EARLY_EVENTS) this.early.push({ event: record.event, data: record.data });
        return;
      }
      for (const handler of this.handlers) handler(record.event, record.data);
    }
  }

  private settle(id: string, data: unknown): void {
    const entry = this.pending.get(id);
    if (entry === undefined) return;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    const error = (data as { error?: NativeError } | undefined)?.error;
    if (error !== undefined) entry.reject(new NativeCallError(error.code, error.message));
    else entry.resolve((data as { returnValue?: unknown } | undefined)?.returnValue ?? data);
  }

  private rejectAll(error: Error): void {
    for (const [id, entry] of this.pending) {
      clearTimeout(entry.timer);
      entry.reject(error);
      this.pending.delete(id);
    }
  }
}
