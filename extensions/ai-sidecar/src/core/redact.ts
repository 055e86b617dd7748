/**
 * The one redaction function: every error message and log line passes through it before it leaves
 * the sidecar. Patterns catch key shapes we have never seen; `registerSecret` catches the exact keys
 * the vault has decrypted, whatever their shape.
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
];

const knownSecrets = new Set<string>();

/** Remember an exact secret so that it is scrubbed wherever it appears. Short strings are ignored. */
export function registerSecret(secret: string): void {
  if (secret.length >= 8) knownSecrets.add(secret);
}

export function forgetSecret(secret: string): void {
  knownSecrets.delete(secret);
}

export function redact(text: string): string {
  let out = text;
  for (const secret of knownSecrets) out = out.split(secret).join(MASK);
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
