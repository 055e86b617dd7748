/** The Response block: what the workflow returns, its `data` with references filled in. */
import type { ResponseBlock } from '../model.js';
import { resolveValue } from '../references.js';
import { resolveOrFail } from './resolve.js';
import type { BlockHandler } from './types.js';

export const responseHandler: BlockHandler<ResponseBlock> = {
  resolve: (block, { scope }) => ({ data: resolveOrFail(() => resolveValue(block.inputs.data, scope)) }),
  run: (_block, input) => ({ output: { content: input.data ?? null } }),
};
