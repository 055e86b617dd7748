/**
 * The one place where codes from the sidecar become words for people. Views never show a code:
 * they ask here. Unknown codes fall back to a plain sentence, never to the code itself.
 */
import type { ErrorCode } from '@contract';

const PROVIDER_STATE: Record<string, string> = {
  ready: 'Ready',
  needs_key: 'Needs an API key',
  locked: 'The vault is locked',
  not_running: 'Not running',
  error: 'Unavailable',
};
export const providerState = (state: string | undefined): string => (state === undefined ? 'Checking…' : PROVIDER_STATE[state] ?? 'Unavailable');

const FINISH: Record<string, string> = {
  stop: 'Finished',
  length: 'Stopped at the length limit (raise “Max tokens” for longer answers)',
  cancelled: 'Stopped by you',
  error: 'Failed',
  incomplete: 'The answer ended early',
};
export const finishReason = (reason: string | undefined): string => (reason === undefined ? '' : FINISH[reason] ?? 'Ended');

const RUN_STATUS: Record<string, string> = {
  completed: 'Finished',
  cancelled: 'Stopped',
  failed: 'Failed',
  incomplete: 'Ended early',
  running: 'Running',
};
export const runStatus = (status: string): string => RUN_STATUS[status] ?? 'Unknown';

const VAULT_STATE: Record<string, string> = {
  uninitialised: 'No vault yet',
  locked: 'Locked',
  unlocked: 'Unlocked',
};
export const vaultState = (state: string | undefined): string => (state === undefined ? 'Checking…' : VAULT_STATE[state] ?? 'Unknown');

const ERROR_TITLE: Partial<Record<ErrorCode, string>> = {
  auth: 'The provider refused the API key.',
  rate_limited: 'The provider is limiting requests; try again shortly.',
  quota: 'The account has run out of credit or quota.',
  overloaded: 'The provider is overloaded; try again shortly.',
  context_length: 'The conversation is too long for this model.',
  invalid_request: 'The provider refused the request.',
  model_not_found: 'That model was not found.',
  network: 'Could not reach the provider.',
  timeout: 'The request took too long.',
  incomplete_stream: 'The answer was cut off.',
  provider_unavailable: 'This provider is not available.',
  locked: 'The vault is locked. Unlock it to use your keys.',
  busy: 'The local model is busy with another answer.',
  insufficient_memory: 'Not enough memory for this model.',
  disconnected: 'The app lost its connection to its background process. Restart the app.',
  wrong_passphrase: 'That passphrase is not right.',
  vault_exists: 'A vault already exists.',
  vault_not_initialised: 'There is no vault yet. Create one first.',
  read_only: 'The app is in read-only mode; changes cannot be saved.',
  storage: 'Could not save to the database.',
  not_found: 'That item no longer exists.',
  validation: 'Some of the input is not valid.',
};

/**
 * A sentence for an error: the sidecar's own message when it has one (they are written for people),
 * headed by what the code means.
 */
export function errorText(error: { code: string; message?: string } | undefined): string {
  if (error === undefined) return '';
  const title = ERROR_TITLE[error.code as ErrorCode];
  const detail = error.message?.trim();
  if (title === undefined) return detail || 'Something went wrong.';
  return detail && detail !== title ? `${title} ${detail}` : title;
}

/** A caught value (ClientError, Error, anything) as words. */
export function caughtText(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'data' in e) return errorText((e as { data: { code: string; message: string } }).data);
  return e instanceof Error ? e.message : String(e);
}

/** Why the Send button is disabled, or undefined when it is not. */
export function sendBlocked(input: { connected: boolean; stopped?: boolean; provider: string; model: string; state: string | undefined; text: string; busy: boolean }): string | undefined {
  // A stopped engine never reconnects by itself: say so instead of "waiting".
  if (input.stopped) return 'The engine stopped: restart the app to send again.';
  if (!input.connected) return 'Waiting for the app to connect…';
  if (input.busy) return 'An answer is still coming; stop it or wait.';
  if (input.provider === '') return 'Choose a provider for this conversation.';
  if (input.state === 'needs_key') return 'This provider needs an API key: add one in Settings › Providers.';
  if (input.state === 'locked') return 'Unlock the vault in Settings › Vault to use this provider.';
  if (input.state === 'not_running') return 'This provider is not running.';
  if (input.model.trim() === '') return 'Choose a model for this conversation.';
  if (input.text.trim() === '') return 'Type a message to send.';
  return undefined;
}

export const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 1 : 0)} MiB`;

/** A retry the engine is about to make, in words: "The server is busy (HTTP 429). Retrying in 2 s (attempt 2)…". */
export function retryText(retry: { message: string; attempt: number }, secondsLeft: number): string {
  const when = secondsLeft > 0 ? `in ${secondsLeft} s` : 'now';
  return `${retry.message}. Retrying ${when} (attempt ${retry.attempt})…`;
}
