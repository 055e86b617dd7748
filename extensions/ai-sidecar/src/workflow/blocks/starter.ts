/** The Start block: its output is the text the workflow was run with (`<start.input>`). */
import type { StarterBlock } from '../model.js';
import { START_ROOT } from '../references.js';
import type { BlockHandler } from './types.js';

export const starterHandler: BlockHandler<StarterBlock> = {
  resolve: (_block, { scope }) => ({ input: scope(START_ROOT)?.input ?? '' }),
  run: (_block, input) => ({ output: { input: input.input ?? '' } }),
};
