import { describe, expect, it } from 'vitest';
import { fitToMemory } from '../../extensions/ai-sidecar/src/providers/local/memory-fit.js';
import { toChatHistory, toCompletionPrompt } from '../../extensions/ai-sidecar/src/providers/local/prompt.js';
import { RunQueue } from '../../extensions/ai-sidecar/src/providers/local/run-queue.js';
import { ThreadTuner, threadCandidates, type ThreadChoice } from '../../extensions/ai-sidecar/src/providers/local/thread-tuning.js';

describe('thread tuning', () => {
  it('tries 1, 2, half and all cores', () => {
    expect(threadCandidates(1)).toEqual([1]);
    expect(threadCandidates(2)).toEqual([1, 2]);
    expect(threadCandidates(8)).toEqual([1, 2, 4, 8]);
  });

});

/**
 * A simulated machine: the time each decode takes at each thread count, which the test can change
 * mid-run (another process takes a core), with multiplicative noise from a seeded generator.
 */
function machine(seed: number, noise = 0.15) {
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  let msPerToken: Record<number, number> = {};
  let clock = 0;
  return {
    set(costs: Record<number, number>) {
      msPerToken = costs;
    },
    /** Generates `tokens` tokens with `tuner` choosing; returns the time they took. */
    run(tuner: ThreadTuner, tokens: number): number {
      const start = clock;
      tuner.startRun();
      let threads = tuner.threads;
      for (let i = 0; i < tokens; i += 1) {
        clock += (msPerToken[threads] ?? 1000) * (1 + noise * (random() * 2 - 1));
        threads = tuner.onToken(clock);
      }
      return clock - start;
    },
  };
}

const IDLE_1B = { 1: 80, 2: 48 }; // ms per token: 2 threads win while idle
const BUSY_1B = { 1: 34, 2: 81 }; // another process keeps a core busy: 1 thread wins (issue 13)

/** A tuner over `candidates` (default 1 and 2 threads) on a simulated machine decoding at `costs` ms per token. */
function tunerOn(costs: Record<number, number>, o: { seed: number; noise?: number; cached?: ThreadChoice; candidates?: number[] }) {
  const tuner = new ThreadTuner(o.candidates ?? [1, 2], o.cached);
  const sim = machine(o.seed, o.noise);
  sim.set(costs);
  return { tuner, sim };
}

/** A cached choice of `threads`, with the rates measured on a machine decoding at `costs` ms per token. */
function chosen(costs: Record<number, number>, threads: number): ThreadChoice {
  return { threads, rates: Object.fromEntries(Object.entries(costs).map(([t, ms]) => [t, 1000 / ms])) };
}

describe('thread tuner', () => {
  it('measures on the first real run, alternating the candidates, and keeps the fastest', () => {
    for (const [costs, expected] of [[IDLE_1B, 2], [BUSY_1B, 1], [{ 1: 1, 2: 15 }, 1]] as const) {
      const { tuner, sim } = tunerOn(costs, { seed: 7 });
      sim.run(tuner, 60);
      expect(tuner.settled?.threads).toBe(expected);
      expect(tuner.takeChange()?.threads).toBe(expected);
      expect(tuner.takeChange()).toBeUndefined();
    }
  });

  it('chooses right under 30% noise in every one of 40 seeded runs (a 12-token probe missed 2 in 8)', () => {
    for (let seed = 1; seed <= 40; seed += 1) {
      const { tuner, sim } = tunerOn({ 1: 80, 2: 62 }, { seed, noise: 0.3 }); // 2 threads only 29% faster
      sim.run(tuner, 60);
      expect(tuner.settled?.threads, `seed ${seed}`).toBe(2);
    }
  });

  it('uses a cached choice at once, and costs under 3% against the best fixed count while conditions hold', () => {
    const { tuner, sim } = tunerOn(IDLE_1B, { seed: 3, cached: chosen(IDLE_1B, 2) });
    const took = sim.run(tuner, 2000);
    expect(tuner.measurements).toBe(0);
    expect(tuner.threads).toBe(2);
    expect((2000 * 48) / took).toBeGreaterThan(0.97);
  });

  it('re-measures within a run when it decodes well below what the measurement promised (a core got busy)', () => {
    const { tuner, sim } = tunerOn(BUSY_1B, { seed: 5, cached: chosen(IDLE_1B, 2) });
    sim.run(tuner, 100);
    expect(tuner.measurements).toBe(1);
    expect(tuner.threads).toBe(1);
    expect(tuner.takeChange()?.threads).toBe(1);
    // Over a 1,000-token turn the detour costs little against 1 thread throughout.
    const took = sim.run(tuner, 1000);
    expect((1000 * 34) / took).toBeGreaterThan(0.95);
  });

  it('notices a core coming back by a short look at the other count, and returns to it', () => {
    const { tuner, sim } = tunerOn(IDLE_1B, { seed: 9, cached: chosen(BUSY_1B, 1) });
    sim.run(tuner, 400);
    expect(tuner.threads).toBe(2);
    expect(tuner.measurements).toBe(1);
  });

  it('takes an early look from a cached count below the most: a runner\'s 128-token run finds the core that came back', () => {
    // Cached while another process held a core; now idle. The periodic look (256 tokens) never comes
    // in a short run, so without the early look every runner start would stay on 1 thread.
    const { tuner, sim } = tunerOn(IDLE_1B, { seed: 11, cached: chosen(BUSY_1B, 1) });
    sim.run(tuner, 128);
    expect(tuner.measurements).toBe(1);
    expect(tuner.threads).toBe(2);
    expect(tuner.takeChange()?.threads).toBe(2);
  });

  it('the early look costs a 128-token run little when the cached count is still right', () => {
    const { tuner, sim } = tunerOn(BUSY_1B, { seed: 12, noise: 0.1, cached: chosen(BUSY_1B, 1) });
    const took = sim.run(tuner, 128);
    expect(tuner.measurements).toBe(0);
    expect(tuner.threads).toBe(1);
    expect((128 * 34) / took).toBeGreaterThan(0.93);
  });

  it('takes no early look from a cached choice of the most threads (a busy core shows as a slow window)', () => {
    const { tuner, sim } = tunerOn(IDLE_1B, { seed: 13, noise: 0, cached: chosen(IDLE_1B, 2) });
    const took = sim.run(tuner, 128);
    expect(took).toBe(128 * 48);
  });

  it('takes no periodic look at fewer threads while on the most: a long run on a right choice costs nothing', () => {
    const { tuner, sim } = tunerOn(IDLE_1B, { seed: 14, noise: 0, cached: chosen(IDLE_1B, 2) });
    expect(sim.run(tuner, 2000)).toBe(2000 * 48);
    expect(tuner.measurements).toBe(0);
  });

  it('has nothing to choose with one candidate', () => {
    const { tuner, sim } = tunerOn({ 1: 10 }, { seed: 1, candidates: [1] });
    sim.run(tuner, 300);
    expect(tuner.threads).toBe(1);
    expect(tuner.measurements).toBe(0);
  });
});

describe('memory fit', () => {
  const estimate = { modelBytes: 600e6, contextBytes: async (ctx: number) => ctx * 100_000 };
  it('keeps the requested context when it fits', async () => {
    expect(await fitToMemory(estimate, 4096, 8e9)).toMatchObject({ fits: true, contextSize: 4096, reduced: false });
  });
  it('halves the context until it fits, and says so', async () => {
    expect(await fitToMemory(estimate, 8192, 1.3e9)).toMatchObject({ fits: true, contextSize: 4096, reduced: true });
  });
  it('refuses with figures when even the smallest context does not fit', async () => {
    const decision = await fitToMemory(estimate, 4096, 500e6);
    expect(decision).toMatchObject({ fits: false });
    expect(!decision.fits && decision.reason).toMatch(/needs about 621 MiB .* only 477 MiB is free/);
  });
});

describe('prompts', () => {
  const messages = [
    { role: 'system' as const, content: 'You tell stories.' },
    { role: 'user' as const, content: 'Once upon a time' },
  ];
  it('joins texts for models with no chat template', () => {
    expect(toCompletionPrompt(messages)).toBe('You tell stories.\n\nOnce upon a time');
  });
  it('builds a chat history ending in an open model turn', () => {
    expect(toChatHistory(messages)).toEqual([
      { type: 'system', text: 'You tell stories.' },
      { type: 'user', text: 'Once upon a time' },
      { type: 'model', response: [] },
    ]);
  });
});

describe('RunQueue', () => {
  it('runs callers in order and lets an aborted waiter leave without blocking the rest', async () => {
    const queue = new RunQueue();
    const order: string[] = [];
    const releaseA = await queue.acquire();
    const controller = new AbortController();
    const b = queue.acquire(controller.signal);
    const c = queue.acquire().then((release) => (order.push('c'), release));
    controller.abort(new Error('gone'));
    await expect(b).rejects.toThrow('gone');
    order.push('a');
    releaseA();
    (await c)();
    expect(order).toEqual(['a', 'c']);
  });
});

describe('thread tuner on a loaded machine', () => {
  it('stops spending tokens on a count that is already far behind', () => {
    const { tuner, sim } = tunerOn({ 1: 200, 2: 2000 }, { seed: 4 }); // 2 threads under heavy contention: 10x slower
    const took = sim.run(tuner, 60);
    expect(tuner.settled?.threads).toBe(1);
    // Without the cut, 21 decodes at 2 s each; with it, 3 (one after each switch, two timed).
    expect(took).toBeLessThan(60 * 200 + 4 * 2000 * 1.2);
  });
});

describe('thread tuner looks at other counts sparingly', () => {
  it('backs off its looks while they find nothing, so a far slower count costs under 3% of a long run', () => {
    const { tuner, sim } = tunerOn({ 1: 60, 2: 420 }, { seed: 6, noise: 0.05, cached: chosen({ 1: 60, 2: 420 }, 1) }); // a loaded machine: 2 threads 7x slower
    const took = sim.run(tuner, 4000);
    expect(tuner.threads).toBe(1);
    expect(tuner.measurements).toBe(0);
    expect((4000 * 60) / took).toBeGreaterThan(0.97);
  });
});

describe('thread tuner under load on one thread', () => {
  it('does not re-measure when one thread slows with the machine: more threads would only be slower', () => {
    const { tuner, sim } = tunerOn({ 1: 90, 2: 500 }, { seed: 8, noise: 0.3, cached: chosen({ 1: 50, 2: 30 }, 1) }); // everything slower: another process and the machine's load
    const took = sim.run(tuner, 1000);
    expect(tuner.measurements).toBe(0);
    expect(tuner.threads).toBe(1);
    expect((1000 * 90) / took).toBeGreaterThan(0.95);
  });
});
