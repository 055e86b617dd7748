/**
 * Picks llama.cpp's thread count by measuring, because the right answer swings by orders of magnitude
 * and moves with the machine's load: on 2 vCPUs a tiny model runs ~15x faster on 1 thread than on 2,
 * a 1B model prefers 2 while idle, and 1 as soon as another process keeps a core busy (2 threads then
 * decode at 0.4 of 1 thread, their barrier waiting on a preempted core).
 *
 * So the count is measured on real work, never on a separate probe run: the first generation with a
 * model alternates the candidates in short segments (ABBA order, so drift hits both alike) and keeps
 * the fastest by median token interval. Then every run is watched: a window on more than one thread
 * that decodes well below what the measurement promised (another process took a core) starts a new
 * measurement at once, and a short look at the counts above the current one every few hundred tokens
 * (less often while looks find nothing) notices when a core came back. The
 * result is cached per model content and machine, so the app and the runner share it. A cached
 * choice below the most threads may have been made while another process held a core: a tuner that
 * starts from one takes its first short look after one window (a runner's whole run may be shorter
 * than the periodic look's wait). A cached choice of the most threads needs no look: a busy core
 * shows as a slow window at once.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Thread counts worth trying on a machine with `cores` cores: 1, 2, half and all, never more. */
export function threadCandidates(cores: number): number[] {
  const all = [1, 2, Math.floor(cores / 2), cores].filter((n) => n >= 1 && n <= Math.max(1, cores));
  return [...new Set(all)].sort((a, b) => a - b);
}

/** What a measurement found: the chosen count and the decode rate (tokens/s) of each candidate. */
export interface ThreadChoice {
  readonly threads: number;
  readonly rates: Readonly<Record<string, number>>;
}

export interface TunerSettings {
  /** Token intervals per candidate per round while measuring (the first after a switch is dropped). */
  readonly segment: number;
  /** Rounds of all candidates before choosing. */
  readonly rounds: number;
  /** Intervals in the window a run is watched with. */
  readonly window: number;
  /** A window decoding below this share of the promised rate starts a new measurement. */
  readonly slowShare: number;
  /** Tokens between two short looks at the other candidates; 0 never looks. Each look that finds
   *  nothing better doubles the wait, up to `exploreBackoff` times: a look at a count that is far
   *  slower is the costly part on a loaded machine. */
  readonly exploreEvery: number;
  readonly exploreBackoff: number;
  /** A candidate must beat the current count by this share to switch (noise margin). */
  readonly margin: number;
  /** Token intervals per candidate in the early look at a cached choice below the most threads. */
  readonly earlyLook: number;
}

export const DEFAULT_TUNER: TunerSettings = { segment: 7, rounds: 3, window: 16, slowShare: 0.7, exploreEvery: 256, exploreBackoff: 8, margin: 0.04, earlyLook: 4 };

type Mode =
  | { kind: 'measure'; schedule: number[]; step: number; left: number; intervals: Map<number, number[]> }
  | { kind: 'run'; window: number[]; sinceExplore: number }
  | { kind: 'explore'; schedule: number[]; step: number; left: number; segment: number; intervals: Map<number, number[]>; baseline: number };

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : (sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN);
};

/**
 * The thread count for each next decode, from the time between generated tokens. Pure logic: the
 * provider feeds it token timestamps and applies what it returns.
 */
export class ThreadTuner {
  private mode: Mode;
  private choice: ThreadChoice | undefined;
  private last: number | undefined;
  private active: number;
  private changed = false;
  /** The current wait between looks, in multiples of `exploreEvery`. */
  private exploreScale = 1;
  /** Look after the first window: the cached choice may be from a busier moment. */
  private lookEarly = false;
  /** Measurements made by this tuner (for tests and the benchmark's report). */
  measurements = 0;

  constructor(
    private readonly candidates: readonly number[],
    cached?: ThreadChoice,
    private readonly settings: TunerSettings = DEFAULT_TUNER,
  ) {
    if (cached !== undefined && candidates.includes(cached.threads) && candidates.length > 1) {
      this.choice = cached;
      this.active = cached.threads;
      this.mode = { kind: 'run', window: [], sinceExplore: 0 };
      this.lookEarly = cached.threads < Math.max(...candidates);
    } else if (candidates.length <= 1) {
      this.active = candidates[0] ?? 1;
      this.choice = { threads: this.active, rates: {} };
      this.mode = { kind: 'run', window: [], sinceExplore: 0 };
    } else {
      this.active = candidates[0] ?? 1;
      this.mode = this.measuring();
    }
  }

  /** The count for the next decode. */
  get threads(): number {
    return this.active;
  }

  /** The settled choice, if one was made (from the cache or a measurement). */
  get settled(): ThreadChoice | undefined {
    return this.choice;
  }

  /** A new generation starts: its first token includes the prompt, so it is not timed. */
  startRun(): void {
    this.last = undefined;
  }

  /** A choice made or changed since the last call, to be cached. */
  takeChange(): ThreadChoice | undefined {
    if (!this.changed) return undefined;
    this.changed = false;
    return this.choice;
  }

  /** A token arrived at `now` (ms); returns the thread count for the next decode. */
  onToken(now: number): number {
    const interval = this.last === undefined ? undefined : now - this.last;
    this.last = now;
    if (interval === undefined || this.candidates.length <= 1) return this.active;
    const mode = this.mode;
    if (mode.kind === 'run') this.watch(mode, interval);
    else this.segmentStep(mode, interval);
    return this.active;
  }

  private measuring(): Mode {
    this.measurements += 1;
    const schedule: number[] = [];
    for (let round = 0; round < this.settings.rounds; round += 1) schedule.push(...(round % 2 === 0 ? this.candidates : [...this.candidates].reverse()));
    this.active = schedule[0] ?? 1;
    // +1: the first interval after a switch carries the switch itself and is dropped.
    return { kind: 'measure', schedule, step: 0, left: this.settings.segment + 1, intervals: new Map() };
  }

  private segmentStep(mode: Extract<Mode, { kind: 'measure' | 'explore' }>, interval: number): void {
    const segment = mode.kind === 'explore' ? mode.segment : this.settings.segment;
    if (mode.left <= segment) mode.intervals.set(this.active, [...(mode.intervals.get(this.active) ?? []), interval]);
    mode.left -= 1;
    if (this.hopeless(mode)) {
      // Far behind already (on a loaded machine 2 threads can be 10x slower): stop spending tokens on it.
      const dropped = this.active;
      mode.schedule = [...mode.schedule.slice(0, mode.step + 1), ...mode.schedule.slice(mode.step + 1).filter((n) => n !== dropped)];
      mode.left = 0;
    }
    if (mode.left > 0) return;
    mode.step += 1;
    const next = mode.schedule[mode.step];
    if (next !== undefined) {
      this.active = next;
      mode.left = segment + 1;
      return;
    }
    if (mode.kind === 'measure') this.decide(mode.intervals);
    else this.afterExplore(mode);
  }

  /** The current candidate is at least 3x slower than the fastest other one seen in this measurement. */
  private hopeless(mode: Extract<Mode, { kind: 'measure' | 'explore' }>): boolean {
    const own = mode.intervals.get(this.active) ?? [];
    // A decision needs two intervals; a look needs one (it changes nothing by itself).
    if (own.length < (mode.kind === 'explore' ? 1 : 2)) return false;
    const others = [...mode.intervals.entries()].filter(([threads, list]) => threads !== this.active && list.length >= 2).map(([, list]) => median(list));
    if (mode.kind === 'explore') others.push(1000 / mode.baseline);
    return others.length > 0 && median(own) > 3 * Math.min(...others);
  }

  private rates(intervals: Map<number, number[]>): Record<string, number> {
    const rates: Record<string, number> = {};
    for (const [threads, list] of intervals) rates[threads] = 1000 / median(list);
    return rates;
  }

  private decide(intervals: Map<number, number[]>): void {
    const rates = this.rates(intervals);
    // Fastest wins; a count with fewer threads keeps its place unless beaten by the margin.
    let best = this.candidates[0] ?? 1;
    for (const threads of this.candidates) if ((rates[threads] ?? 0) > (rates[best] ?? 0) * (1 + this.settings.margin)) best = threads;
    this.choice = { threads: best, rates };
    this.changed = true;
    this.active = best;
    this.mode = { kind: 'run', window: [], sinceExplore: 0 };
  }

  private watch(mode: Extract<Mode, { kind: 'run' }>, interval: number): void {
    mode.window.push(interval);
    mode.sinceExplore += 1;
    if (mode.window.length < this.settings.window) return;
    const rate = 1000 / median(mode.window);
    const promised = this.choice?.rates[this.active];
    // Slow with more than the fewest threads: another process took a core, and fewer threads may win
    // (barrier waits on a preempted core). Slow on the fewest: the load slows every count, more
    // threads would not help, and the periodic look still checks that.
    const fewest = Math.min(...this.candidates);
    if (promised !== undefined && this.active > fewest && rate < promised * this.settings.slowShare) {
      this.mode = this.measuring();
      return;
    }
    // Looks go only to more threads (a core came back): fewer threads win only when a core got busy,
    // and that shows as a slow window above. At the most threads a look would cost tokens on a count
    // that cannot win (measured: ~5% of a 128-token run in the app, each time a look fell in it).
    const others = this.candidates.filter((n) => n > this.active);
    const early = this.lookEarly;
    if (others.length > 0 && (early || (this.settings.exploreEvery > 0 && mode.sinceExplore >= this.settings.exploreEvery * this.exploreScale))) {
      this.lookEarly = false;
      const segment = early ? this.settings.earlyLook : this.settings.segment;
      const back = this.active;
      this.active = others[0] ?? back;
      this.mode = { kind: 'explore', schedule: [...others, back], step: 0, left: segment + 1, segment, intervals: new Map(), baseline: rate };
      return;
    }
    mode.window = [];
  }

  private afterExplore(mode: Extract<Mode, { kind: 'explore' }>): void {
    const rates = this.rates(mode.intervals);
    const current = Math.max(mode.baseline, rates[this.active] ?? 0);
    const better = Object.entries(rates).some(([threads, rate]) => Number(threads) !== this.active && rate > current * (1 + 2 * this.settings.margin));
    // A short look is noisy: a candidate that seems faster earns a full measurement, not a switch.
    this.exploreScale = better ? 1 : Math.min(this.settings.exploreBackoff, this.exploreScale * 2);
    this.mode = better ? this.measuring() : { kind: 'run', window: [], sinceExplore: 0 };
  }
}

export function machineKey(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'cpu'}x${cpus.length}`;
}

/**
 * A model file's cache key: its size and a hash of its first MiB (the GGUF header and metadata), plus
 * the machine. No path: the app's imported copy and the runner's file share one entry, and the cache
 * moves with a portable folder.
 */
export async function modelKey(file: string): Promise<string> {
  const { size } = await stat(file);
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(Math.min(size, 2 ** 20));
    await handle.read(head, 0, head.length, 0);
    return `${createHash('sha256').update(head).digest('hex').slice(0, 24)}:${size}|${machineKey()}`;
  } finally {
    await handle.close();
  }
}

/** A tiny JSON cache of thread choices; without a file it lives in memory only. */
export class ThreadCache {
  private entries: Record<string, ThreadChoice> | undefined;

  constructor(private readonly file?: string) {}

  async get(key: string): Promise<ThreadChoice | undefined> {
    return (await this.load())[portableKey(key)];
  }

  async set(key: string, choice: ThreadChoice): Promise<void> {
    const entries = await this.load();
    entries[portableKey(key)] = choice;
    if (this.file === undefined) return;
    try {
      await mkdir(path.dirname(this.file), { recursive: true });
      // Through a temporary file: the app and the runner may write at the same time.
      const temporary = `${this.file}.${process.pid}.tmp`;
      await writeFile(temporary, JSON.stringify(entries, null, 2));
      await rename(temporary, this.file);
    } catch {
      // A read-only data folder only costs a new measurement next start.
    }
  }

  private async load(): Promise<Record<string, ThreadChoice>> {
    if (this.entries) return this.entries;
    this.entries = {};
    if (this.file === undefined) return this.entries;
    try {
      const parsed = JSON.parse(await readFile(this.file, 'utf8')) as Record<string, unknown>;
      // Entries of an older format (a bare number keyed by path) are dropped.
      for (const [key, value] of Object.entries(parsed)) if (isChoice(value)) this.entries[key] = value;
    } catch {
      // missing or damaged: measure again
    }
    return this.entries;
  }
}

function isChoice(value: unknown): value is ThreadChoice {
  return typeof value === 'object' && value !== null && typeof (value as ThreadChoice).threads === 'number' && typeof (value as ThreadChoice).rates === 'object';
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
