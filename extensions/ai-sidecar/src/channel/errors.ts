/** Turns anything a handler throws into the contract's plain error data, redacted. */
import { CodedError } from '../core/coded-error.js';
import { AIError } from '../core/errors.js';
import { redact } from '../core/redact.js';
import type { ErrorCode, ErrorData } from '../protocol/contract.js';

/** An error with a code from the contract, thrown by handlers for protocol-level failures. */
export class ChannelError extends CodedError<ErrorCode> {
  override readonly name = 'ChannelError';
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, redact(message), options);
  }
}


const PASS_THROUGH: readonly string[] = ['storage', 'read_only', 'validation', 'wrong_passphrase', 'vault_exists', 'vault_not_initialised', 'locked', 'not_found', 'busy'];
/** Download failures the UI shows as they are (checksum, disk full, HTTP, size). */
const AS_VALIDATION: readonly string[] = ['checksum', 'disk_full', 'http', 'size', 'cancelled'];

export function toErrorData(error: unknown): ErrorData {
  if (error instanceof AIError) return error.toData();
  if (error instanceof ChannelError) return { code: error.code, message: error.message, retryable: false };
  if (isCoded(error) && PASS_THROUGH.includes(error.code)) {
    return { code: error.code as ErrorCode, message: redact(error.message), retryable: false };
  }
  if (isCoded(error) && AS_VALIDATION.includes(error.code)) return { code: 'validation', message: redact(error.message), retryable: false };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'internal', message: redact(`Unexpected sidecar error: ${message}`), retryable: false };
}

function isCoded(error: unknown): error is CodedError<string> {
  return error instanceof CodedError;
}
