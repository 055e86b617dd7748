/** Conversation commands (issue 14). Placeholder until the conversation service lands on this branch. */
import type { Handlers } from '../dispatcher.js';
import { CONVERSATION_COMMANDS } from '../../protocol/contract.js';
import { ChannelError } from '../errors.js';

type ConversationHandlers = Pick<Handlers, keyof typeof CONVERSATION_COMMANDS>;

export function conversationHandlers(): ConversationHandlers {
  const notYet = (): never => {
    throw new ChannelError('internal', 'Conversations are not available in this build yet.');
  };
  const names = Object.keys(CONVERSATION_COMMANDS) as (keyof ConversationHandlers)[];
  return Object.fromEntries(names.map((name) => [name, notYet])) as unknown as ConversationHandlers;
}
