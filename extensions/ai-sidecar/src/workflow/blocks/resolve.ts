import { UnresolvedReferenceError } from '../references.js';
import { BlockFailure } from './types.js';

/** A reference that points at nothing at run time fails the block in plain words. */
export function resolveOrFail<T>(resolve: () => T): T {
  try {
    return resolve();
  } catch (error) {
    if (error instanceof UnresolvedReferenceError) throw new BlockFailure('reference', error.message);
    throw error;
  }
}
