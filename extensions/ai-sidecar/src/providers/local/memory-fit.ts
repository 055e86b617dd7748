/**
 * Decides whether a model fits in the memory that is actually free: weights plus the KV cache for the
 * requested context (before the load when the fit is in doubt, see `fitsByWideMargin`). If it does
 * not, a smaller context is tried (and said so); if nothing fits, the load is refused with the
 * figures in plain words. Never start a load that swaps.
 */
export interface MemoryEstimate {
  /** Bytes for the weights (held in RAM: no GPU, no mmap). */
  readonly modelBytes: number;
  /** Bytes for the KV cache and compute graph at a given context size. */
  contextBytes(contextSize: number): Promise<number>;
}

export type FitDecision =
  | { readonly fits: true; readonly contextSize: number; readonly reduced: boolean; readonly neededBytes: number }
  | { readonly fits: false; readonly reason: string };

/** Smallest context worth offering. */
const MIN_CONTEXT = 512;

export async function fitToMemory(estimate: MemoryEstimate, requestedContext: number, freeBytes: number, headroom = 0.1): Promise<FitDecision> {
  const budget = freeBytes * (1 - headroom);
  for (let context = requestedContext; context >= Math.min(MIN_CONTEXT, requestedContext); context = Math.floor(context / 2)) {
    const needed = estimate.modelBytes + (await estimate.contextBytes(context));
    if (needed <= budget) return { fits: true, contextSize: context, reduced: context !== requestedContext, neededBytes: needed };
    if (context <= MIN_CONTEXT) break;
  }
  const atMinimum = estimate.modelBytes + (await estimate.contextBytes(Math.min(MIN_CONTEXT, requestedContext)));
  return {
    fits: false,
    reason: `This model needs about ${mib(atMinimum)} of memory even with a ${Math.min(MIN_CONTEXT, requestedContext)}-token context, but only ${mib(freeBytes)} is free. Close other programs or pick a smaller (more quantised) model.`,
  };
}

export function mib(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${Math.round(bytes / 1024 ** 2)} MiB`;
}

/**
 * True when a model whose file holds `fileBytes` fits by a wide margin: its weights (in RAM they take
 * about the file's size) half again over, plus 512 MiB for a small context and llama.cpp's buffers,
 * still leave the headroom free. Then the exact check (which reads the file's tensor table) can only
 * shrink the context, so it may run beside the load instead of before it.
 */
export function fitsByWideMargin(fileBytes: number, freeBytes: number, headroom = 0.1): boolean {
  return fileBytes * 1.5 + 512 * 2 ** 20 <= freeBytes * (1 - headroom);
}
