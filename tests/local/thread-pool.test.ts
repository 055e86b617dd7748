/**
 * libuv's pool as the processes really run, counted from /proc: the sidecar started from
 * neutralino.config.json by the runtime (what `npm start` launches), and `npm run ask` as npm starts
 * it. A pool of 4 on 2 vCPUs costs llama.cpp's decode about a third of its speed, and a line in
 * main.ts that sizes it comes too late on Node 20, so only the running process can tell.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSidecarOnce, ROOT } from '../neutralino/build-once.js';
import { PageClient } from '../neutralino/page-client.js';
import { startNeutralinoStandIn } from '../neutralino/runtime.js';
import { libuvPoolSize, nodeProcessOf } from './libuv-pool.js';

const POOL = 2;
let dataDir: string;

/** This process's environment without a pool size of its own: the launch command must set it. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SIM_AI_DATA_DIR: dataDir, ...extra };
  if (!('UV_THREADPOOL_SIZE' in extra)) delete env.UV_THREADPOOL_SIZE;
  return env;
}

/** Largest pool seen over a few samples: a worker busy at one instant is not counted in it. */
async function idlePool(pid: number): Promise<number> {
  let most = 0;
  for (let i = 0; i < 5; i += 1) {
    most = Math.max(most, await libuvPoolSize(pid));
    await new Promise((r) => setTimeout(r, 60));
  }
  return most;
}

async function sidecarPool(env: NodeJS.ProcessEnv): Promise<number> {
  const runtime = await startNeutralinoStandIn({ appDir: ROOT, env });
  try {
    const page = await PageClient.connect(runtime);
    await page.waitForSidecar(20_000);
    const shell = runtime.extensionProcesses[0]?.pid;
    if (shell === undefined) throw new Error('no sidecar process');
    const pool = await idlePool(nodeProcessOf(shell));
    page.close();
    return pool;
  } finally {
    await runtime.close();
    await runtime.extensionProcesses[0]?.exited;
  }
}

beforeAll(async () => {
  await buildSidecarOnce();
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'sim-pool-'));
}, 120_000);

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe("libuv's pool in the processes as launched", () => {
  it('the sidecar started by the runtime from neutralino.config.json runs a pool of 2', async () => {
    expect(await sidecarPool(cleanEnv())).toBe(POOL);
  }, 60_000);

  it("a pool size the user sets wins over the app's", async () => {
    expect(await sidecarPool(cleanEnv({ UV_THREADPOOL_SIZE: '3' }))).toBe(3);
  }, 60_000);

  it('`npm run ask` runs a pool of 2 while it waits on a model', async () => {
    // An Ollama stand-in that takes the request and never answers: the runner sits idle, mid-run.
    const held: http.ServerResponse[] = [];
    let asked!: () => void;
    const requested = new Promise<void>((resolve) => (asked = resolve));
    const server = http.createServer((_req, res) => {
      held.push(res);
      asked();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    let npm: ChildProcess | undefined;
    try {
      npm = spawn('npm', ['run', '--silent', 'ask', '--', '--provider', 'ollama', '--base-url', `http://127.0.0.1:${port}`, '--model', 'm', 'hi'], {
        cwd: ROOT,
        env: cleanEnv(),
        stdio: 'ignore',
        detached: true,
      });
      await requested;
      const runner = descendants(npm.pid ?? 0).find((pid) => cmdline(pid).some((arg) => arg.endsWith('cli/ask.ts')));
      expect(runner, 'the runner process').toBeDefined();
      expect(await idlePool(runner ?? 0)).toBe(POOL);
    } finally {
      if (npm?.pid !== undefined) process.kill(-npm.pid, 'SIGKILL');
      for (const res of held) res.destroy();
      server.close();
    }
  }, 60_000);

  it('every npm script that starts a sidecar entry point loads the preload first', () => {
    const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const entries = Object.entries(scripts).filter(([, command]) => /extensions\/ai-sidecar\/(src\/cli\/|dist\/main)/.test(command));
    expect(entries.length).toBeGreaterThan(0);
    for (const [name, command] of entries) expect(command, name).toMatch(/^node --require \.\/extensions\/ai-sidecar\/src\/boot\/preload\.cjs /);
  });
});

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const stat of readdirProc()) {
    const ppid = Number(stat.split(') ')[1]?.split(' ')[1]);
    const pid = Number(stat.split(' ')[0]);
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const found: number[] = [];
  const visit = (pid: number): void => {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      visit(child);
    }
  };
  visit(root);
  return found;
}

/** /proc/<pid>/stat of every process (pid, name, state, ppid, ...). */
function readdirProc(): string[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      return [readFileSync(`/proc/${d}/stat`, 'utf8')];
    } catch {
      return [];
    }
  });
}
