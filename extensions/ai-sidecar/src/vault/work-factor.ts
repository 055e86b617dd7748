/** age's own default is 18 (256 MiB). 17 unlocks in ~0.6 s here and ~1 s on a low-end laptop, holding 128 MiB. */
export const DEFAULT_WORK_FACTOR = 17;
/** Files asking for more are refused before any memory is allocated (as typage does). */
export const MAX_WORK_FACTOR = 20;
