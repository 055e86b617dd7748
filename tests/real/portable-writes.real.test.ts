/**
 * With the REAL Neutralino runtime (NEU_BIN) under Xvfb: the portable folder, moved to another path
 * and started by its own launcher under an empty HOME, writes no file outside itself (strace of the
 * runtime, WebKit's processes, the sidecar). Before the launcher set the XDG folders and
 * GSETTINGS_BACKEND, WebKit wrote under ~/.cache and ~/.local/share, dconf ~/.cache/dconf, and Mesa
 * its shader cache under the home from the user database.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { traceWrites, writesOutside } from '../portable/write-trace.js';

const ROOT = path.resolve(__dirname, '../..');
const NEU_BIN = process.env.NEU_BIN;
let work: string | undefined;

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** Pids in the trace file (every process the launcher started), for cleanup of any left behind. */
function tracedPids(traceFile: string): number[] {
  try {
    const text = execFileSync('cut', ['-d', ' ', '-f', '1', traceFile], { encoding: 'utf8' });
    return [...new Set(text.split('\n').map(Number).filter((n) => n > 0))];
  } catch {
    return [];
  }
}

describe.skipIf(NEU_BIN === undefined || !existsSync(NEU_BIN ?? ''))('portable folder with the real runtime', () => {
  it('writes nothing outside itself (strace), WebKit caches land inside it', async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'sim-real-portable-'));
    const { dist } = (await import(path.join(ROOT, 'extensions/ai-sidecar/scripts/dist.mjs'))) as { dist: (o: { skipUi: boolean }) => Promise<{ outDir: string }> };
    const built = await dist({ skipUi: existsSync(path.join(ROOT, 'resources/dist/index.html')) });
    const folder = path.join(work, 'USB STICK', 'sim-ai-desktop');
    mkdirSync(path.dirname(folder), { recursive: true });
    renameSync(built.outDir, folder);
    const runtimeName = 'neutralino-linux_x64';
    copyFileSync(NEU_BIN!, path.join(folder, runtimeName));
    chmodSync(path.join(folder, runtimeName), 0o755);
    const home = path.join(work, 'home');
    const tmp = path.join(work, 'tmp');
    mkdirSync(home);
    mkdirSync(tmp);
    const traceFile = path.join(work, 'writes.strace');
    const env: NodeJS.ProcessEnv = { PATH: '/usr/bin:/bin', HOME: home, TMPDIR: tmp, LANG: 'C.UTF-8', DISPLAY: process.env.DISPLAY, XAUTHORITY: process.env.XAUTHORITY };
    const traced = traceWrites('./sim-ai-desktop', [], { cwd: folder, env, traceFile });
    try {
      // The sidecar says so once connected; the page then greets it and reads the vault state.
      await expect.poll(() => /sidecar ready/.test(traced.stdout()), { timeout: 60_000, message: traced.stdout() }).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 5_000));
    } finally {
      // The runtime, as closing its window ends it (under strace, then the launcher's shell); the
      // launcher's loop then ends too.
      const childOf = (pid: number): number => Number(execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n')[0]);
      const runtimePid = childOf(childOf(traced.child.pid ?? 0));
      if (runtimePid > 0) process.kill(runtimePid, 'SIGTERM');
    }
    const ended = await Promise.race([traced.exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 15_000))]);
    if (!ended) for (const pid of tracedPids(traceFile)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    expect(ended, 'the app ended by itself once its runtime went away').toBe(true);
    const writes = traced.writes();
    const outside = writesOutside(writes, folder);
    console.log(`real runtime: ${writes.length} paths written, ${outside.length} outside the folder`);
    expect(outside).toEqual([]);
    expect(readdirSync(home)).toEqual([]);
    // Control: WebKit did write, and inside the folder.
    expect(writes.some((w) => w.startsWith(path.join(folder, 'data', 'webview')))).toBe(true);
    // The runtime going away closed the database cleanly (no WAL left), so the next start checks the
    // vault's and the settings' tables, not the whole file (storage/database.ts).
    expect(existsSync(path.join(folder, 'data', 'sim-ai.db'))).toBe(true);
    expect(existsSync(path.join(folder, 'data', 'sim-ai.db-wal'))).toBe(false);
  });
});
