/**
 * What only the real Neutralino runtime can answer, with the app as `npm start` and the portable
 * folder run it: bundle mode (resources.neu), the shipped config, the built UI and sidecar.
 *  - the file server: `..%2f` traversal and directory requests get nothing, and the runtime stays up;
 *  - native calls from a script in the real window, `window.snapshot` over the vault DB first: refused;
 *  - a local process holding the token (the one-time token race, which cannot be fixed from here)
 *    can drive the contract but cannot move a stored key to its own server.
 * Needs NEU_BIN and a display: `NEU_BIN=... xvfb-run -a npm run check:real`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENTS, type ReplyEnvelope } from '../../extensions/ai-sidecar/src/protocol/contract.js';
import { ROOT } from '../neutralino/build-once.js';
import { PageClient } from '../neutralino/page-client.js';
import { ATTACKS, NEEDED } from '../security/native-attacks.js';
import { startOpenAIServer, type OpenAIServer } from '../wire/openai-server.js';
import { attackPage } from './attack-page.js';

const NEU_BIN = process.env.NEU_BIN;
const KEY = 'sk-proj-REALruntimeHOMEonlyKEY0042';
const PASSPHRASE = 'a long and honest passphrase';

let work: string;
let appDir: string;
let dataDir: string;
let port: number;
let runtime: ChildProcess;
let runtimeLog = '';
let reports: Promise<unknown>;
let reportServer: http.Server;
let home: OpenAIServer;
let evil: OpenAIServer;

const dbFile = () => path.join(dataDir, 'sim-ai.db');
const alive = () => runtime.exitCode === null && runtime.signalCode === null;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: p } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return p;
}

/** One GET; a connection the runtime's server dropped while the window loads is tried again. */
async function get(pathname: string, attempts = 3): Promise<{ status: number; body: string }> {
  try {
    return await getOnce(pathname);
  } catch (error) {
    if (attempts <= 1 || !alive()) throw error;
    await new Promise((r) => setTimeout(r, 200));
    return get(pathname, attempts - 1);
  }
}

function getOnce(pathname: string): Promise<{ status: number; body: string }> {
  // Raw HTTP so the path goes out exactly as written (fetch would normalise `..`).
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: pathname, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('latin1')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}\n${runtimeLog.slice(-2000)}`);
}

const ok = <T = unknown>(reply: ReplyEnvelope): T => {
  if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
  return reply.result as T;
};

describe.skipIf(NEU_BIN === undefined || !existsSync(NEU_BIN))('the real Neutralino runtime, in bundle mode', () => {
  beforeAll(async () => {
    if (!existsSync(path.join(ROOT, 'resources/dist/index.html'))) throw new Error('build the UI first: npm run build');
    if (!existsSync(path.join(ROOT, 'extensions/ai-sidecar/dist/main.cjs'))) throw new Error('build the sidecar first: npm run build');
    work = await mkdtemp(path.join(os.tmpdir(), 'sim-real-'));
    appDir = path.join(work, 'app');
    dataDir = path.join(work, 'data');
    mkdirSync(appDir);
    symlinkSync(path.join(ROOT, 'extensions'), path.join(appDir, 'extensions'));
    [home, evil] = await Promise.all([startOpenAIServer(), startOpenAIServer()]);

    let report!: (value: unknown) => void;
    reports = new Promise((resolve) => (report = resolve));
    reportServer = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => (res.writeHead(204).end(), report(JSON.parse(body))));
    });
    await new Promise<void>((resolve) => reportServer.listen(0, '127.0.0.1', resolve));
    const reportUrl = `http://127.0.0.1:${(reportServer.address() as AddressInfo).port}/report`;

    // The shipped config and UI, packed exactly as `npm start` packs them, plus one hostile page.
    const ui = path.join(work, 'ui');
    cpSync(path.join(ROOT, 'resources/dist'), ui, { recursive: true });
    writeFileSync(path.join(ui, 'attack.html'), attackPage(reportUrl, [...ATTACKS(path.join(dataDir, 'sim-ai.db')), ['extensions.getStats', {}]]));
    const { writeResourcesBundle } = (await import(path.join(ROOT, 'extensions/ai-sidecar/scripts/resources-bundle.mjs'))) as {
      writeResourcesBundle: (o: { config: unknown; uiDir: string; out: string }) => Promise<string>;
    };
    const config = JSON.parse(readFileSync(path.join(ROOT, 'neutralino.config.json'), 'utf8')) as unknown;
    await writeResourcesBundle({ config, uiDir: ui, out: path.join(appDir, 'resources.neu') });

    port = await freePort();
    runtime = spawn(NEU_BIN as string, [`--path=${appDir}`, `--port=${port}`, '--url=/attack.html', '--export-auth-info=true'], {
      cwd: appDir,
      env: { ...process.env, SIM_AI_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    runtime.stdout?.on('data', (c: Buffer) => (runtimeLog += c.toString()));
    runtime.stderr?.on('data', (c: Buffer) => (runtimeLog += c.toString()));
    await waitFor(async () => ((await get('/')).status === 200 ? true : undefined), 'the runtime to serve');
  });

  afterAll(async () => {
    if (runtime && alive()) runtime.kill('SIGTERM');
    reportServer?.close();
    await Promise.all([home?.close(), evil?.close()]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('attack: a script in the real window calls window.snapshot over the vault DB and 22 other methods: every one refused with NE_RT_NATPRME', async () => {
    const report = (await Promise.race([reports, new Promise((_, reject) => setTimeout(() => reject(new Error(`no report from the window\n${runtimeLog.slice(-2000)}`)), 45_000))])) as {
      hadToken: boolean;
      results: Record<string, { error?: { code: string; message: string }; success?: boolean }>;
    };
    expect(report.hadToken).toBe(true);
    for (const [method] of ATTACKS(dbFile())) {
      expect(report.results[method], method).toEqual({ error: { code: 'NE_RT_NATPRME', message: `Missing permission to execute the native method: ${method}` } });
    }
    // What the app needs still works for the window.
    expect(report.results['extensions.getStats']).toMatchObject({ success: true });
    expect(NEEDED).toContain('extensions.getStats');
    expect(alive()).toBe(true);
  });

  it('runs in bundle mode (asked after the window took the one-time token)', async () => {
    const globals = await get('/__neutralino_globals.js');
    expect(globals.body).toMatch(/NL_RESMODE='bundle'/);
  });

  it('attack: ..%2f traversal towards /etc/passwd, the config and the vault DB gets nothing', async () => {
    const relative = path.relative(path.join(appDir, 'resources/dist'), dbFile());
    const targets = [
      '/..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd',
      '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
      '/../../../../../../../../etc/passwd',
      '/..%252f..%252f..%252fetc%252fpasswd',
      `/${relative.split('/').map(encodeURIComponent).join('%2f')}`,
      '/..%2f..%2fneutralino.config.json',
      '/..%2fresources.neu',
    ];
    for (const target of targets) {
      const { status, body } = await get(target);
      expect(status, target).toBe(404);
      expect(body, target).not.toMatch(/root:x:0:0|SQLite format|nativeAllowList/);
    }
    expect(alive()).toBe(true);
  });

  it('attack: requests that name directories get nothing, and the runtime stays up', async () => {
    for (const target of ['/assets/', '/assets', '/..%2f', '/..%2f..%2f..%2f..%2f..%2f..%2ftmp', '/..%2f..%2f..%2f..%2f..%2f..%2ftmp/', '/%2e', '/assets%2f']) {
      const { status } = await get(target);
      expect(status, target).not.toBe(200);
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(alive()).toBe(true);
    expect((await get('/')).status).toBe(200);
  });

  it('attack: a local process that got the token drives the contract but cannot move the stored key to its server', async () => {
    const auth = JSON.parse(readFileSync(path.join(appDir, '.tmp', 'auth_info.json'), 'utf8')) as { nlToken?: string; accessToken?: string };
    const token = auth.nlToken ?? auth.accessToken ?? '';
    // A local process with the token: a raw client of the runtime's socket, as the page would be.
    const thief = await PageClient.connect({ port, token });
    try {
      await thief.waitForSidecar(30_000);
      expect(await thief.native('window.snapshot', { path: dbFile() })).toMatchObject({ error: { code: 'NE_RT_NATPRME' } });
      ok(await thief.request('vault_init', { passphrase: PASSPHRASE }));
      ok(await thief.request('update_provider', { provider: 'openai', baseURL: `${home.url}/v1` }));
      ok(await thief.request('set_secret', { provider: 'openai', secret: KEY }));
      const before = createHash('sha256').update(readFileSync(dbFile())).digest('hex');
      ok(await thief.request('update_provider', { provider: 'openai', baseURL: `${evil.url}/v1` }));
      ok(await thief.request('list_models'));
      // Listening before the request: a refusal can end the run before its reply arrives (the
      // window's client keeps such early events too, api/client.ts).
      const ends = new Map<string, { code: string }>();
      const off = thief.on((event, data) => {
        const d = data as { executionId?: string; error?: { code: string } };
        if (d.executionId === undefined) return;
        if (event === EVENTS.error) ends.set(d.executionId, d.error ?? { code: '?' });
        if (event === EVENTS.done) ends.set(d.executionId, { code: 'done' });
      });
      const { executionId } = ok<{ executionId: string }>(await thief.request('call_ai_provider', { provider: 'openai', request: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] } }));
      await expect.poll(() => ends.has(executionId), { timeout: 30_000 }).toBe(true);
      off();
      const error = ends.get(executionId) ?? { code: '?' };
      expect(error.code).toBe('auth');
      expect(JSON.stringify(evil.requests.map((r) => r.headers))).not.toContain(KEY);
      expect(before).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      thief.close();
    }
  });
});

/** The listening port of a process (the runtime picks a free one when started by the launcher). */
/** The first child process of `pid` (Linux /proc), if it has one. */
function childOf(pid: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

function listeningPort(pid: number): number | undefined {
  const out = spawnSync('ss', ['-ltnpH'], { encoding: 'utf8' }).stdout;
  const line = out.split('\n').find((l) => l.includes(`pid=${pid},`));
  const match = /127\.0\.0\.1:(\d+)/.exec(line ?? '');
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

describe.skipIf(NEU_BIN === undefined || !existsSync(NEU_BIN))('the portable folder with the real runtime', () => {
  let folder: string;
  let launcher: ChildProcess | undefined;

  beforeAll(async () => {
    const { dist } = (await import(path.join(ROOT, 'extensions/ai-sidecar/scripts/dist.mjs'))) as { dist: (o: { skipUi: boolean }) => Promise<{ outDir: string }> };
    const built = await dist({ skipUi: true });
    work = await mkdtemp(path.join(os.tmpdir(), 'sim-real-portable-'));
    folder = path.join(work, 'stick');
    cpSync(built.outDir, folder, { recursive: true });
    rmSync(built.outDir, { recursive: true, force: true });
    cpSync(NEU_BIN as string, path.join(folder, 'neutralino-linux_x64'));
    chmodSync(path.join(folder, 'neutralino-linux_x64'), 0o755);
  }, 300_000);

  afterAll(async () => {
    const child = childOf(launcher?.pid ?? -1);
    if (child !== undefined) process.kill(child, 'SIGTERM');
    launcher?.kill('SIGTERM');
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('refuses to start without resources.neu (the runtime would fall back to serving the folder)', () => {
    renameSync(path.join(folder, 'resources.neu'), path.join(folder, 'resources.neu.away'));
    const result = spawnSync(path.join(folder, 'sim-ai-desktop'), { encoding: 'utf8', timeout: 10_000 });
    renameSync(path.join(folder, 'resources.neu.away'), path.join(folder, 'resources.neu'));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/resources\.neu is missing/);
  });

  it('the launcher runs the runtime in bundle mode: traversal and directory requests get 404, the data folder is 0700', async () => {
    launcher = spawn(path.join(folder, 'sim-ai-desktop'), [], { cwd: folder, stdio: 'ignore' });
    // The launcher stays (it starts the runtime again on a restart): the runtime is its child, and the
    // launcher lives exactly as long as the runtime does.
    port = await waitFor(async () => listeningPort(childOf(launcher?.pid ?? -1) ?? -1), 'the portable runtime to listen');
    runtime = launcher;
    await waitFor(async () => ((await get('/')).status === 200 ? true : undefined), 'the portable runtime to serve');
    for (const target of ['/..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd', '/..%2f..%2fdata%2fsim-ai.db', '/..%2fresources.neu', '/assets/']) {
      const { status, body } = await get(target);
      expect(status, target).toBe(404);
      expect(body).not.toMatch(/root:x:0:0|SQLite format/);
    }
    expect(alive()).toBe(true);
    await waitFor(async () => (existsSync(path.join(folder, 'data', 'sim-ai.db')) ? true : undefined), 'the sidecar to open its database');
    expect(statSync(path.join(folder, 'data')).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(folder, 'data', 'sim-ai.db')).mode & 0o777).toBe(0o600);
  });
});
