/**
 * Command handlers whose feature loads on the first call: the composition root registers every
 * command at start, but a feature the first requests do not touch (workflows) is imported, and its
 * schemas, store and executor are built, only when one of its commands arrives.
 */
import type { CommandName } from '../protocol/contract.js';
import type { Handlers } from './dispatcher.js';

export function deferredHandlers<K extends CommandName>(names: readonly K[], load: () => Promise<Pick<Handlers, K>>): Pick<Handlers, K> {
  const handlers: Partial<Record<K, (params: unknown) => Promise<unknown>>> = {};
  for (const name of names) {
    handlers[name] = async (params) => {
      const loaded = (await load())[name] as (params: unknown) => unknown;
      return loaded(params);
    };
  }
  return handlers as unknown as Pick<Handlers, K>;
}
