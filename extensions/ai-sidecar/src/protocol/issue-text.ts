/**
 * Validation failures in plain sentences ("Temperature must be between 0 and 2"), not schema paths:
 * the sidecar's dispatcher says them, and the UI can say them before sending. Given the schema the
 * value was checked against, a number's range is named whole, whichever bound was crossed.
 */
// The schema classes by name from zod's core: `z.core.…` would bring the whole core (every locale,
// JSON Schema) into the bundle.
import { $ZodArray, $ZodDefault, $ZodExactOptional, $ZodNullable, $ZodNumber, $ZodObject, $ZodOptional, type $ZodIssue, type $ZodType } from 'zod/v4/core';

type Issue = $ZodIssue;
type Schema = $ZodType;

/** Names people read; anything else is its key split into words. */
const LABELS: Readonly<Record<string, string>> = {
  maxTokens: 'Max tokens',
  idleTimeoutSeconds: 'Idle timeout (seconds)',
  topP: 'Top P',
  baseURL: 'Base URL',
  contextSize: 'Context size',
  keepAlive: 'Keep-alive',
  idleUnloadMinutes: 'Idle unload minutes',
  sha256: 'SHA-256 checksum',
  url: 'URL',
  id: 'Id',
};

export function describeIssues(issues: readonly Issue[], schema?: Schema): string {
  const sentences = issues.slice(0, 3).map((issue) => describeIssue(issue, schema));
  return [...new Set(sentences)].join(' ');
}

export function describeIssue(issue: Issue, schema?: Schema): string {
  const field = label(issue.path);
  switch (issue.code) {
    case 'too_small':
    case 'too_big': {
      const range = schema === undefined ? undefined : numberRange(schemaAt(schema, issue.path));
      if (range !== undefined && issue.origin === 'number') return `${field} must be ${range}.`;
      return `${field} ${bound(issue)}.`;
    }
    case 'invalid_type':
      return issue.input === undefined ? `${field} is required.` : `${field} must be ${article(issue.expected)}.`;
    case 'invalid_value':
      return `${field} must be one of: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}.`;
    case 'invalid_format':
      // A schema's own wording ("a provider id such as …") reads best; zod's default does not.
      if (issue.message && !issue.message.startsWith('Invalid')) return `${field} must be ${issue.message}.`;
      return `${field} must be a valid ${issue.format === 'regex' ? 'value' : issue.format === 'url' ? 'URL' : issue.format}.`;
    case 'unrecognized_keys':
      return `${field === 'The request' ? 'The request' : field} has unknown fields: ${issue.keys.join(', ')}.`;
    case 'not_multiple_of':
      return `${field} must be a multiple of ${String(issue.divisor)}.`;
    default:
      return `${field} is not valid${issue.message ? `: ${issue.message}` : ''}.`;
  }
}

/** Where and what, for a log or a file's error: `messages.2.role: Role must be one of: …`. */
export function describeIssueAt(issue: Issue): string {
  return `${issue.path.join('.') || 'message'}: ${describeIssue(issue)}`;
}

function label(path: readonly PropertyKey[]): string {
  const key = [...path].reverse().find((part): part is string => typeof part === 'string');
  if (key === undefined) return 'The request';
  const index = path.at(-1);
  const named = LABELS[key] ?? capitalise(key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ').toLowerCase());
  return typeof index === 'number' ? `${named} item ${index + 1}` : named;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function bound(issue: Extract<Issue, { code: 'too_small' | 'too_big' }>): string {
  const small = issue.code === 'too_small';
  const limit = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
  const inclusive = issue.inclusive !== false;
  switch (issue.origin) {
    case 'string':
      if (small && limit === 1) return 'must not be empty';
      return `must be at ${small ? 'least' : 'most'} ${limit} characters`;
    case 'array':
    case 'set':
      if (small && limit === 1) return 'needs at least one entry';
      return `must have at ${small ? 'least' : 'most'} ${limit} entries`;
    default:
      if (small) return inclusive ? `must be at least ${limit}` : `must be greater than ${limit}`;
      return inclusive ? `must be at most ${limit}` : `must be less than ${limit}`;
  }
}

function article(expected: string): string {
  if (expected === 'array') return 'a list';
  if (expected === 'object') return 'an object';
  if (expected === 'int') return 'a whole number';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

/** "between 0 and 2", "at least 1", "greater than 0 and at most 1" from the number schema's own checks. */
function numberRange(schema: Schema | undefined): string | undefined {
  if (!(schema instanceof $ZodNumber)) return undefined;
  const checks = (schema._zod.def.checks ?? []).map((check) => check._zod.def as { check?: string; format?: string; value?: unknown; inclusive?: boolean });
  // `z.int()` as a check: a number format whose name says int ('safeint', 'int32', …).
  const whole = checks.some((def) => def.check === 'number_format' && def.format?.includes('int') === true);
  let low: string | undefined;
  let high: string | undefined;
  for (const def of checks) {
    if (typeof def.value !== 'number') continue;
    const n = def.value;
    if (def.check === 'greater_than') low = def.inclusive !== false ? String(n) : whole ? String(n + 1) : `>${n}`;
    if (def.check === 'less_than') high = def.inclusive !== false ? String(n) : whole ? String(n - 1) : `<${n}`;
  }
  const kind = whole ? 'a whole number ' : '';
  const exclusive = (b: string | undefined): boolean => b?.startsWith('>') === true || b?.startsWith('<') === true;
  if (low !== undefined && high !== undefined && !exclusive(low) && !exclusive(high)) return `${kind}between ${low} and ${high}`;
  const parts = [
    low === undefined ? undefined : exclusive(low) ? `greater than ${low.slice(1)}` : `at least ${low}`,
    high === undefined ? undefined : exclusive(high) ? `less than ${high.slice(1)}` : `at most ${high}`,
  ].filter((p): p is string => p !== undefined);
  return parts.length === 0 ? undefined : `${kind}${parts.join(' and ')}`;
}

/** The schema that checked the value at `path`, through objects, arrays, optionals and nullables. */
function schemaAt(schema: Schema, path: readonly PropertyKey[]): Schema | undefined {
  let current: Schema | undefined = unwrap(schema);
  for (const part of path) {
    if (current instanceof $ZodObject && typeof part === 'string') current = current._zod.def.shape[part];
    else if (current instanceof $ZodArray && typeof part === 'number') current = current._zod.def.element;
    else return undefined;
    current = current === undefined ? undefined : unwrap(current);
  }
  return current;
}

function unwrap(schema: Schema): Schema {
  let current = schema;
  while (current instanceof $ZodOptional || current instanceof $ZodExactOptional || current instanceof $ZodNullable || current instanceof $ZodDefault) {
    current = current._zod.def.innerType;
  }
  return current;
}
