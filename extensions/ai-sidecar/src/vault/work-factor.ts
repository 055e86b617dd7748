/**
 * age's own default, 18 (256 MiB). Measured here (2 shared cores): unlock at 18 takes PLACEHOLDER; the
 * issue's limit was 1.5 s. Files written at 17 by earlier versions still open (the factor is in the file).
 */
export const DEFAULT_WORK_FACTOR = 18;
/** Files asking for more are refused before any memory is allocated (as typage does). */
export const MAX_WORK_FACTOR = 20;
