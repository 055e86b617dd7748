/**
 * RFC 6455 framing for a client: the server's byte stream cut into messages and control frames
 * (across any chunk boundaries), and the masked frames a client sends. No extensions are ever
 * negotiated, so the RSV bits must be zero. Pure: no sockets here.
 */
import { randomFillSync } from 'node:crypto';

export const OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** Close codes this module fails a connection with (RFC 6455 §7.4.1). */
export const CLOSE_CODE = { normal: 1000, protocolError: 1002, noStatus: 1005, abnormal: 1006, invalidData: 1007, tooBig: 1009 } as const;

/** The peer broke the protocol; the connection must be failed with `closeCode`. */
export class WebSocketProtocolError extends Error {
  override readonly name = 'WebSocketProtocolError';
  constructor(
    readonly closeCode: number,
    message: string,
  ) {
    super(message);
  }
}

export type Incoming =
  | { readonly type: 'message'; readonly data: string | Buffer }
  | { readonly type: 'close'; readonly code: number | undefined; readonly reason: string }
  | { readonly type: 'ping' | 'pong'; readonly payload: Buffer };

interface FrameHeader {
  readonly fin: boolean;
  readonly opcode: number;
  readonly length: number;
}

const KNOWN_OPCODES = new Set<number>(Object.values(OPCODE));
const MAX_CONTROL_PAYLOAD = 125;
// ignoreBOM keeps a leading U+FEFF in the text instead of silently dropping it.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Codes a close frame may carry on the wire (1004–1006 and 1015 are reserved for local use). */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

function decodeText(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new WebSocketProtocolError(CLOSE_CODE.invalidData, 'The server sent text that is not valid UTF-8.');
  }
}

/** Bytes received and not yet parsed, kept as the socket's chunks: a large payload is copied once. */
class ByteQueue {
  private readonly chunks: Buffer[] = [];
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The first `n` bytes without consuming them, or undefined while fewer have arrived. */
  peek(n: number): Buffer | undefined {
    if (this.length < n) return undefined;
    if ((this.chunks[0]?.length ?? 0) < n) {
      // Merge only the chunks that cover n bytes: a header split over tiny chunks.
      let count = 0;
      for (let bytes = 0; bytes < n; count += 1) bytes += this.chunks[count]?.length ?? 0;
      this.chunks.splice(0, count, Buffer.concat(this.chunks.slice(0, count)));
    }
    return this.chunks[0];
  }

  take(n: number): Buffer {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      this.consumeFront(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    for (let offset = 0; offset < n; ) {
      const chunk = this.chunks[0] as Buffer;
      const part = Math.min(chunk.length, n - offset);
      chunk.copy(out, offset, 0, part);
      this.consumeFront(part);
      offset += part;
    }
    return out;
  }

  private consumeFront(n: number): void {
    const first = this.chunks[0] as Buffer;
    if (n === first.length) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.length -= n;
  }
}

/**
 * Reads what a server sends: whole messages (fragments joined, text decoded) and control frames.
 * Throws WebSocketProtocolError on a frame the client must not accept; the caller then fails the
 * connection with its code and reads no further.
 */
export class IncomingReader {
  private readonly queue = new ByteQueue();
  private header: FrameHeader | undefined;
  private fragments: Buffer[] = [];
  private fragmentBytes = 0;
  /** Opcode of the message being reassembled; 0 when none is open. */
  private messageOpcode = 0;

  /** @param maxMessageBytes the largest message accepted; a larger one fails with 1009. */
  constructor(private readonly maxMessageBytes: number) {}

  push(chunk: Buffer): void {
    this.queue.push(chunk);
  }

  /** The next complete message or control frame, or undefined until more bytes arrive. */
  next(): Incoming | undefined {
    for (;;) {
      this.header ??= this.readHeader();
      if (this.header === undefined || this.queue.length < this.header.length) return undefined;
      const { fin, opcode, length } = this.header;
      this.header = undefined;
      const payload = this.queue.take(length);
      const incoming = opcode >= OPCODE.close ? readControl(opcode, payload) : this.assemble(fin, opcode, payload);
      if (incoming !== undefined) return incoming;
    }
  }

  /** Validates as early as the bytes allow, so a bad frame fails before its payload arrives. */
  private readHeader(): FrameHeader | undefined {
    const start = this.queue.peek(2);
    if (start === undefined) return undefined;
    const [b0 = 0, b1 = 0] = start;
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    const shortLength = b1 & 0x7f;
    if ((b0 & 0x70) !== 0) throw new WebSocketProtocolError(CLOSE_CODE.protocolError, 'The server set RSV bits, but no extension was negotiated.');
    if (!KNOWN_OPCODES.has(opcode)) throw new WebSocketProtocolError(CLOSE_CODE.protocolError, `The server sent unknown opcode ${opcode}.`);
    if ((b1 & 0x80) !== 0) throw new WebSocketProtocolError(CLOSE_CODE.protocolError, 'The server masked a frame; servers must not.');
    if (opcode >= OPCODE.close && (!fin || shortLength > MAX_CONTROL_PAYLOAD)) {
      throw new WebSocketProtocolError(CLOSE_CODE.protocolError, 'The server sent a fragmented or over-long control frame.');
    }
    const headerBytes = shortLength === 126 ? 4 : shortLength === 127 ? 10 : 2;
    const header = this.queue.peek(headerBytes);
    if (header === undefined) return undefined;
    const length = shortLength === 126 ? header.readUInt16BE(2) : shortLength === 127 ? readLength64(header) : shortLength;
    if (opcode < OPCODE.close) this.checkDataFrame(opcode, length);
    this.queue.take(headerBytes);
    return { fin, opcode, length };
  }

  private checkDataFrame(opcode: number, length: number): void {
    if (opcode === OPCODE.continuation && this.messageOpcode === 0) {
      throw new WebSocketProtocolError(CLOSE_CODE.protocolError, 'The server sent a continuation frame with no message to continue.');
    }
    if (opcode !== OPCODE.continuation && this.messageOpcode !== 0) {
      throw new WebSocketProtocolError(CLOSE_CODE.protocolError, 'The server started a message before finishing the previous one.');
    }
    if (this.fragmentBytes + length > this.maxMessageBytes) {
      throw new WebSocketProtocolError(CLOSE_CODE.tooBig, `The server sent a message over the ${this.maxMessageBytes}-byte limit.`);
    }
  }

  private assemble(fin: boolean, opcode: number, payload: Buffer): Incoming | undefined {
    if (opcode !== OPCODE.continuation) this.messageOpcode = opcode;
    this.fragments.push(payload);
    this.fragmentBytes += payload.length;
    if (!fin) return undefined;
    const bytes = this.fragments.length === 1 ? payload : Buffer.concat(this.fragments, this.fragmentBytes);
    const isText = this.messageOpcode === OPCODE.text;
    this.fragments = [];
    this.fragmentBytes = 0;
    this.messageOpcode = 0;
    return { type: 'message', data: isText ? decodeText(bytes) : bytes };
  }
}

/** A 64-bit length; the most significant bit must be 0. Beyond 2^53 it is imprecise, but far over any cap. */
function readLength64(header: Buffer): number {
  const high = header.readUInt32BE(2);
  if ((high & 0x80000000) !== 0) throw new WebSocketProtocolError(CLOSE_CODE.protocolError, 'The server sent a 64-bit length with its top bit set.');
  return high * 2 ** 32 + header.readUInt32BE(6);
}

function readControl(opcode: number, payload: Buffer): Incoming {
  if (opcode === OPCODE.ping) return { type: 'ping', payload };
  if (opcode === OPCODE.pong) return { type: 'pong', payload };
  if (payload.length === 0) return { type: 'close', code: undefined, reason: '' };
  const code = payload.length >= 2 ? payload.readUInt16BE(0) : 0;
  if (!isValidCloseCode(code)) throw new WebSocketProtocolError(CLOSE_CODE.protocolError, `The server sent an invalid close frame (code ${code}).`);
  return { type: 'close', code, reason: decodeText(payload.subarray(2)) };
}

/** One masked, final frame (RFC 6455 §5.3: a client masks every frame with a fresh random key). */
export function encodeFrame(opcode: number, payload: string | Uint8Array): Buffer {
  const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  const lengthBytes = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const maskAt = 2 + lengthBytes;
  const payloadAt = maskAt + 4;
  const frame = Buffer.allocUnsafe(payloadAt + length);
  frame[0] = 0x80 | opcode;
  if (lengthBytes === 0) {
    frame[1] = 0x80 | length;
  } else if (lengthBytes === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  randomFillSync(frame, maskAt, 4);
  if (typeof payload === 'string') frame.write(payload, payloadAt, 'utf8');
  else frame.set(payload, payloadAt);
  const mask = [frame[maskAt] ?? 0, frame[maskAt + 1] ?? 0, frame[maskAt + 2] ?? 0, frame[maskAt + 3] ?? 0] as const;
  for (let i = 0; i < length; i += 1) frame[payloadAt + i] = (frame[payloadAt + i] ?? 0) ^ mask[i & 3]!;
  return frame;
}

/** A close frame's payload: the code, then the reason in UTF-8 (at most 123 bytes). */
export function closePayload(code: number, reason = ''): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2, 'utf8');
  return payload;
}
