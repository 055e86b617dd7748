/**
 * The one redaction function: every error message and log line passes through it before it leaves
 * the sidecar. Patterns catch key shapes we have never seen; `registerSecret` catches the exact keys
 * the vault has decrypted, whatever their shape, also URL-encoded, base64-encoded (at any byte
 * alignment, standard or URL-safe) and with their letters' case changed.
 *
 * A key stays registered for as long as anything may still hold it: `forgetSecret` during a request
 * (lock, delete, replace) only retires the key, and it is dropped once every request that was
 * running at that moment has released its `retainRedactions()` hold.
 */

const MASK = '[REDACTED]';

const PATTERNS: readonly RegExp[] = [
  // age identities.
  /AGE-SECRET-KEY-1[0-9A-Z]+/gi,
  // Authorization headers and bearer tokens.
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{4,}/gi,
  // Header or query forms: x-api-key: ..., api_key=..., "apiKey":"...".
  /\b(x-api-key|api[_-]?key|apikey|access[_-]?token|authorization)(["']?\s*[:=]\s*["']?)[^\s"',&}]+/gi,
  // Provider keys, including OpenAI's echoed "sk-proj-ab****wxyz" (prefix, stars, last four).
  /\b(sk|pk|rk)-[A-Za-z0-9_*.-]{6,}/g,
  /\b(gsk|hf|r8|xai|pplx|nvapi|csk)[_-][A-Za-z0-9_*-]{8,}/g,
  /\bAIza[0-9A-Za-z_-]{20,}/g,
  // Long opaque tokens (hex or base64url of 32+ chars) such as Together or DeepSeek keys.
  /\b[A-Fa-f0-9]{32,}\b/g,
  // Keys of shapes not listed above: 24+ characters mixing upper case, lower case and digits (ids and
  // words rarely do all three at that length).
  /(?<![A-Za-z0-9_-])(?=[A-Za-z0-9_-]*[A-Z])(?=[A-Za-z0-9_-]*[a-z])(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{24,}(?![A-Za-z0-9_-])/g,
];

interface Registered {
  /** The generation at which the key was retired, while requests that began before still run. */
  retiredAt: number | undefined;
}

const knownSecrets = new Map<string, Registered>();
/** Start generations of the requests running now (a multiset as a count per generation). */
const holds = new Map<number, number>();
let generation = 0;
let matcher: RegExp | undefined;

/** Remember an exact secret so that it is scrubbed wherever it appears. Short strings are ignored. */
export function registerSecret(secret: string): void {
  if (secret.length < 8) return;
  const known = knownSecrets.get(secret);
  if (known !== undefined) known.retiredAt = undefined;
  else knownSecrets.set(secret, { retiredAt: undefined });
  matcher = undefined;
}

/** The vault no longer holds the secret; it goes once no request that might hold it is running. */
export function forgetSecret(secret: string): void {
  const known = knownSecrets.get(secret);
  if (known === undefined) return;
  if (holds.size === 0) {
    knownSecrets.delete(secret);
    matcher = undefined;
    return;
  }
  generation += 1;
  known.retiredAt = generation;
}

/**
 * Taken by every request for as long as it may produce text (its errors, its History row); keys
 * retired meanwhile stay registered until it is released. The returned function releases it once.
 */
export function retainRedactions(): () => void {
  const start = generation;
  holds.set(start, (holds.get(start) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (holds.get(start) ?? 1) - 1;
    if (left === 0) holds.delete(start);
    else holds.set(start, left);
    dropRetired();
  };
}

/** Keys retired at generation g were visible to holds that started before g; drop those no one needs. */
function dropRetired(): void {
  const oldest = holds.size === 0 ? Infinity : Math.min(...holds.keys());
  for (const [secret, known] of knownSecrets) {
    if (known.retiredAt !== undefined && known.retiredAt <= oldest) {
      knownSecrets.delete(secret);
      matcher = undefined;
    }
  }
}

/** For tests: how many secrets the redactor holds now. */
export function registeredSecretCount(): number {
  return knownSecrets.size;
}

export function redact(text: string): string {
  let out = text;
  if (knownSecrets.size > 0) out = out.replace((matcher ??= buildMatcher()), MASK);
  for (const pattern of PATTERNS) {
    out = out.replace(pattern, (match: string, ...groups: unknown[]) => {
      const [first, second] = groups;
      // Keep the label of "label: value" and "Bearer value" forms so the message stays readable.
      if (typeof first === 'string' && typeof second === 'string' && /[:=]/.test(second)) {
        return `${first}${second}${MASK}`;
      }
      if (typeof first === 'string' && /^(bearer|basic)$/i.test(first)) return `${first} ${MASK}`;
      void match;
      return MASK;
    });
  }
  return out;
}

/** One case-insensitive alternation of every form of every registered secret, longest first. */
function buildMatcher(): RegExp {
  const forms = new Set<string>();
  for (const secret of knownSecrets.keys()) for (const form of formsOf(secret)) forms.add(form);
  const sorted = [...forms].sort((a, b) => b.length - a.length).map(escapeRegExp);
  return new RegExp(sorted.join('|'), 'gi');
}

function formsOf(secret: string): string[] {
  const forms = [secret, encodeURIComponent(secret), encodeURIComponent(encodeURIComponent(secret))];
  const bytes = new TextEncoder().encode(secret);
  // Inside a longer base64 text (a Basic header's "user:key", a JSON blob) the key can start at any
  // of three byte offsets; the characters shared with its neighbours are cut off each end.
  for (let offset = 0; offset < 3; offset += 1) {
    const padded = new Uint8Array(offset + bytes.length);
    padded.set(bytes, offset);
    const encoded = base64(padded).replace(/=+$/, '');
    const head = offset === 0 ? 0 : offset + 1;
    const tail = padded.length % 3 === 0 ? 0 : 1;
    const core = encoded.slice(head, encoded.length - tail);
    if (core.length >= 8) {
      forms.push(core, core.replaceAll('+', '-').replaceAll('/', '_'));
    }
  }
  return forms.filter((form) => form.length >= 8);
}

/** Plain base64 that runs in the sidecar and the page alike (this module is shared through the contract). */
function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
