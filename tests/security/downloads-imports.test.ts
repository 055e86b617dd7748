/**
 * Issue 12: a page script asking the sidecar to fetch from this computer or the local network, or
 * probing the file system through import_model. Through the real sidecar, then the policy's own
 * redirect and name-resolution checks.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDownloadURL, policyFetch } from '../../extensions/ai-sidecar/src/models/download-policy.js';
import type { PageClient } from '../neutralino/page-client.js';
import { failure, startSidecarPage, type SidecarPage } from './sidecar-page.js';

let app: SidecarPage;
let page: PageClient;
let work: string;
let listener: net.Server;
let connections = 0;
let port: number;


beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'sim-dl-'));
  // A service on this computer the page would like the sidecar to talk to: it counts connections.
  listener = net.createServer((socket) => (connections += 1, socket.destroy()));
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  port = (listener.address() as AddressInfo).port;
  app = await startSidecarPage();
  ({ page } = app);
}, 60_000);

afterAll(async () => {
  await app?.close();
  listener?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('download_model from the page', () => {
  it('attack: loopback, private, link-local and plain-http addresses are refused and never contacted', async () => {
    const urls = [
      `https://127.0.0.1:${port}/model.gguf`,
      `https://localhost:${port}/model.gguf`,
      `https://[::1]:${port}/model.gguf`,
      `https://127.1.2.3:${port}/model.gguf`,
      'https://10.0.0.1/model.gguf',
      'https://172.16.5.4/model.gguf',
      'https://192.168.1.1/model.gguf',
      'https://169.254.169.254/latest/meta-data.gguf',
      'https://0.0.0.0/model.gguf',
      'https://[fd00::1]/model.gguf',
      'https://[::ffff:127.0.0.1]/model.gguf',
      `http://127.0.0.1:${port}/model.gguf`,
      'http://huggingface.co/model.gguf',
    ];
    for (const url of urls) {
      const error = failure(await page.request('download_model', { url, name: 'x.gguf' }));
      expect(error.code, url).toBe('validation');
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(connections).toBe(0);
  });
});

describe('import_model from the page', () => {
  it('attack: probing paths gets the same answer whether a file exists, is a folder or is not a model', async () => {
    mkdirSync(path.join(work, 'folder.gguf'));
    writeFileSync(path.join(work, 'notes.gguf'), 'not a model, but it exists');
    const probes = [path.join(work, 'missing.gguf'), path.join(work, 'folder.gguf'), path.join(work, 'notes.gguf'), '/root/.ssh/id_rsa.gguf'];
    const answers = [];
    for (const probe of probes) {
      const error = failure(await page.request('import_model', { path: probe }));
      answers.push({ code: error.code, message: error.message.replace(probe, '<path>') });
    }
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]).toEqual({ code: 'validation', message: 'Could not import <path>: there is no readable GGUF model file there.' });
    // A name that is not a model file is refused from the name alone, before the path is touched.
    expect(failure(await page.request('import_model', { path: '/etc/passwd' })).message).toMatch(/not a model file name/);
  });
});

describe('the download policy', () => {
  const resolve = (table: Record<string, string[]>) => (host: string) => Promise.resolve(table[host] ?? []);

  it('refuses a host name that resolves to a private address (any of them), allows a public one', async () => {
    const policy = { resolve: resolve({ 'models.example': ['203.0.113.7', '192.168.1.7'], 'cdn.example': ['203.0.113.8'] }) };
    await expect(checkDownloadURL('https://models.example/x.gguf', policy)).rejects.toMatchObject({ code: 'validation' });
    await expect(checkDownloadURL('https://cdn.example/x.gguf', policy)).resolves.toBeUndefined();
  });

  it('attack: a public URL that redirects to a loopback address is refused before the second request', async () => {
    const asked: string[] = [];
    const fake = ((url: string) => {
      asked.push(url);
      return Promise.resolve(new Response(null, { status: 302, headers: { location: `https://127.0.0.1:${port}/model.gguf` } }));
    }) as unknown as typeof fetch;
    const guarded = policyFetch({ fetch: fake, resolve: resolve({ 'cdn.example': ['203.0.113.8'] }) });
    await expect(guarded('https://cdn.example/x.gguf')).rejects.toMatchObject({ code: 'validation' });
    expect(asked).toEqual(['https://cdn.example/x.gguf']);
  });

  it("lets the user's own mirror (set outside the page) serve over plain http on the LAN", async () => {
    await expect(checkDownloadURL('http://192.168.1.20:8080/models/x.gguf', { mirrorOrigin: 'http://192.168.1.20:8080' })).resolves.toBeUndefined();
    await expect(checkDownloadURL('http://192.168.1.21:8080/models/x.gguf', { mirrorOrigin: 'http://192.168.1.20:8080' })).rejects.toMatchObject({ code: 'validation' });
  });
});
