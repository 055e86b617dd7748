/**
 * The sidecar's own WebSocket client against the real runtime's server (websocketpp), in cloud mode
 * (no window, no display needed): refused with the runtime's own status on a wrong connect token,
 * native calls answered, 70 KB and 5 MB messages out and back, a clean 1000 close.
 * Needs NEU_BIN: `NEU_BIN=... npx vitest run --config tests/real/vitest.config.ts tests/real/websocket-client.real.test.ts`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const NEU_BIN = process.env.NEU_BIN;
let work: string;
let runtime: ChildProcess | undefined;
let output = '';

describe.skipIf(NEU_BIN === undefined || !existsSync(NEU_BIN))('the sidecar WebSocket client against the real runtime', () => {
  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'sim-ws-real-'));
    mkdirSync(path.join(work, 'resources'));
    writeFileSync(path.join(work, 'resources/index.html'), '<!doctype html><title>probe</title>');
    const probe = path.join(work, 'probe.mjs');
    await build({ entryPoints: [path.join(import.meta.dirname, 'websocket-probe.ts')], outfile: probe, bundle: true, format: 'esm', platform: 'node', target: 'node20', logLevel: 'warning' });
    const config = {
      applicationId: 'js.wsprobe',
      version: '0.0.1',
      defaultMode: 'cloud',
      // Any free port: the probe learns it from the auth the runtime hands it.
      port: 0,
      url: '/',
      documentRoot: '/resources/',
      enableServer: true,
      enableNativeAPI: true,
      tokenSecurity: 'one-time',
      logging: { enabled: false },
      enableExtensions: true,
      extensions: [{ id: 'js.wsprobe.ext', command: `"${process.execPath}" "${probe}"` }],
      cli: { binaryName: 'wsprobe', resourcesPath: '/resources/', extensionsPath: '/extensions/' },
    };
    writeFileSync(path.join(work, 'neutralino.config.json'), JSON.stringify(config));
    runtime = spawn(NEU_BIN as string, [`--path=${work}`, '--load-dir-res'], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    runtime.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    runtime.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  });

  afterAll(async () => {
    runtime?.kill();
    await rm(work, { recursive: true, force: true });
  });

  it('is refused with the runtime status, gets answers, carries 70 KB and 5 MB out and back, and closes with 1000', async () => {
    await expect.poll(() => /PROBE (.*)/.exec(output)?.[1], { timeout: 60_000, interval: 100, message: output }).toBeDefined();
    const seen = JSON.parse(/PROBE (.*)/.exec(output)?.[1] ?? '{}') as Record<string, unknown>;
    expect(seen.refused).toMatch(/^Handshake refused: HTTP 400$/);
    expect(seen.applicationId).toBe('js.wsprobe');
    // The probe sends 70 KB and 5 MB (16- and 64-bit lengths) and compares what comes back.
    expect(seen.echoed).toEqual({ '70000': true, '5000000': true });
    expect(seen.closed).toEqual({ code: 1000, reason: '' });
  });
});
