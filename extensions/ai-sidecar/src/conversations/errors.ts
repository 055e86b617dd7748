/** Typed failures of conversation commands, with words the UI shows as they are. */
import { CodedError } from '../core/coded-error.js';
import type { ErrorCode } from '../protocol/contract.js';

export class ConversationError extends CodedError<Extract<ErrorCode, 'not_found' | 'validation' | 'busy'>> {
  override readonly name = 'ConversationError';
}
