/** The executor's one way to a model: the app's AIManager (retries, watchdog, executions log). */
import type { AIManager } from '../core/manager.js';
import type { AICall } from './blocks/types.js';

export function managerAICall(manager: AIManager): AICall {
  return (provider, request, { signal, onText, onRetry }) =>
    manager.execute(provider, request, {
      signal,
      ...(onRetry ? { onRetry } : {}),
      onPart: (part) => {
        if (part.type === 'text-delta') onText(part.text);
      },
    }).result;
}
