/**
 * The portable folder: built, moved to another path, started through the Neutralino stand-in under an
 * empty HOME and TMPDIR. It creates the vault, stores a key, runs the local model, and writes nothing
 * outside itself. A read-only copy starts, says it cannot save, and still runs the local model. The
 * sidecar leaves no process behind.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, readFileSync, readdirSync, readlinkSync, renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENTS, RESTART_EXIT_CODE, type ReplyEnvelope } from '../../extensions/ai-sidecar/src/protocol/contract.js';
import { PageClient } from '../neutralino/page-client.js';
import { startNeutralinoStandIn, type StandIn } from '../neutralino/runtime.js';
import { traceWrites, writesOutside } from './write-trace.js';
import { libuvPoolSize, nodeProcessOf } from '../local/libuv-pool.js';

const ROOT = path.resolve(__dirname, '../..');
const MODEL = path.join(process.env.SIM_SHARED_MODELS ?? path.resolve(ROOT, '../shared/models'), 'stories260K.gguf');
let work: string;
let folder: string;

const ok = (reply: ReplyEnvelope) => {
  if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
  return reply.result as Record<string, unknown>;
};

/** A clean environment: no Node on PATH beyond the system's, empty HOME and TMPDIR, no data override. */
function isolatedEnv(home: string, tmp: string): NodeJS.ProcessEnv {
  return { PATH: '/usr/bin:/bin', HOME: home, TMPDIR: tmp, LANG: 'C.UTF-8' };
}

async function start(appDir: string, env: NodeJS.ProcessEnv): Promise<{ runtime: StandIn; page: PageClient }> {
  const runtime = await startNeutralinoStandIn({ appDir, env });
  const page = await PageClient.connect(runtime);
  await page.waitForSidecar(20_000);
  return { runtime, page };
}

async function runLocal(page: PageClient, model: string, maxTokens = 24): Promise<{ text: string; finishReason: string }> {
  const done = new Promise<{ text: string; finishReason: string }>((resolve) => {
    const off = page.on((event, data) => {
      if (event === EVENTS.done || event === EVENTS.error) {
        off();
        resolve((data as { response: { text: string; finishReason: string } }).response);
      }
    });
  });
  ok(await page.request('call_ai_provider', { provider: 'local', request: { model, messages: [{ role: 'user', content: 'Once upon a time' }], maxTokens } }));
  return done;
}

async function stop(runtime: StandIn): Promise<void> {
  const [sidecar] = runtime.extensionProcesses;
  const closedAt = await runtime.close();
  const exit = await sidecar?.exited;
  expect((exit?.at ?? Infinity) - closedAt, 'sidecar exits by itself').toBeLessThan(1500);
  // Cleanly: better-sqlite3 12 on Node 24 aborted (SIGABRT) at every exit.
  expect(exit?.code, 'sidecar exit code').toBe(0);
  // No process outlives the app: nothing is left whose command line runs from the folder.
  const leftovers = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((line) => line.includes(`${folder}/`) && !line.includes('ps -eo'));
  expect(leftovers).toEqual([]);
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'sim-portable-'));
  const { dist } = (await import(path.join(ROOT, 'extensions/ai-sidecar/scripts/dist.mjs'))) as { dist: (o: { skipUi: boolean }) => Promise<{ outDir: string }> };
  const built = await dist({ skipUi: existsSync(path.join(ROOT, 'resources/dist/index.html')) });
  // Moved to another path: nothing in it may depend on where it was built.
  folder = path.join(work, 'USB STICK', 'sim-ai-desktop');
  execFileSync('mkdir', ['-p', path.dirname(folder)]);
  renameSync(built.outDir, folder);
}, 600_000);

afterAll(async () => {
  try {
    execFileSync('umount', [path.join(work, 'ro')], { stdio: 'ignore' });
  } catch {
    // not mounted
  }
  await rm(work, { recursive: true, force: true });
});

describe('portable folder', () => {
  it('runs moved to another path, under an empty HOME, and writes nothing outside itself', async () => {
    const home = path.join(work, 'home');
    const tmp = path.join(work, 'tmp');
    execFileSync('mkdir', ['-p', home, tmp]);
    const { runtime, page } = await start(folder, isolatedEnv(home, tmp));
    try {
      const hello = ok(await page.request('hello', { protocolVersion: 1 }));
      expect(hello).toMatchObject({ dataDir: path.join(folder, 'data'), readOnly: false });
      // The folder's own Node (the current LTS, not this machine's), with libuv's pool sized by the preload.
      const sidecar = nodeProcessOf(runtime.extensionProcesses[0]?.pid ?? 0);
      expect(readlinkSync(`/proc/${sidecar}/exe`)).toBe(path.join(folder, 'node', 'node'));
      expect(execFileSync(path.join(folder, 'node', 'node'), ['-p', 'process.versions.node'], { encoding: 'utf8' })).toMatch(/^24\./);
      ok(await page.request('vault_init', { passphrase: 'portable passphrase' }));
      ok(await page.request('set_secret', { provider: 'openai', secret: 'sk-proj-PORTABLEportablePORTABLE1234' }));
      ok(await page.request('import_model', { path: MODEL }));
      const response = await runLocal(page, 'stories260K.gguf');
      expect(response.finishReason).toBe('length');
      expect(response.text.length).toBeGreaterThan(10);
      // Node 24 starts the pool only on first use (here: the model's file reads), sized by the preload.
      expect(await libuvPoolSize(sidecar)).toBe(2);
    } finally {
      await stop(runtime);
    }
    expect(readdirSync(home)).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
    expect(readdirSync(path.join(folder, 'data')).sort()).toEqual(expect.arrayContaining(['models', 'sim-ai.db']));
    // Node's compile cache stays inside the folder too.
    expect(readdirSync(path.join(folder, 'extensions', 'ai-sidecar', '.node-compile-cache')).length).toBeGreaterThan(0);
  }, 120_000);

  it('started by its own launcher under strace, writes no file outside itself (stand-in runtime)', async () => {
    // Where the real runtime binary would be, the stand-in as a program (bundled: no tsx cache writes).
    const { build } = await import('esbuild');
    await build({ entryPoints: [path.join(__dirname, 'standin-main.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: path.join(folder, 'standin-runtime.mjs'), logLevel: 'error',
      // `ws` is CommonJS and requires Node's built-ins.
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" } });
    const runtimeName = readdirSync(folder).find((f) => /^neutralino-linux_/.test(f)) ?? 'neutralino-linux_x64';
    writeFileSync(path.join(folder, runtimeName), '#!/bin/sh\nexec "$(dirname "$0")/node/node" "$(dirname "$0")/standin-runtime.mjs" "$@"\n');
    chmodSync(path.join(folder, runtimeName), 0o755);
    const home = path.join(work, 'home-trace');
    const tmp = path.join(work, 'tmp-trace');
    execFileSync('mkdir', ['-p', home, tmp]);
    const traced = traceWrites('./sim-ai-desktop', [], { cwd: folder, env: isolatedEnv(home, tmp), traceFile: path.join(work, 'writes.strace') });
    try {
      await expect.poll(() => /STANDIN_URL (\S+)/.exec(traced.stdout())?.[1], { timeout: 20_000, message: traced.stdout() }).toBeDefined();
      const url = new URL(/STANDIN_URL (\S+)/.exec(traced.stdout())![1]!);
      // As the page does: the token from the globals script, then the socket.
      const globals = await (await fetch(new URL('/__neutralino_globals.js', url))).text();
      const token = /var NL_TOKEN = "([^"]+)"/.exec(globals)?.[1] ?? '';
      const page = await PageClient.connect({ port: Number(url.port), token } as StandIn);
      await page.waitForSidecar(20_000);
      ok(await page.request('vault_unlock', { passphrase: 'portable passphrase' }));
      ok(await page.request('set_secret', { provider: 'groq', secret: 'gsk_TRACEtraceTRACEtrace1234567890' }));
      // Long enough for the thread tuner to finish measuring and write its cache (issue 13).
      const response = await runLocal(page, 'stories260K.gguf', 400);
      expect(response.finishReason).toBe('length');
      page.close();
    } finally {
      // Like closing the window: the runtime goes; the sidecar must leave by itself.
      const pid = Number(/STANDIN_URL \S+ (\d+)/.exec(traced.stdout())?.[1]);
      if (pid > 0) process.kill(pid, 'SIGTERM');
      else traced.child.kill('SIGTERM');
    }
    await traced.exited;
    const writes = traced.writes();
    // Control: the trace did see the app's own writes.
    expect(writes.some((w) => w.startsWith(path.join(folder, 'data')))).toBe(true);
    expect(writesOutside(writes, folder)).toEqual([]);
    expect(readdirSync(home)).toEqual([]);
    // The launcher made the runtime's cache, data and config folders inside the folder.
    expect(readdirSync(path.join(folder, 'data', 'webview')).sort()).toEqual(['cache', 'config', 'share']);
    // The thread-count cache was written, and keys the model by its content, never by where it is.
    const threadCache = readFileSync(path.join(folder, 'data', 'thread-cache.json'), 'utf8');
    expect(Object.keys(JSON.parse(threadCache) as object).length).toBeGreaterThan(0);
    expect(threadCache).not.toContain('stories260K');
    expect(threadCache).not.toMatch(/"\//);
    expect(threadCache).not.toContain(work);
  }, 120_000);

  it('its launcher starts the runtime again when the window asks for a restart, and only then', async () => {
    // A runtime that leaves with the restart code (what "Restart the app" makes the page do) the first
    // time and with 3 the second: the launcher must run it twice and end with the second code.
    const dir = path.join(work, 'restart');
    execFileSync('mkdir', ['-p', dir]);
    cpSync(path.join(folder, 'sim-ai-desktop'), path.join(dir, 'sim-ai-desktop'));
    writeFileSync(path.join(dir, 'resources.neu'), '');
    const runtimeName = readdirSync(folder).find((f) => /^neutralino-linux_/.test(f)) ?? 'neutralino-linux_x64';
    writeFileSync(path.join(dir, runtimeName), `#!/bin/sh\necho run >> "$(dirname "$0")/runs"\n[ "$(wc -l < "$(dirname "$0")/runs")" -ge 2 ] && exit 3\nexit ${RESTART_EXIT_CODE}\n`);
    chmodSync(path.join(dir, runtimeName), 0o755);
    let code = 0;
    try {
      execFileSync(path.join(dir, 'sim-ai-desktop'), [], { stdio: 'ignore' });
    } catch (error) {
      code = (error as { status: number }).status;
    }
    expect(code).toBe(3);
    expect(readFileSync(path.join(dir, 'runs'), 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('its launcher turns off WebKit\'s software GL compositing, unless the person set it', () => {
    // A runtime that writes down what it was given: the launcher's default, then a value set by hand.
    const dir = path.join(work, 'webview-env');
    execFileSync('mkdir', ['-p', dir]);
    cpSync(path.join(folder, 'sim-ai-desktop'), path.join(dir, 'sim-ai-desktop'));
    writeFileSync(path.join(dir, 'resources.neu'), '');
    const runtimeName = readdirSync(folder).find((f) => /^neutralino-linux_/.test(f)) ?? 'neutralino-linux_x64';
    writeFileSync(path.join(dir, runtimeName), '#!/bin/sh\necho "[$WEBKIT_DISABLE_COMPOSITING_MODE]" >> "$(dirname "$0")/seen"\n');
    chmodSync(path.join(dir, runtimeName), 0o755);
    const env = { ...process.env };
    delete env.WEBKIT_DISABLE_COMPOSITING_MODE;
    execFileSync(path.join(dir, 'sim-ai-desktop'), [], { stdio: 'ignore', env });
    execFileSync(path.join(dir, 'sim-ai-desktop'), [], { stdio: 'ignore', env: { ...env, WEBKIT_DISABLE_COMPOSITING_MODE: '0' } });
    expect(readFileSync(path.join(dir, 'seen'), 'utf8').trim().split('\n')).toEqual(['[1]', '[0]']);
  });

  it('starts from read-only media, says it cannot save, and still runs the local model', async () => {
    const copy = path.join(work, 'copy');
    const ro = path.join(work, 'ro');
    cpSync(folder, copy, { recursive: true });
    execFileSync('mkdir', ['-p', ro]);
    execFileSync('mount', ['--bind', copy, ro]);
    execFileSync('mount', ['-o', 'remount,bind,ro', ro]);
    const home = path.join(work, 'home-ro');
    const tmp = path.join(work, 'tmp-ro');
    execFileSync('mkdir', ['-p', home, tmp]);
    folder = ro;
    const { runtime, page } = await start(ro, isolatedEnv(home, tmp));
    try {
      const hello = ok(await page.request('hello', { protocolVersion: 1 }));
      expect(hello).toMatchObject({ readOnly: true, storageError: expect.stringMatching(/read-only/) });
      // What was stored on the stick is still readable this session.
      expect(ok(await page.request('vault_status', {}))).toMatchObject({ state: 'locked' });
      const response = await runLocal(page, 'stories260K.gguf');
      expect(response.finishReason).toBe('length');
    } finally {
      await stop(runtime);
    }
    expect(readdirSync(home)).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
  }, 120_000);
});
