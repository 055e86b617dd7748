/** Typed errors of the workflow layer; `problems` lists each one for the editor to mark. */
import { CodedError } from '../core/coded-error.js';
import type { WorkflowProblem } from './model.js';

export type WorkflowErrorCode = 'validation' | 'not_found' | 'storage';

export class WorkflowError extends CodedError<WorkflowErrorCode> {
  override readonly name = 'WorkflowError';
  constructor(
    code: WorkflowErrorCode,
    message: string,
    readonly problems: readonly WorkflowProblem[] = [],
  ) {
    super(code, message);
  }
}
