/**
 * Runs a command under strace (Debian's) and lists every successful file write of it and all its
 * descendants: opens for writing or creating, mkdir, rename, link, unlink, truncate, chmod, utimes.
 * Relative paths are resolved against the directory given (the launcher `cd`s into its folder and
 * nothing after it changes directory); `-y` makes strace print the path of every directory fd.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const SYSCALLS = 'open,openat,openat2,creat,mkdir,mkdirat,rename,renameat,renameat2,link,linkat,symlink,symlinkat,unlink,unlinkat,rmdir,truncate,chmod,fchmodat,utimensat';
const WRITE_FLAGS = /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND/;

export interface TracedRun {
  readonly child: ChildProcess;
  /** Everything the traced program printed on stdout so far. */
  stdout(): string;
  /** Resolves when strace and every tracee have exited. */
  readonly exited: Promise<number | null>;
  /** Paths written, absolute, in order, de-duplicated. */
  writes(): string[];
}

export function traceWrites(command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; traceFile: string }): TracedRun {
  const child = spawn('strace', ['-f', '-qq', '-y', '-s', '4096', '-e', `trace=${SYSCALLS}`, '-o', options.traceFile, command, ...args], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    exited,
    writes: () => parseWrites(readFileSync(options.traceFile, 'utf8'), options.cwd),
  };
}

export function parseWrites(trace: string, cwd: string): string[] {
  const written = new Set<string>();
  for (const line of trace.split('\n')) {
    const match = /^\d+\s+(\w+)\((.*)\)\s+=\s+(-?\d+)/.exec(line);
    if (match === null) continue;
    const [, call = '', argText = '', result = ''] = match;
    if (Number(result) < 0) continue;
    const args = splitArgs(argText);
    for (const target of targetsOf(call, args)) written.add(target.startsWith('/') ? path.normalize(target) : path.resolve(cwd, target));
  }
  return [...written];
}

/** Which path arguments of a successful call were written. */
function targetsOf(call: string, args: string[]): string[] {
  const pathAt = (dirIndex: number, pathIndex: number): string => joinDir(args[dirIndex], args[pathIndex]);
  switch (call) {
    case 'open':
      return WRITE_FLAGS.test(args[1] ?? '') ? [unquote(args[0])] : [];
    case 'openat':
    case 'openat2':
      return WRITE_FLAGS.test(args[2] ?? '') ? [pathAt(0, 1)] : [];
    case 'creat':
    case 'mkdir':
    case 'unlink':
    case 'rmdir':
    case 'truncate':
    case 'chmod':
      return [unquote(args[0])];
    case 'mkdirat':
    case 'unlinkat':
    case 'fchmodat':
      return [pathAt(0, 1)];
    case 'utimensat':
      return args[1] === 'NULL' ? [] : [pathAt(0, 1)];
    case 'rename':
    case 'link':
      return [unquote(args[0]), unquote(args[1])];
    case 'symlink':
      return [unquote(args[1])];
    case 'renameat':
    case 'renameat2':
    case 'linkat':
      return [pathAt(0, 1), pathAt(2, 3)];
    case 'symlinkat':
      return [joinDir(args[1], args[2])];
    default:
      return [];
  }
}

/** `AT_FDCWD` or `5</some/dir>` plus a path. */
function joinDir(dir: string | undefined, file: string | undefined): string {
  const name = unquote(file);
  if (name.startsWith('/')) return name;
  const fdPath = /<(.*)>$/.exec(dir ?? '')?.[1];
  return fdPath === undefined ? name : path.join(fdPath, name);
}

function unquote(text: string | undefined): string {
  const raw = (text ?? '').trim();
  const quoted = /^"(.*)"$/.exec(raw)?.[1] ?? raw;
  // strace's -y form for an fd argument: `3</path>`.
  return /^\d+<(.*)>$/.exec(quoted)?.[1] ?? quoted.replace(/\\"/g, '"');
}

/** Splits strace's argument list at top-level commas (strings may hold commas). */
function splitArgs(text: string): string[] {
  const args: string[] = [];
  let current = '';
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (inString) {
      current += c;
      if (c === '\\') current += text[++i] ?? '';
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[' || c === '<') depth += 1;
    else if (c === '}' || c === ']' || c === '>') depth -= 1;
    else if (c === ',' && depth === 0) {
      args.push(current.trim());
      current = '';
      continue;
    }
    current += c;
  }
  if (current.trim() !== '') args.push(current.trim());
  return args;
}

/** Writes outside `folder`, leaving out the devices every program writes to. */
export function writesOutside(writes: readonly string[], folder: string): string[] {
  const root = path.resolve(folder) + path.sep;
  return writes.filter((w) => !(w + path.sep).startsWith(root) && !/^\/dev\/(null|tty|pts\/\d+|zero|full|u?random)$/.test(w));
}
