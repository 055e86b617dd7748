/** What every HTTP adapter is configured with, and the one default for it. */

/** Time allowed to connect and receive response headers: far below the SDKs' own 10 minutes. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;

export interface HttpProviderConfig {
  /** Time allowed to connect and receive response headers. Default `DEFAULT_CONNECT_TIMEOUT_MS`. */
  readonly connectTimeoutMs?: number;
  /** Longest silence between stream parts before a run fails with `timeout`. Default: the manager's 60 s. */
  readonly idleTimeoutMs?: number;
  /** Injected for tests and benchmarks. Default global fetch. */
  readonly fetch?: typeof fetch;
}

/**
 * The SDK client for the current key, rebuilt only when the key changes: building one per request
 * costs time to first token.
 */
export class ClientCache<C> {
  private cached: { key: string | undefined; client: C } | undefined;

  get(key: string | undefined, make: () => C): C {
    if (this.cached === undefined || this.cached.key !== key) this.cached = { key, client: make() };
    return this.cached.client;
  }
}
