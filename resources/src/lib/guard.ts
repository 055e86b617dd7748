import type { Ref } from 'vue';
import { caughtText } from './words';

/**
 * Runs a store's action: clears `error` first, and on failure puts the reason there in plain words
 * instead of throwing, so a view only shows `error` and never handles exceptions itself.
 */
export async function guarded<T>(error: Ref<string | undefined>, action: () => Promise<T>): Promise<T | undefined> {
  error.value = undefined;
  try {
    return await action();
  } catch (e) {
    error.value = caughtText(e);
    return undefined;
  }
}
