import { describe, expect, it } from 'vitest';
import { PROGRESS_INTERVAL_MS, throttleProgress } from '../../extensions/ai-sidecar/src/channel/progress-throttle.js';

/** Feeds `reports` [ms, model, progress] through a throttle on a fake clock; returns what went out. */
function run(reports: readonly (readonly [number, string, number])[]): [string, number][] {
  let clock = 0;
  const sent: [string, number][] = [];
  const report = throttleProgress((model, progress) => sent.push([model, progress]), PROGRESS_INTERVAL_MS, () => clock);
  for (const [at, model, progress] of reports) {
    clock = at;
    report(model, progress);
  }
  return sent;
}

/** What llama.cpp reports for a 1B model here: 198 tensors 2 ms apart, then 1 three times. */
const fastLoad = (model: string, start = 0): [number, string, number][] => [
  ...Array.from({ length: 198 }, (_, i) => [start + i * 2, model, (i + 1) / 200] as [number, string, number]),
  [start + 400, model, 1],
  [start + 400, model, 1],
  [start + 400, model, 1],
];

describe('model load progress for the UI', () => {
  it('sends a fast load as a few updates: the first at once, then one per interval, and the end exactly once', () => {
    const sent = run(fastLoad('m.gguf'));
    expect(sent.length).toBeLessThanOrEqual(400 / PROGRESS_INTERVAL_MS + 2);
    expect(sent[0]).toEqual(['m.gguf', 1 / 200]);
    expect(sent.filter(([, p]) => p === 1)).toHaveLength(1);
    expect(sent.at(-1)).toEqual(['m.gguf', 1]);
    expect(sent.map(([, p]) => p)).toEqual([...sent.map(([, p]) => p)].sort((a, b) => a - b));
  });

  it('sends every update of a slow load', () => {
    const slow = [0.1, 0.2, 0.3, 0.4, 1].map((p, i) => [i * (PROGRESS_INTERVAL_MS + 50), 'big.gguf', p] as const);
    expect(run(slow).map(([, p]) => p)).toEqual([0.1, 0.2, 0.3, 0.4, 1]);
  });

  it('starts afresh for the next load, of the same model or another, however soon', () => {
    const sent = run([...fastLoad('a.gguf'), ...fastLoad('a.gguf', 401), ...fastLoad('b.gguf', 802).slice(0, 1)]);
    const starts = sent.filter(([, p]) => p === 1 / 200);
    expect(starts).toEqual([['a.gguf', 1 / 200], ['a.gguf', 1 / 200], ['b.gguf', 1 / 200]]);
    expect(sent.filter(([m, p]) => m === 'a.gguf' && p === 1)).toHaveLength(2);
  });
});
