/** The executions log: one row per AI block run, written as each run ends. */
import type { CommandResult } from '../../protocol/contract.js';
import type { Handlers } from '../dispatcher.js';
import { ChannelError } from '../errors.js';

export type ExecutionSummaryData = CommandResult<'list_executions'>[number];
export type ExecutionDetailData = CommandResult<'get_execution'>;

export interface HistoryService {
  list(limit: number, offset: number, conversationId?: string): ExecutionSummaryData[];
  get(id: string): ExecutionDetailData | undefined;
}

export function historyHandlers(history: HistoryService): Pick<Handlers, 'list_executions' | 'get_execution'> {
  return {
    list_executions: ({ limit, offset, conversationId }) => history.list(limit ?? 50, offset ?? 0, conversationId),
    get_execution: ({ id }) => {
      const detail = history.get(id);
      if (detail === undefined) throw new ChannelError('not_found', `No execution "${id}" in the history.`);
      return detail;
    },
  };
}
