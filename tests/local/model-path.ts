import path from 'node:path';

/** The shared models folder; SIM_SHARED_MODELS names it for checkouts that do not sit beside it (worktrees). */
export const SHARED_MODELS = process.env.SIM_SHARED_MODELS ?? path.resolve(__dirname, '../../../shared/models');
export const MODEL = path.join(SHARED_MODELS, 'stories260K.gguf');
