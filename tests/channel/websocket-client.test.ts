/**
 * The sidecar's own RFC 6455 client, at the wire: against a `ws` server (what the stand-in runtime
 * uses) for the normal traffic, and against a raw `node:net` server that writes the handshake and the
 * frames byte by byte itself, for what `ws` would never send (masked, invalid or oversized frames).
 */
import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { NativeCallError, NeutralinoLink } from '../../extensions/ai-sidecar/src/channel/neutralino-link.js';
import { connect, type CloseInfo, type WebSocketClient } from '../../extensions/ai-sidecar/src/channel/websocket-client.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function nextMessage(client: WebSocketClient): Promise<string | Buffer> {
  return new Promise((resolve) => client.once('message', resolve));
}

/** Text with 1-, 2-, 3- and 4-byte UTF-8 characters, `bytes` long in UTF-8. */
function textOf(bytes: number): string {
  const unit = 'abcdé€😀'; // 1+1+1+1+2+3+4 = 13 bytes
  const whole = unit.repeat(Math.floor(bytes / 13));
  return whole + 'x'.repeat(bytes - Buffer.byteLength(whole));
}

describe('against a ws server', () => {
  async function wsServer(options: ConstructorParameters<typeof WebSocketServer>[0] = {}): Promise<{ url: string; peer: Promise<WebSocket> }> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options });
    cleanups.push(() => new Promise<void>((resolve) => {
      for (const peer of server.clients) peer.terminate();
      server.close(() => resolve());
    }));
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const peer = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
    return { url: `ws://127.0.0.1:${(server.address() as { port: number }).port}/path?q=1`, peer };
  }

  async function open(): Promise<{ client: WebSocketClient; peer: WebSocket }> {
    const { url, peer } = await wsServer();
    const client = await connect(url);
    cleanups.push(() => client.close());
    return { client, peer: await peer };
  }

  it('carries text both ways, including 16- and 64-bit lengths (70 KB, 5 MB)', async () => {
    const { client, peer } = await open();
    for (const bytes of [11, 70_000, 5_000_000]) {
      const text = textOf(bytes);
      const atServer = new Promise<string>((resolve) => peer.once('message', (raw: Buffer, isBinary: boolean) => resolve(isBinary ? 'binary?' : raw.toString('utf8'))));
      client.send(text);
      expect(await atServer).toBe(text);
      const atClient = nextMessage(client);
      peer.send(text);
      expect(await atClient).toBe(text);
    }
  });

  it('carries binary both ways', async () => {
    const { client, peer } = await open();
    const bytes = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256));
    const atServer = new Promise<Buffer>((resolve) => peer.once('message', (raw: Buffer) => resolve(raw)));
    client.send(bytes);
    expect(Buffer.compare(await atServer, bytes)).toBe(0);
    const atClient = nextMessage(client);
    peer.send(bytes);
    expect(await atClient).toEqual(bytes);
  });

  it('joins a message the server sends in fragments', async () => {
    const { client, peer } = await open();
    const heard: (string | Buffer)[] = [];
    client.on('message', (data) => heard.push(data));
    peer.send('one ', { fin: false });
    peer.send('two ', { fin: false });
    peer.send('three', { fin: true });
    const after = nextMessage(client);
    peer.send('next');
    await after;
    expect(heard).toEqual(['one two three', 'next']);
  });

  it('answers a ping with a pong carrying the same payload', async () => {
    const { peer } = await open();
    const pong = new Promise<Buffer>((resolve) => peer.once('pong', resolve));
    peer.ping(Buffer.from('are you there?'));
    expect((await pong).toString()).toBe('are you there?');
  });

  it('reports the close code the server closes with, once', async () => {
    const { client, peer } = await open();
    const notified: CloseInfo[] = [];
    client.on('close', (info) => notified.push(info));
    const serverSaw = new Promise<number>((resolve) => peer.once('close', (code: number) => resolve(code)));
    peer.close(4001, 'bye');
    expect(await client.closed).toEqual({ code: 4001, reason: 'bye' });
    // The client echoed the server's code.
    expect(await serverSaw).toBe(4001);
    expect(notified).toEqual([{ code: 4001, reason: 'bye' }]);
    expect(client.state).toBe('closed');
  });

  it('closes with 1000 when the client closes', async () => {
    const { client, peer } = await open();
    const serverSaw = new Promise<number>((resolve) => peer.once('close', (code: number) => resolve(code)));
    client.close();
    expect(client.state).toBe('closing');
    expect(() => client.send('late')).toThrow(/closing/);
    expect(await serverSaw).toBe(1000);
    expect((await client.closed).code).toBe(1000);
  });

  it('rejects a refused handshake with its HTTP status', async () => {
    const { url } = await wsServer({ verifyClient: (_info: unknown, done: (ok: boolean, code?: number) => void) => done(false, 403) });
    await expect(connect(url)).rejects.toThrow(/^Handshake refused: HTTP 403$/);
  });
});

describe('against a raw server', () => {
  /** A server that reads the upgrade request and hands the socket and the right accept value to `onUpgrade`. */
  async function rawServer(onUpgrade: (socket: Socket, accept: string) => void): Promise<number> {
    const server: Server = createServer((socket) => {
      let head = '';
      const onData = (chunk: Buffer): void => {
        head += chunk.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        socket.off('data', onData).pause();
        const key = /sec-websocket-key: *(\S+)/i.exec(head)?.[1] ?? '';
        onUpgrade(socket, createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64'));
      };
      socket.on('data', onData).on('error', () => {});
      cleanups.push(() => void socket.destroy());
    });
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as { port: number }).port;
  }

  const upgrade = (accept: string): Buffer => Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`, 'latin1');

  /** A server frame built by hand (not by the code under test). */
  function frame(opcode: number, payload: Buffer | string, { fin = true, rsv = 0, mask = false, declaredLength }: { fin?: boolean; rsv?: number; mask?: boolean; declaredLength?: number } = {}): Buffer {
    const body = Buffer.from(payload);
    const length = declaredLength ?? body.length;
    const extended = length < 126 ? Buffer.alloc(0) : length < 0x10000 ? Buffer.alloc(2) : Buffer.alloc(8);
    if (extended.length === 2) extended.writeUInt16BE(length);
    if (extended.length === 8) extended.writeBigUInt64BE(BigInt(length));
    const first = Buffer.from([(fin ? 0x80 : 0) | rsv | opcode, (mask ? 0x80 : 0) | (length < 126 ? length : extended.length === 2 ? 126 : 127)]);
    const key = mask ? Buffer.from([1, 2, 3, 4]) : Buffer.alloc(0);
    const masked = mask ? body.map((byte, i) => byte ^ (key[i % 4] ?? 0)) : body;
    return Buffer.concat([first, extended, key, masked]);
  }

  /** The code of the first close frame the client sends (client frames are masked; unmask them here). */
  function closeCodeFrom(socket: Socket): Promise<number> {
    let bytes = Buffer.alloc(0);
    return new Promise((resolve, reject) => {
      socket.on('data', (chunk: Buffer) => {
        bytes = Buffer.concat([bytes, chunk]);
        while (bytes.length >= 2) {
          const opcode = (bytes[0] ?? 0) & 0x0f;
          const short = (bytes[1] ?? 0) & 0x7f;
          if ((bytes[1] ?? 0) < 0x80) return reject(new Error('the client sent an unmasked frame'));
          const lengthBytes = short === 126 ? 2 : short === 127 ? 8 : 0;
          const length = lengthBytes === 2 ? bytes.readUInt16BE(2) : lengthBytes === 8 ? Number(bytes.readBigUInt64BE(2)) : short;
          const start = 2 + lengthBytes + 4;
          if (bytes.length < start + length) return;
          const key = bytes.subarray(start - 4, start);
          const payload = bytes.subarray(start, start + length).map((byte, i) => byte ^ (key[i % 4] ?? 0));
          bytes = bytes.subarray(start + length);
          if (opcode === 0x8) return resolve(payload.length >= 2 ? Buffer.from(payload).readUInt16BE(0) : 1005);
        }
      });
      socket.once('close', () => reject(new Error('closed without a close frame')));
      socket.resume();
    });
  }

  /** Connects to a raw server that upgrades and then runs `script` on the socket. */
  async function upgradedWith(script: (socket: Socket, accept: string) => void): Promise<{ client: WebSocketClient; server: Promise<Socket> }> {
    let resolveServer: (socket: Socket) => void = () => {};
    const server = new Promise<Socket>((resolve) => (resolveServer = resolve));
    const port = await rawServer((socket, accept) => {
      resolveServer(socket);
      script(socket, accept);
    });
    const client = await connect({ host: '127.0.0.1', port });
    cleanups.push(() => client.close());
    return { client, server };
  }

  it('says when its upgrade request is out, before the server answers (the sidecar builds its app meanwhile)', async () => {
    const events: string[] = [];
    let answer: () => void = () => {};
    const port = await rawServer((socket, accept) => {
      events.push('server has the request');
      answer = () => socket.write(upgrade(accept));
    });
    const opened = connect({ host: '127.0.0.1', port }, { onRequestSent: () => events.push('request sent') }).then((client) => {
      events.push('open');
      return client;
    });
    await expect.poll(() => events.length).toBe(2);
    expect(events).toContain('request sent');
    answer();
    const client = await opened;
    cleanups.push(() => client.close());
    expect(events.at(-1)).toBe('open');
    expect(events.filter((e) => e === 'request sent')).toHaveLength(1);
  });

  it('rejects a wrong Sec-WebSocket-Accept', async () => {
    const port = await rawServer((socket) => socket.write(upgrade(createHash('sha1').update('not the key').digest('base64'))));
    await expect(connect({ host: '127.0.0.1', port })).rejects.toThrow(/Sec-WebSocket-Accept/);
  });

  it('parses frames that arrive one byte at a time, and frames sent together with the 101', async () => {
    const frames = Buffer.concat([
      frame(0x1, 'héllo 😀'),
      frame(0x1, textOf(300)), // 16-bit length
      frame(0x1, 'frag', { fin: false }),
      frame(0x9, 'mid-message ping'),
      frame(0x0, 'mented', { fin: true }),
      frame(0x2, Buffer.from([0, 255, 7])),
    ]);
    const expected = ['héllo 😀', textOf(300), 'fragmented', Buffer.from([0, 255, 7])];

    const { client: trickle } = await upgradedWith((socket, accept) => {
      socket.write(upgrade(accept));
      void (async () => {
        for (const byte of frames) {
          socket.write(Buffer.from([byte]));
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
      })();
    });
    const heardTrickle: (string | Buffer)[] = [];
    trickle.on('message', (data) => heardTrickle.push(data));
    await expect.poll(() => heardTrickle.length, { timeout: 10_000 }).toBe(4);
    expect(heardTrickle).toEqual(expected);

    // All in one write with the 101: the client keeps them for its listeners; a `once` takes one.
    const { client: burst } = await upgradedWith((socket, accept) => socket.write(Buffer.concat([upgrade(accept), frames])));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const heardBurst: (string | Buffer)[] = [await nextMessage(burst)];
    burst.on('message', (data) => heardBurst.push(data));
    expect(heardBurst).toEqual(expected);
  });

  const failures: [string, number, RegExp, () => Buffer][] = [
    ['a masked server frame', 1002, /masked/, () => frame(0x1, 'masked', { mask: true })],
    ['RSV bits without an extension', 1002, /RSV/, () => frame(0x1, 'rsv', { rsv: 0x40 })],
    ['an unknown opcode', 1002, /opcode 3/, () => frame(0x3, 'what')],
    ['a fragmented control frame', 1002, /control frame/, () => frame(0x9, 'ping', { fin: false })],
    ['a control frame over 125 bytes', 1002, /control frame/, () => frame(0x9, 'p'.repeat(126))],
    ['a continuation with no message started', 1002, /no message to continue/, () => frame(0x0, 'orphan')],
    ['a new message inside a fragmented one', 1002, /before finishing/, () => Buffer.concat([frame(0x1, 'a', { fin: false }), frame(0x1, 'b')])],
    ['a close frame with a reserved code', 1002, /invalid close frame/, () => frame(0x8, Buffer.from([0x03, 0xed]))], // 1005
    ['invalid UTF-8 in text', 1007, /UTF-8/, () => frame(0x1, Buffer.from([0x68, 0x69, 0xc3, 0x28]))],
    ['invalid UTF-8 split across fragments', 1007, /UTF-8/, () => Buffer.concat([frame(0x1, Buffer.from([0xe2, 0x82]), { fin: false }), frame(0x0, Buffer.from([0x41]))])],
    // Only the header: 2^40 declared bytes. The client must refuse it from the header alone.
    ['a declared length over the cap', 1009, /limit/, () => frame(0x2, '', { declaredLength: 2 ** 40 }).subarray(0, 10)],
  ];
  for (const [what, code, reason, bytes] of failures) {
    it(`closes with ${code} on ${what}`, async () => {
      const { client, server } = await upgradedWith((socket, accept) => socket.write(Buffer.concat([upgrade(accept), bytes()])));
      const errors: Error[] = [];
      client.on('error', (error) => errors.push(error));
      const sent = await closeCodeFrom(await server);
      expect(sent).toBe(code);
      const closed = await client.closed;
      expect(closed.code).toBe(code);
      expect(closed.reason).toMatch(reason);
      expect(errors.map((error) => (error as { closeCode?: number }).closeCode)).toEqual([code]);
    });
  }

  it('refuses an oversized message before the payload arrives, under a small cap too', async () => {
    const port = await rawServer((socket, accept) => {
      socket.write(Buffer.concat([upgrade(accept), frame(0x1, 'x'.repeat(50), { fin: false }), frame(0x0, 'y'.repeat(60)).subarray(0, 2)]));
      void closeCodeFrom(socket).then((code) => socket.end(`${code}`));
    });
    const client = await connect({ host: '127.0.0.1', port }, { maxMessageBytes: 100 });
    client.on('error', () => {});
    expect((await client.closed).code).toBe(1009);
  });

  it('drops the socket when the server never answers its close', async () => {
    let serverSaw: Promise<number> | undefined;
    const port = await rawServer((socket, accept) => {
      socket.write(upgrade(accept));
      serverSaw = closeCodeFrom(socket);
    });
    const client = await connect({ host: '127.0.0.1', port }, { closeTimeoutMs: 100 });
    client.close(4000, 'done');
    expect(await serverSaw).toBe(4000);
    expect(await client.closed).toEqual({ code: 1006, reason: '' });
  });

  it('reports one close when the socket is reset mid-frame, and the link rejects its pending calls', async () => {
    const { client, server } = await upgradedWith((socket, accept) => socket.write(Buffer.concat([upgrade(accept), frame(0x1, 'cut short').subarray(0, 5)])));
    const notified: CloseInfo[] = [];
    client.on('close', (info) => notified.push(info));
    (await server).resetAndDestroy();
    expect(await client.closed).toEqual({ code: 1006, reason: '' });
    client.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(notified).toEqual([{ code: 1006, reason: '' }]);

    let serverSocket: Socket | undefined;
    const port = await rawServer((socket, accept) => {
      serverSocket = socket;
      socket.write(upgrade(accept));
    });
    const link = await NeutralinoLink.connect({ nlPort: String(port), nlToken: 't', nlConnectToken: 'c', nlExtensionId: 'ai.sidecar' }, { callTimeoutMs: 60_000 });
    const pending = link.call('app.getConfig', {});
    await expect.poll(() => serverSocket !== undefined).toBe(true);
    serverSocket?.write(frame(0x1, '{"id":"cut').subarray(0, 6));
    serverSocket?.resetAndDestroy();
    await expect(pending).rejects.toSatisfy((error) => error instanceof NativeCallError && error.code === 'disconnected');
    expect(await link.closed).toEqual({ code: 1006, reason: '' });
    await expect(link.call('app.getConfig', {})).rejects.toThrow(/not connected/);
  });

  it('gives the link the HTTP status of a refused handshake', async () => {
    const port = await rawServer((socket) => socket.end('HTTP/1.1 403 Forbidden\r\n\r\n'));
    await expect(NeutralinoLink.connect({ nlPort: String(port), nlToken: 't', nlConnectToken: 'wrong', nlExtensionId: 'ai.sidecar' })).rejects.toThrow(/^Handshake refused: HTTP 403$/);
  });
});
