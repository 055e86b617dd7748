/**
 * Downloads a model file: progress events, resume after an interruption (HTTP Range on a `.part`
 * file), bounded retries with back-off, a free-disk check before starting, a sha256 check before the
 * `.part` file is renamed into place, and cancel. A wrong checksum or a cancel removes the partial
 * file; nothing half-written ever carries the final name.
 */
import { CodedError } from '../core/coded-error.js';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat, statfs } from 'node:fs/promises';
import { sleep } from '../core/retry.js';

export interface DownloadProgress {
  readonly receivedBytes: number;
  readonly totalBytes: number | null;
  readonly attempt: number;
}

export interface DownloadOptions {
  readonly url: string;
  readonly destination: string;
  /** Refuse a response of another size, and check the disk has room before starting. */
  readonly expectedBytes?: number | undefined;
  /** Hex sha256 the file must have. Without one, the computed digest is returned for the record. */
  readonly sha256?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((progress: DownloadProgress) => void) | undefined;
  /** Attempts after the first. Default 4. */
  readonly retries?: number;
  /** First back-off, doubling. Default 500 ms. */
  readonly backoffMs?: number;
  readonly fetch?: typeof fetch;
  /** Free bytes on the destination's disk. Default: statfs. */
  readonly freeBytes?: (folder: string) => Promise<number>;
}

export class DownloadError extends CodedError<'checksum' | 'disk_full' | 'http' | 'cancelled' | 'size'> {
  override readonly name = 'DownloadError';
}

export async function download(options: DownloadOptions): Promise<{ sha256: string; bytes: number }> {
  const part = `${options.destination}.part`;
  try {
    await checkDisk(options);
    const bytes = await fetchWithResume(options, part);
    // Hashing a large model takes seconds: a cancel then still counts, and the rename waits for it.
    const digest = await sha256Of(part, options.signal);
    options.signal?.throwIfAborted();
    if (options.sha256 !== undefined && digest !== options.sha256.toLowerCase()) {
      throw new DownloadError('checksum', `The download's sha256 is ${digest}, not the expected ${options.sha256}: the file was discarded.`);
    }
    await rename(part, options.destination);
    return { sha256: digest, bytes };
  } catch (error) {
    // A cancel, a bad checksum or a final failure leaves nothing behind.
    await rm(part, { force: true });
    if (options.signal?.aborted) throw new DownloadError('cancelled', 'The download was cancelled.');
    throw error;
  }
}

async function checkDisk(options: DownloadOptions): Promise<void> {
  if (options.expectedBytes === undefined) return;
  const folder = options.destination.slice(0, Math.max(0, options.destination.lastIndexOf('/'))) || '.';
  const free = await (options.freeBytes ?? defaultFreeBytes)(folder);
  if (free < options.expectedBytes * 1.05) {
    throw new DownloadError('disk_full', `Not enough disk space: the model needs ${mib(options.expectedBytes)}, ${mib(free)} is free.`);
  }
}

async function defaultFreeBytes(folder: string): Promise<number> {
  const s = await statfs(folder);
  return s.bavail * s.bsize;
}

async function fetchWithResume(options: DownloadOptions, part: string): Promise<number> {
  const retries = options.retries ?? 4;
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await fetchOnce(options, part, attempt);
    } catch (error) {
      if (options.signal?.aborted || error instanceof DownloadError || attempt >= retries) throw error;
      await sleep((options.backoffMs ?? 500) * 2 ** attempt, options.signal);
    }
  }
}

/** One request, resuming from what the `.part` file already holds. */
async function fetchOnce(options: DownloadOptions, part: string, attempt: number): Promise<number> {
  const have = (await stat(part).catch(() => undefined))?.size ?? 0;
  const headers: Record<string, string> = have > 0 ? { range: `bytes=${have}-` } : {};
  const response = await (options.fetch ?? fetch)(options.url, { headers, ...(options.signal ? { signal: options.signal } : {}) });
  if (response.status === 416 && options.expectedBytes === have) return have;
  if (!response.ok || response.body === null) throw new DownloadError('http', `The server answered HTTP ${response.status} for ${options.url}.`);
  const resumed = response.status === 206;
  const start = resumed ? have : 0;
  const length = Number(response.headers.get('content-length') ?? Number.NaN);
  const total = Number.isFinite(length) ? start + length : (options.expectedBytes ?? null);
  if (options.expectedBytes !== undefined && total !== null && total !== options.expectedBytes) {
    throw new DownloadError('size', `The server offers ${total} bytes; ${options.expectedBytes} were expected.`);
  }
  let received = start;
  // Node's stream helpers load with the first download, not at every start.
  const [{ Readable }, { pipeline }] = await Promise.all([import('node:stream'), import('node:stream/promises')]);
  const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => {
    received += chunk.length;
    // Without a length from the server only the byte count can tell a wrong file: stop it at once.
    if (total !== null && received > total) return void body.destroy(new DownloadError('size', `The server sent more than the ${total} bytes expected: the file was discarded.`));
    options.onProgress?.({ receivedBytes: received, totalBytes: total, attempt });
  });
  await pipeline(body, createWriteStream(part, { flags: resumed ? 'a' : 'w' }));
  if (total !== null && received < total) throw new Error(`connection closed at ${received} of ${total} bytes`);
  return received;
}

async function sha256Of(file: string, signal: AbortSignal | undefined): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, signal ? { signal } : {})) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}
