/**
 * A small RFC 6455 client over `node:net`, for the one peer the sidecar talks to: the Neutralino
 * runtime on 127.0.0.1. It replaces `ws` on the start path (issue 13): `ws` pulls http, https, tls,
 * zlib and a native-addon loader, and handshakes through http.request, which cost the sidecar
 * ~15 ms (Node 20) to ~20 ms (Node 24) before its first reply. Plain `ws://` only, no extensions,
 * no subprotocols.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect as dial, type Socket } from 'node:net';
import { CLOSE_CODE, IncomingReader, OPCODE, WebSocketProtocolError, closePayload, encodeFrame, isValidCloseCode, type Incoming } from './websocket-frames.js';

export { WebSocketProtocolError } from './websocket-frames.js';

const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MAX_RESPONSE_HEAD_BYTES = 16 * 1024;

export type WebSocketState = 'open' | 'closing' | 'closed';

/** How the connection ended: the peer's close code (1005 if its close frame had none), the code we
 *  failed it with, or 1006 when the socket went away without a close frame. */
export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

export interface WebSocketTarget {
  readonly host: string;
  readonly port: number;
  /** Path and query. Default `/`. */
  readonly path?: string;
}

export interface WebSocketClientOptions {
  /** Largest message accepted, in bytes; a larger one closes with 1009. Default 64 MiB (the runtime caps at 32 MB). */
  readonly maxMessageBytes?: number;
  /** How long `close()` waits for the peer's close frame or end before dropping the socket. Default 1000 ms. */
  readonly closeTimeoutMs?: number;
  /** How long the server may take to answer the handshake. Default 10 s. */
  readonly handshakeTimeoutMs?: number;
  /** Called once the upgrade request is out: the caller can work while the server answers. */
  readonly onRequestSent?: () => void;
}

/** The handshake failed: refused (`status` set, message `Handshake refused: HTTP <status>`) or malformed. */
export class WebSocketHandshakeError extends Error {
  override readonly name = 'WebSocketHandshakeError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

interface Events {
  /** A whole message: text as a string, binary as a Buffer. */
  message: [data: string | Buffer];
  error: [error: Error];
  close: [info: CloseInfo];
}
type Listener<K extends keyof Events> = (...args: Events[K]) => void;

/** Opens a connection; resolves once the server has accepted the handshake. */
export async function connect(target: string | URL | WebSocketTarget, options: WebSocketClientOptions = {}): Promise<WebSocketClient> {
  const resolved = resolveTarget(target);
  const socket = dial({ host: resolved.host, port: resolved.port });
  socket.setNoDelay(true);
  const leftover = await handshake(socket, resolved, options.handshakeTimeoutMs ?? 10_000, options.onRequestSent);
  return new WebSocketClient(socket, leftover, options);
}

function resolveTarget(target: string | URL | WebSocketTarget): Required<WebSocketTarget> {
  if (typeof target !== 'string' && !(target instanceof URL)) return { path: '/', ...target };
  const url = typeof target === 'string' ? new URL(target) : target;
  if (url.protocol !== 'ws:') throw new Error(`Only ws:// URLs are supported, not ${url.protocol}//.`);
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port === '' ? 80 : Number(url.port), path: `${url.pathname || '/'}${url.search}` };
}

/** Sends the upgrade request and waits for the 101; resolves with any frame bytes that came with it. */
function handshake(socket: Socket, target: Required<WebSocketTarget>, timeoutMs: number, onRequestSent?: () => void): Promise<Buffer> {
  const key = randomBytes(16).toString('base64');
  const accept = createHash('sha1').update(key + ACCEPT_GUID).digest('base64');
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  socket.write(
    `GET ${target.path} HTTP/1.1\r\nHost: ${host}:${target.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    // Called once the connection is open and the request has been handed to the system.
    (error) => error === undefined || error === null ? onRequestSent?.() : undefined,
  );
  return new Promise((resolve, reject) => {
    let head: Buffer = Buffer.alloc(0);
    const settle = (): void => {
      clearTimeout(timer);
      socket.off('data', onData).off('error', fail).off('close', onClose);
    };
    const fail = (error: Error): void => {
      settle();
      socket.on('error', () => {}).destroy();
      reject(error);
    };
    const timer = setTimeout(() => fail(new WebSocketHandshakeError(`The server did not answer the WebSocket handshake within ${timeoutMs} ms.`)), timeoutMs);
    const onClose = (): void => fail(new WebSocketHandshakeError('The server closed the connection during the WebSocket handshake.'));
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) {
        if (head.length > MAX_RESPONSE_HEAD_BYTES) fail(new WebSocketHandshakeError('The handshake response headers are too long.'));
        return;
      }
      const problem = checkResponse(head.subarray(0, end).toString('latin1'), accept);
      if (problem !== undefined) return fail(problem);
      settle();
      // Hold further bytes until the client's own listeners are attached.
      socket.pause();
      resolve(head.subarray(end + 4));
    };
    socket.on('data', onData).on('error', fail).on('close', onClose);
  });
}

function checkResponse(head: string, expectedAccept: string): WebSocketHandshakeError | undefined {
  const [statusLine = '', ...lines] = head.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1];
  if (status === undefined) return new WebSocketHandshakeError('The server did not answer the WebSocket handshake with HTTP.');
  if (status !== '101') return new WebSocketHandshakeError(`Handshake refused: HTTP ${status}`, Number(status));
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  if (headers.get('upgrade')?.toLowerCase() !== 'websocket' || !/(^|,)\s*upgrade\s*(,|$)/i.test(headers.get('connection') ?? '')) {
    return new WebSocketHandshakeError('The server answered 101 without upgrading to WebSocket.');
  }
  if (headers.get('sec-websocket-accept') !== expectedAccept) return new WebSocketHandshakeError('The server sent a wrong Sec-WebSocket-Accept.');
  if (headers.has('sec-websocket-extensions') || headers.has('sec-websocket-protocol')) {
    return new WebSocketHandshakeError('The server chose an extension or subprotocol the client did not offer.');
  }
  return undefined;
}

/**
 * An open connection. Messages and errors that come before the first listener of their kind (frames
 * sent right behind the 101, parsed before `connect` resolved to the caller) are kept and handed to
 * that listener. `closed` resolves, and `close` is emitted, exactly once, however the connection ends.
 */
export class WebSocketClient {
  /** Resolves once the socket is gone, with how the connection ended. */
  readonly closed: Promise<CloseInfo>;
  private status: WebSocketState = 'open';
  private readonly reader: IncomingReader;
  private readonly closeTimeoutMs: number;
  private readonly listeners: { [K in keyof Events]: Set<Listener<K>> } = { message: new Set(), error: new Set(), close: new Set() };
  /** Messages and errors from before the first listener of their kind; undefined once one listens. */
  private readonly unheard: { message: Events['message'][] | undefined; error: Events['error'][] | undefined } = { message: [], error: [] };
  /** False once a close frame arrived or the connection was failed: nothing more is read. */
  private reading = true;
  private closeSent = false;
  private ending: CloseInfo | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private resolveClosed: (info: CloseInfo) => void = () => {};

  /** Use `connect()`; this takes a socket whose handshake is done. */
  constructor(
    private readonly socket: Socket,
    leftover: Buffer,
    options: WebSocketClientOptions = {},
  ) {
    this.reader = new IncomingReader(options.maxMessageBytes ?? 64 * 1024 * 1024);
    this.closeTimeoutMs = options.closeTimeoutMs ?? 1000;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => this.emit('error', error));
    socket.on('close', () => this.finish());
    this.receive(leftover);
    socket.resume();
  }

  get state(): WebSocketState {
    return this.status;
  }

  on<K extends keyof Events>(event: K, listener: Listener<K>): () => void {
    this.listeners[event].add(listener);
    if (event !== 'close') this.releaseUnheard(event as 'message' | 'error');
    return () => this.listeners[event].delete(listener);
  }

  once<K extends keyof Events>(event: K, listener: Listener<K>): () => void {
    // Removes itself before running: `on` may call it at once with a kept message, and the next kept
    // message then waits for the next listener.
    const once = ((...args: Events[K]) => {
      this.listeners[event].delete(once);
      listener(...args);
    }) as Listener<K>;
    return this.on(event, once);
  }

  /** Sends one message: a string as text, bytes as binary. Throws unless the connection is open. */
  send(data: string | Uint8Array): void {
    if (this.status !== 'open') throw new Error(`The WebSocket is ${this.status}; nothing can be sent.`);
    this.socket.write(encodeFrame(typeof data === 'string' ? OPCODE.text : OPCODE.binary, data));
  }

  /** Starts the closing handshake; the socket is dropped if the peer does not answer within the close timeout. */
  close(code: number = CLOSE_CODE.normal, reason = ''): void {
    if (!isValidCloseCode(code) || Buffer.byteLength(reason) > 123) throw new RangeError(`Close code ${code} or its reason cannot be sent.`);
    if (this.status !== 'open') return;
    this.status = 'closing';
    this.sendClose(code, reason);
    this.armCloseTimer();
  }

  private receive(chunk: Buffer): void {
    if (!this.reading) return;
    this.reader.push(chunk);
    try {
      for (let incoming = this.reader.next(); incoming !== undefined && this.reading; incoming = this.reader.next()) this.handle(incoming);
    } catch (error) {
      if (!(error instanceof WebSocketProtocolError)) throw error;
      this.fail(error);
    }
  }

  private handle(incoming: Incoming): void {
    switch (incoming.type) {
      case 'message':
        this.emit('message', incoming.data);
        return;
      case 'ping':
        if (!this.closeSent) this.socket.write(encodeFrame(OPCODE.pong, incoming.payload));
        return;
      case 'pong':
        return;
      case 'close':
        this.onPeerClose(incoming.code, incoming.reason);
    }
  }

  private releaseUnheard(event: 'message' | 'error'): void {
    const kept: unknown[][] | undefined = this.unheard[event];
    this.unheard[event] = undefined;
    for (let args = kept?.shift(); args !== undefined; args = kept?.shift()) {
      this.emit(event, ...(args as [never]));
      // The only listener was a `once`: keep the rest, and what follows, for the next one.
      if (this.listeners[event].size === 0 && kept !== undefined) return void (this.unheard[event] = kept as never);
    }
  }

  /** The peer's close frame: echo its code unless we closed first, then end our side. */
  private onPeerClose(code: number | undefined, reason: string): void {
    this.reading = false;
    this.ending = { code: code ?? CLOSE_CODE.noStatus, reason };
    if (!this.closeSent) this.sendClose(code);
    this.status = 'closing';
    this.socket.end();
    this.armCloseTimer();
  }

  /** A protocol error: close with its code, read nothing more, and report it. */
  private fail(error: WebSocketProtocolError): void {
    this.reading = false;
    this.ending ??= { code: error.closeCode, reason: error.message };
    if (!this.closeSent) this.sendClose(error.closeCode);
    this.status = 'closing';
    this.socket.end();
    this.armCloseTimer();
    this.emit('error', error);
  }

  private sendClose(code: number | undefined, reason = ''): void {
    this.closeSent = true;
    if (this.socket.writable) this.socket.write(encodeFrame(OPCODE.close, code === undefined ? Buffer.alloc(0) : closePayload(code, reason)));
  }

  private armCloseTimer(): void {
    this.closeTimer ??= setTimeout(() => this.socket.destroy(), this.closeTimeoutMs).unref();
  }

  /** The socket's `close`, which Node emits once: the only place the connection is reported closed. */
  private finish(): void {
    if (this.status === 'closed') return;
    this.status = 'closed';
    this.reading = false;
    clearTimeout(this.closeTimer);
    const info = this.ending ?? { code: CLOSE_CODE.abnormal, reason: '' };
    this.resolveClosed(info);
    this.emit('close', info);
  }

  private emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    if (event !== 'close') {
      const kept = this.unheard[event as 'message' | 'error'] as Events[K][] | undefined;
      if (kept !== undefined) return void kept.push(args);
    }
    for (const listener of [...this.listeners[event]]) listener(...args);
  }
}
