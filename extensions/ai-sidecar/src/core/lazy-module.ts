/**
 * An SDK imported on first use, so an idle sidecar never pays for it. `current` is the module once
 * it has loaded: error mappers read it because an SDK error class cannot exist before its module does.
 */
export interface LazyModule<T> {
  load(): Promise<T>;
  readonly current: T | undefined;
}

export function lazyModule<T>(importer: () => Promise<T>): LazyModule<T> {
  let pending: Promise<T> | undefined;
  let current: T | undefined;
  return {
    load: () => (pending ??= importer().then((mod) => (current = mod))),
    get current() {
      return current;
    },
  };
}
