/** Typed vault failures; their codes are the contract's, so the UI can act on them. */
import { CodedError } from '../core/coded-error.js';

export type VaultErrorCode = 'wrong_passphrase' | 'vault_exists' | 'vault_not_initialised' | 'validation' | 'locked' | 'storage' | 'read_only' | 'not_found';

export class VaultError extends CodedError<VaultErrorCode> {
  override readonly name = 'VaultError';
}
