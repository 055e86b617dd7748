/**
 * Checks a pasted key before it is stored: trimmed, no quotes or whitespace inside, a plausible shape
 * for its provider. Errors describe the problem without echoing the key.
 */
import { VaultError } from './errors.js';

interface Shape {
  readonly pattern: RegExp;
  readonly example: string;
}

const SHAPES: Readonly<Record<string, Shape>> = {
  openai: { pattern: /^sk-[A-Za-z0-9_-]{16,}$/, example: 'sk-… or sk-proj-…' },
  anthropic: { pattern: /^sk-ant-[A-Za-z0-9_-]{16,}$/, example: 'sk-ant-…' },
  openrouter: { pattern: /^sk-or-[A-Za-z0-9_-]{16,}$/, example: 'sk-or-…' },
  groq: { pattern: /^gsk_[A-Za-z0-9]{16,}$/, example: 'gsk_…' },
};

const MIN_LENGTH = 8;
const MAX_LENGTH = 512;

/** Returns the cleaned key, or throws a `validation` error that never contains the key. */
export function validateSecret(provider: string, raw: string): string {
  const secret = raw.trim();
  if (secret.length === 0) throw new VaultError('validation', 'The key is empty.');
  if (/["'`]/.test(secret)) throw new VaultError('validation', 'The key contains quote characters: paste the key alone, without quotes.');
  if (/^bearer\b/i.test(secret)) throw new VaultError('validation', 'Paste the key without the "Bearer" prefix.');
  if (/\s/.test(secret)) throw new VaultError('validation', 'The key contains spaces or line breaks: paste it on one line.');
  if (secret.length < MIN_LENGTH || secret.length > MAX_LENGTH) {
    throw new VaultError('validation', `A key is ${MIN_LENGTH} to ${MAX_LENGTH} characters long; this one has ${secret.length}.`);
  }
  const shape = SHAPES[provider];
  if (shape !== undefined && !shape.pattern.test(secret)) {
    throw new VaultError('validation', `This does not look like a ${provider} key (expected ${shape.example}).`);
  }
  return secret;
}

/** What the UI may see of a stored key: its last four characters. */
export function hintFor(secret: string): string {
  return `…${secret.slice(-4)}`;
}
