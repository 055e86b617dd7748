/**
 * Picks llama.cpp's thread count by measuring, because the right answer swings by orders of magnitude:
 * on 2 vCPUs a tiny model runs ~15x faster on 1 thread than on 2, and the library default (4 threads)
 * is ~500x slower still; a 1B model prefers 2. A short run per candidate decides; the result is cached
 * per model file and machine.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Thread counts worth trying on a machine with `cores` cores: 1, 2, half and all, never more. */
export function threadCandidates(cores: number): number[] {
  const all = [1, 2, Math.floor(cores / 2), cores].filter((n) => n >= 1 && n <= Math.max(1, cores));
  return [...new Set(all)].sort((a, b) => a - b);
}

/** Measures each candidate (tokens per second) and returns the fastest. Ties go to fewer threads. */
export async function pickFastest(candidates: readonly number[], measure: (threads: number) => Promise<number>): Promise<{ threads: number; rates: Record<number, number> }> {
  const rates: Record<number, number> = {};
  let best = candidates[0] ?? 1;
  for (const threads of candidates) {
    rates[threads] = await measure(threads);
    if ((rates[threads] ?? 0) > (rates[best] ?? 0) * 1.02) best = threads;
  }
  return { threads: best, rates };
}

export function machineKey(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'cpu'}x${cpus.length}`;
}

/** A tiny JSON cache of measured thread counts; without a file it lives in memory only. */
export class ThreadCache {
  private entries: Record<string, number> | undefined;

  constructor(private readonly file?: string) {}

  async get(key: string): Promise<number | undefined> {
    return (await this.load())[portableKey(key)];
  }

  async set(key: string, threads: number): Promise<void> {
    const entries = await this.load();
    entries[portableKey(key)] = threads;
    if (this.file === undefined) return;
    try {
      await mkdir(path.dirname(this.file), { recursive: true });
      await writeFile(this.file, JSON.stringify(entries, null, 2));
    } catch {
      // A read-only data folder only costs a re-measure next start.
    }
  }

  private async load(): Promise<Record<string, number>> {
    if (this.entries) return this.entries;
    try {
      this.entries = this.file === undefined ? {} : (JSON.parse(await readFile(this.file, 'utf8')) as Record<string, number>);
    } catch {
      this.entries = {};
    }
    return this.entries;
  }
}

/**
 * The cache file lives in the (possibly portable) data folder: it must not record where the user's
 * files are, and a stick mounted elsewhere must still hit. The model's directory is dropped; its file
 * name, size and mtime (the rest of the key) still tell one file from another.
 */
export function portableKey(key: string): string {
  const bar = key.indexOf('|');
  const file = bar < 0 ? key : key.slice(0, bar);
  const rest = bar < 0 ? '' : key.slice(bar);
  return `${file.slice(Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\')) + 1)}${rest}`;
}
