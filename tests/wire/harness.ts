/**
 * A tiny HTTP harness for the vendor stand-ins: 127.0.0.1 only, records every request (with when its
 * connection closed, so a test can measure how fast a cancel reached the server), and writes bodies
 * in arbitrary byte slices so streams can be split at awkward places.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: unknown;
  /** performance.now() when the client's connection for this request closed, once it has. */
  closedAt: number | undefined;
}

export type Route = (req: RecordedRequest, res: http.ServerResponse) => Promise<void> | void;

export interface Harness {
  readonly url: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startHarness(route: Route): Promise<Harness> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const record: RecordedRequest = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body: parseJson(raw),
        closedAt: undefined,
      };
      requests.push(record);
      res.once('close', () => (record.closedAt = performance.now()));
      try {
        await route(record, res);
      } catch {
        res.destroy();
      }
    })();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(raw: string): unknown {
  if (raw === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes `text` as UTF-8 in slices of `sliceBytes` bytes (cutting through multi-byte characters). */
export async function writeSliced(res: http.ServerResponse, text: string, sliceBytes: number, pauseMs = 1): Promise<void> {
  const bytes = Buffer.from(text, 'utf8');
  for (let offset = 0; offset < bytes.length; offset += sliceBytes) {
    if (res.destroyed) return;
    res.write(bytes.subarray(offset, offset + sliceBytes));
    await delay(pauseMs);
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Resolves when the client has gone away (used by slow streams to stop writing). */
export function gone(res: http.ServerResponse): boolean {
  return res.destroyed || res.writableEnded;
}
