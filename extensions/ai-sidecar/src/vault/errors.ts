/** Typed vault failures; their codes are the contract's, so the UI can act on them. */
export type VaultErrorCode = 'wrong_passphrase' | 'vault_exists' | 'vault_not_initialised' | 'validation' | 'locked' | 'storage' | 'read_only';

export class VaultError extends Error {
  override readonly name = 'VaultError';
  constructor(
    readonly code: VaultErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
