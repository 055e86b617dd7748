/**
 * age's own default, 18 (N = 2^18, 256 MiB). Measured here (`npx tsx bench/vault.bench.ts`): an unlock
 * costs 735 ms of CPU time (wall 933 ms with the machine's 2 cores under a load average of 10), within
 * the 1.5 s allowed for it. Vaults written at 17 by earlier versions still open: the factor is in the file.
 */
export const DEFAULT_WORK_FACTOR = 18;
/** Files asking for more are refused before any memory is allocated (as typage does). */
export const MAX_WORK_FACTOR = 20;
