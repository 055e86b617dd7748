/** Base of the layers' typed errors (storage, vault, models, channel): a stable code the UI can act on. */
export class CodedError<C extends string> extends Error {
  constructor(
    readonly code: C,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
