/**
 * One generation at a time on the loaded model: later requests wait their turn (in order), and a
 * request aborted while waiting leaves the queue at once.
 */
export class RunQueue {
  private tail: Promise<void> = Promise.resolve();

  /** Resolves with a release function once it is this caller's turn; rejects if aborted first. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    let release!: () => void;
    const turn = new Promise<void>((resolve) => (release = resolve));
    const previous = this.tail;
    this.tail = previous.then(() => turn);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        // Give up our place without blocking those behind us.
        void previous.then(release);
        reject(signal?.reason);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      void previous.then(() => {
        if (signal?.aborted) return;
        signal?.removeEventListener('abort', onAbort);
        resolve(release);
      });
    });
  }
}
