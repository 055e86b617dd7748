/**
 * How many threads libuv's pool really has in a running Node process, read from /proc (Linux).
 *
 * Node 22+ names them (`libuv-worker`). Node 20 names every thread `node`; there the idle pool
 * workers are found by what they wait on: all of them block on one condition variable that libuv
 * keeps in the node binary's own data segment. Its offset from the binary's load address is learnt
 * from a reference process of the same binary started with a pool of 3, then the target's threads
 * waiting there are counted (a worker busy at that instant is not: measure an idle process).
 * Linux only, as is reading another process's /proc/<pid>/task/<tid>/syscall (needs ptrace rights).
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

function tasks(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map(Number);
}

function threadNames(pid: number): string[] {
  return tasks(pid).map((tid) => {
    try {
      return readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    } catch {
      return '';
    }
  });
}

/**
 * The condition variable each thread of `pid` is blocked on, if any. glibc's waiters sleep on one of
 * two adjacent words of the variable (its two signal groups), so the address is aligned down to 8.
 */
function futexWaits(pid: number): bigint[] {
  const waits: bigint[] = [];
  for (const tid of tasks(pid)) {
    try {
      const [nr, addr] = readFileSync(`/proc/${pid}/task/${tid}/syscall`, 'utf8').trim().split(' ');
      // futex is 202 on x86-64, 98 on arm64.
      if ((nr === '202' || nr === '98') && addr !== undefined) waits.push(BigInt(addr) & ~7n);
    } catch {
      // thread ended meanwhile
    }
  }
  return waits;
}

/** Where the executable is mapped (its lowest mapping): offsets inside it survive ASLR. */
function binaryBase(pid: number): bigint {
  const exe = readlinkSync(`/proc/${pid}/exe`);
  const line = readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').find((l) => l.endsWith(exe));
  if (line === undefined) throw new Error(`no mapping of ${exe} in ${pid}`);
  return BigInt(`0x${line.split('-')[0]}`);
}

const offsets = new Map<string, bigint>();

/** The pool's condition variable, as an offset into `exe`, learnt from a reference run of it. */
async function poolCondOffset(exe: string): Promise<bigint> {
  const known = offsets.get(exe);
  if (known !== undefined) return known;
  const script = "require('fs').readFile(__filename, () => {}); setTimeout(() => {}, 20000); console.log('ready')";
  const child = spawn(exe, ['-e', script], { env: { UV_THREADPOOL_SIZE: '3' }, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('error', reject);
    });
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const counts = new Map<bigint, number>();
      for (const addr of futexWaits(child.pid ?? 0)) counts.set(addr, (counts.get(addr) ?? 0) + 1);
      const pool = [...counts.entries()].filter(([, n]) => n === 3);
      if (pool.length === 1 && pool[0] !== undefined) {
        const offset = pool[0][0] - binaryBase(child.pid ?? 0);
        offsets.set(exe, offset);
        return offset;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`could not find libuv's pool in a reference run of ${exe}`);
  } finally {
    child.kill();
  }
}

/** The Node process behind `pid`: the process itself, or its only child when `pid` is a shell. */
export function nodeProcessOf(pid: number): number {
  const exe = readlinkSync(`/proc/${pid}/exe`);
  if (!/\/(ba|da)?sh$/.test(exe)) return pid;
  const children = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  if (children.length !== 1 || children[0] === undefined) throw new Error(`shell ${pid} has ${children.length} children`);
  return children[0];
}

/** Threads in libuv's pool of the (idle) Node process `pid`; 0 when the pool has not started. */
export async function libuvPoolSize(pid: number): Promise<number> {
  const names = threadNames(pid);
  if (names.includes('libuv-worker')) return names.filter((n) => n === 'libuv-worker').length;
  if (names.includes('MainThread')) return 0; // Node 22+ names its threads: no pool started yet
  const exe = readlinkSync(`/proc/${pid}/exe`);
  const cond = binaryBase(pid) + (await poolCondOffset(exe));
  return futexWaits(pid).filter((addr) => addr === cond).length;
}
