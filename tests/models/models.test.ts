import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { download } from '../../extensions/ai-sidecar/src/models/downloader.js';
import { CATALOGUE, catalogueFromEnv } from '../../extensions/ai-sidecar/src/models/catalogue.js';
import { ModelStore } from '../../extensions/ai-sidecar/src/models/model-store.js';
import { LocalLlamaProvider } from '../../extensions/ai-sidecar/src/providers/local-llama.js';
import { startFileServer } from './file-server.js';

const MODEL = path.resolve(__dirname, '../../../shared/models/stories260K.gguf');
let bytes: Buffer;
let sha: string;
let dir: string;
beforeAll(async () => {
  bytes = await readFile(MODEL);
  sha = createHash('sha256').update(bytes).digest('hex');
});
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});
const temp = async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'sim-models-')));

describe('models folder', () => {
  it('lists GGUF files with what a user needs to choose one', async () => {
    const folder = await temp();
    await copyFile(MODEL, path.join(folder, 'stories260K.gguf'));
    await writeFile(path.join(folder, 'notes.txt'), 'not a model');
    const [model, ...rest] = await new ModelStore(folder).list();
    expect(rest).toHaveLength(0);
    expect(model).toMatchObject({ id: 'stories260K.gguf', architecture: 'llama', contextLength: 2048, hasChatTemplate: false, sizeBytes: bytes.length });
    expect(model?.parameters).toBeGreaterThan(200_000);
    expect(model?.parameters).toBeLessThan(400_000);
    expect(model?.quantization).toMatch(/^[A-Z0-9_]+$/);
  });

  it('imports by copy and by hard link, refuses bad names and non-GGUF files, and deletes', async () => {
    const folder = await temp();
    const store = new ModelStore(path.join(folder, 'models'));
    const source = path.join(folder, 'stories260K.gguf');
    await copyFile(MODEL, source);
    expect((await store.import(source)).id).toBe('stories260K.gguf');
    await copyFile(MODEL, path.join(folder, 'linked.gguf'));
    expect((await store.import(path.join(folder, 'linked.gguf'), { link: true })).architecture).toBe('llama');
    await expect(store.import(source)).rejects.toMatchObject({ code: 'validation' });
    await writeFile(path.join(folder, 'fake.gguf'), 'GGUF but not really');
    await expect(store.import(path.join(folder, 'fake.gguf'))).rejects.toMatchObject({ code: 'validation' });
    expect(existsSync(path.join(folder, 'models', 'fake.gguf'))).toBe(false);
    await expect(store.delete('../stories260K.gguf')).rejects.toMatchObject({ code: 'validation' });
    await store.delete('linked.gguf');
    expect((await store.list()).map((m) => m.id)).toEqual(['stories260K.gguf']);
    await expect(store.delete('linked.gguf')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('never claims a checksum the catalogue did not verify', () => {
    for (const entry of CATALOGUE) expect(entry.sha256 === null).toBe(!entry.checksumVerified);
  });

  it('takes the catalogue and its mirror from the environment only, and keeps the built-in list over a bad file', async () => {
    const folder = await temp();
    const warnings: string[] = [];
    const warn = (message: string) => void warnings.push(message);
    expect(catalogueFromEnv({}, warn)).toEqual(CATALOGUE);
    // A mirror serves every entry under its file name, below the folder it was given.
    const mirrored = catalogueFromEnv({ SIM_AI_MODEL_MIRROR: 'http://192.168.1.20:8080/models' }, warn);
    expect(mirrored.map((e) => e.url)).toEqual(CATALOGUE.map((e) => `http://192.168.1.20:8080/models/${e.id}`));
    const file = path.join(folder, 'catalogue.json');
    const own = { id: 'stories260K.gguf', name: 'Tiny stories', url: 'https://models.example/stories260K.gguf', sizeBytes: bytes.length, ramBytes: 1, sha256: sha, checksumVerified: true, licence: 'MIT' };
    await writeFile(file, JSON.stringify([own]));
    expect(catalogueFromEnv({ SIM_AI_MODEL_CATALOGUE: file }, warn)).toEqual([own]);
    // An entry whose name would leave the models folder, or a file that is not JSON: the built-in list, and a warning in words.
    await writeFile(file, JSON.stringify([{ ...own, id: '../../escape.gguf' }]));
    expect(catalogueFromEnv({ SIM_AI_MODEL_CATALOGUE: file }, warn)).toEqual(CATALOGUE);
    await writeFile(file, 'not json');
    expect(catalogueFromEnv({ SIM_AI_MODEL_CATALOGUE: file }, warn)).toEqual(CATALOGUE);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/is not a readable catalogue, so the built-in one is used/);
  });
});

describe('downloads', () => {
  it('resumes a download cut half-way and completes with the right checksum', async () => {
    const folder = await temp();
    const server = await startFileServer(bytes, { cutFirstAt: Math.floor(bytes.length / 2) });
    try {
      const progress: number[] = [];
      const result = await new ModelStore(folder).download({ url: server.url, name: 'story.gguf', sha256: sha, sizeBytes: bytes.length }, { onProgress: (p) => progress.push(p.receivedBytes) });
      expect(result).toMatchObject({ sha256: sha, architecture: 'llama' });
      expect(server.ranges[0]).toBeUndefined();
      expect(server.ranges[1]).toMatch(/^bytes=\d+-$/);
      expect(Number(/\d+/.exec(server.ranges[1] ?? '')?.[0])).toBeGreaterThan(0);
      expect(progress.at(-1)).toBe(bytes.length);
      expect(await readdir(folder)).toEqual(['story.gguf']);
      expect(createHash('sha256').update(await readFile(path.join(folder, 'story.gguf'))).digest('hex')).toBe(sha);
    } finally {
      await server.close();
    }
  });

  it('rejects a corrupted download, says why, and removes it', async () => {
    const folder = await temp();
    const server = await startFileServer(bytes, { corrupt: true });
    try {
      await expect(download({ url: server.url, destination: path.join(folder, 'bad.gguf'), sha256: sha })).rejects.toMatchObject({ code: 'checksum', message: expect.stringMatching(/not the expected/) });
      expect(await readdir(folder)).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('leaves no partial file behind when cancelled', async () => {
    const folder = await temp();
    const server = await startFileServer(bytes, { sliceDelayMs: 30 });
    try {
      const controller = new AbortController();
      const pending = download({ url: server.url, destination: path.join(folder, 'c.gguf'), signal: controller.signal, onProgress: (p) => p.receivedBytes > 100_000 && controller.abort() });
      await expect(pending).rejects.toMatchObject({ code: 'cancelled' });
      expect(await readdir(folder)).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('stops a download that runs past the expected size when the server gave no length, and keeps nothing', async () => {
    const folder = await temp();
    // A chunked answer (no content-length) that goes on past the catalogue's size, e.g. a portal page or a wrong file.
    let sent = 0;
    const endless: typeof fetch = async () =>
      new Response(new ReadableStream({ pull: (c) => (sent < 64 * bytes.length ? (c.enqueue(bytes.subarray(0, 65_536)), (sent += 65_536)) : c.close(), undefined) }));
    await expect(download({ url: 'http://127.0.0.1:1/x', destination: path.join(folder, 'long.gguf'), expectedBytes: bytes.length, fetch: endless })).rejects.toMatchObject({ code: 'size', message: expect.stringMatching(/more than the \d+ bytes expected/) });
    expect(sent).toBeLessThan(2 * bytes.length);
    expect(await readdir(folder)).toEqual([]);
  });

  it('honours a cancel that comes after the last byte (while the checksum is computed): nothing is kept', async () => {
    const folder = await temp();
    const controller = new AbortController();
    const whole: typeof fetch = async () => new Response(new Uint8Array(bytes), { headers: { 'content-length': String(bytes.length) } });
    const pending = download({ url: 'http://127.0.0.1:1/x', destination: path.join(folder, 'late.gguf'), fetch: whole, signal: controller.signal, onProgress: (p) => p.receivedBytes === bytes.length && controller.abort() });
    await expect(pending).rejects.toMatchObject({ code: 'cancelled' });
    expect(await readdir(folder)).toEqual([]);
  });

  it('checks free disk space before starting', async () => {
    const folder = await temp();
    let requested = false;
    const fetchSpy: typeof fetch = async () => ((requested = true), new Response(''));
    await expect(download({ url: 'http://127.0.0.1:1/x', destination: path.join(folder, 'x.gguf'), expectedBytes: 10 * 2 ** 30, freeBytes: async () => 2 ** 30, fetch: fetchSpy })).rejects.toMatchObject({ code: 'disk_full' });
    expect(requested).toBe(false);
  });
});

describe('idle unload', () => {
  it('frees the model after the idle time and loads it again on the next request', async () => {
    const provider = new LocalLlamaProvider({ threads: 1, idleUnloadMs: 150 });
    try {
      const request = { model: MODEL, messages: [{ role: 'user' as const, content: 'Once' }], maxTokens: 5 };
      await provider.chatCompletion(request);
      expect(provider.loadedModel).toBe(MODEL);
      await expect.poll(() => provider.loadedModel, { timeout: 3_000 }).toBeUndefined();
      expect((await provider.chatCompletion(request)).usage.outputTokens).toBe(5);
      expect(provider.loadedModel).toBe(MODEL);
      await provider.unload();
      expect(provider.loadedModel).toBeUndefined();
    } finally {
      await provider.dispose();
    }
  });
});
