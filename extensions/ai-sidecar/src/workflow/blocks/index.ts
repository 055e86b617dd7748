/** The handler for each block type, behind the one BlockHandler interface. */
import type { WorkflowBlock } from '../model.js';
import { agentHandler } from './agent.js';
import { conditionHandler } from './condition.js';
import { responseHandler } from './response.js';
import { routerHandler } from './router.js';
import { starterHandler } from './starter.js';
import type { BlockHandler } from './types.js';

const HANDLERS: { [T in WorkflowBlock['type']]: BlockHandler<Extract<WorkflowBlock, { type: T }>> } = {
  starter: starterHandler,
  agent: agentHandler,
  condition: conditionHandler,
  router: routerHandler,
  response: responseHandler,
};

export function handlerFor(block: WorkflowBlock): BlockHandler {
  return HANDLERS[block.type] as BlockHandler;
}
