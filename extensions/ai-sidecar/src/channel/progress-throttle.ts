/**
 * Load progress for the UI at a rate a progress bar can use. llama.cpp reports after every tensor:
 * about 200 calls in 0.4 s for a 1B model, each an event through the runtime to the page, on the
 * cores the load itself needs. A new load (another model, or progress going back) always goes out at
 * once, and so does the end; a repeated value does not.
 */
export type ProgressReport = (model: string, progress: number) => void;

/** Ten updates a second: smooth for a bar; a 0.4 s load sends 5 events instead of 201. */
export const PROGRESS_INTERVAL_MS = 100;

export function throttleProgress(report: ProgressReport, intervalMs = PROGRESS_INTERVAL_MS, now: () => number = () => performance.now()): ProgressReport {
  let last: { model: string; progress: number; at: number } | undefined;
  return (model, progress) => {
    const at = now();
    const previous = last;
    const sameLoad = previous !== undefined && model === previous.model && progress >= previous.progress;
    if (sameLoad) {
      if (progress === previous.progress) return; // llama.cpp says 1 three times
      if (progress < 1 && at - previous.at < intervalMs) return;
    }
    last = { model, progress, at };
    report(model, progress);
  };
}
