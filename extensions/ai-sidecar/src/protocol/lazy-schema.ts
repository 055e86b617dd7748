/**
 * Schemas built on first use. Constructing zod schemas is what costs at start-up (every one runs
 * zod's constructor chain), and a process needs only the few its first requests touch: the sidecar
 * answers `hello` without the workflow schemas, the window shows its first screen without most of
 * the command results. So the contract declares builders, and each schema is made once, when first
 * read, then kept. Depends on nothing, so the UI bundle carries it as well.
 */

/** `build()` on the first call, the same value on every later one. */
export function lazy<T>(build: () => T): () => T {
  let built = false;
  let value: T;
  return () => {
    if (!built) {
      value = build();
      built = true;
    }
    return value;
  };
}

export type Built<B extends Readonly<Record<string, () => unknown>>> = { readonly [K in keyof B]: ReturnType<B[K]> };

const builtKeys = new WeakMap<object, Set<string>>();

/**
 * A record whose entries are built when first read (`record.key` runs `builders.key()` once). Keys
 * are there from the start (`Object.hasOwn`, `Object.keys` work and build nothing); reading values
 * (`Object.values`, a spread) builds them.
 */
export function lazyRecord<B extends Readonly<Record<string, () => unknown>>>(builders: B): Built<B> {
  const record = {};
  const built = new Set<string>();
  builtKeys.set(record, built);
  for (const [key, build] of Object.entries(builders)) {
    const value = lazy(() => {
      built.add(key);
      return build();
    });
    Object.defineProperty(record, key, { enumerable: true, configurable: false, get: value });
  }
  return Object.freeze(record) as Built<B>;
}

/** Which entries of a `lazyRecord` have been built so far (for tests and start-up checks). */
export function builtEntries(record: object): readonly string[] {
  return [...(builtKeys.get(record) ?? [])];
}
