/**
 * What the benchmarks read from /proc: a process's parent, the processes below it, and its memory
 * (RSS, PSS and USS from smaps_rollup, in KiB). One place for the launch, Chromium and decode benches.
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface Memory {
  readonly rssKiB: number;
  readonly pssKiB: number;
  /** Pages only this process maps (Private_Clean + Private_Dirty). */
  readonly ussKiB: number;
}

export const NO_MEMORY: Memory = { rssKiB: 0, pssKiB: 0, ussKiB: 0 };

export const addMemory = (a: Memory, b: Memory): Memory => ({ rssKiB: a.rssKiB + b.rssKiB, pssKiB: a.pssKiB + b.pssKiB, ussKiB: a.ussKiB + b.ussKiB });

/** A process's memory; nothing for a process that ended meanwhile. */
export function memoryOf(pid: number): Memory {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0);
    return { rssKiB: field('Rss'), pssKiB: field('Pss'), ussKiB: field('Private_Clean') + field('Private_Dirty') };
  } catch {
    return NO_MEMORY;
  }
}

export function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** Every live process below `root` (not `root` itself). */
export function descendantsOf(root: number): number[] {
  const childrenOf = new Map<number, number[]>();
  for (const entry of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const ppid = parentOf(Number(entry));
      childrenOf.set(ppid, [...(childrenOf.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone
    }
  }
  const found: number[] = [];
  for (let queue = [root]; queue.length > 0; ) {
    const next = childrenOf.get(queue.shift() ?? -1) ?? [];
    found.push(...next);
    queue.push(...next);
  }
  return found;
}
