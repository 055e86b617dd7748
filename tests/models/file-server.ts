/** A 127.0.0.1 file server for download tests: Range requests, a cut half-way, corrupted bytes, slow delivery. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FileServerOptions {
  /** Destroy the connection after this many bytes on the first full request. */
  cutFirstAt?: number;
  /** Flip one byte in what is served. */
  corrupt?: boolean;
  /** Delay between 64 KiB slices (read for each slice, so a test may change it between downloads). */
  sliceDelayMs?: number;
}

export async function startFileServer(bytes: Buffer, options: FileServerOptions = {}) {
  const ranges: (string | undefined)[] = [];
  const paths: string[] = [];
  const body = options.corrupt ? Buffer.from(bytes) : bytes;
  if (options.corrupt) body[Math.floor(body.length / 2)] = (body[Math.floor(body.length / 2)] ?? 0) ^ 0xff;
  let cut = options.cutFirstAt;
  const server = http.createServer((req, res) => {
    ranges.push(req.headers.range);
    paths.push(req.url ?? '');
    const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = match ? Number(match[1]) : 0;
    if (start >= body.length) return void res.writeHead(416).end();
    const slice = body.subarray(start);
    res.writeHead(match ? 206 : 200, {
      'content-length': String(slice.length),
      'accept-ranges': 'bytes',
      ...(match ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    void (async () => {
      for (let offset = 0; offset < slice.length; offset += 65_536) {
        if (res.destroyed) return;
        if (cut !== undefined && start + offset >= cut) {
          cut = undefined;
          res.socket?.destroy();
          return;
        }
        // Wait for each slice to reach the socket, so a cut really happens half-way through.
        await new Promise<void>((resolve) => res.write(slice.subarray(offset, Math.min(offset + 65_536, slice.length)), () => resolve()));
        if (options.sliceDelayMs) await new Promise((r) => setTimeout(r, options.sliceDelayMs));
      }
      res.end();
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/model.gguf`,
    ranges,
    /** The path of every request, in order (every path serves the same bytes). */
    paths,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
