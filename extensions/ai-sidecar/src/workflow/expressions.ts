/**
 * Condition expressions, e.g. `<judge.score> > 5 && <judge.label>.startsWith("sp")`. The text is
 * parsed by jsep into an AST and walked by the small evaluator below over a whitelist: literals,
 * references, comparisons, boolean logic, arithmetic, `?:`, and a few named string/array tests.
 * Nothing is ever handed to eval, Function or vm, and nothing reaches a prototype: a property is
 * read only when it is an own field of a JSON object (or `.length`), and only the methods listed
 * here can be called.
 */
import jsep from 'jsep';
import type { JsonValue } from './model.js';
import { findReferences, resolveReference, type ReferenceScope } from './references.js';

export class ExpressionError extends Error {
  override readonly name = 'ExpressionError';
}

type Value = JsonValue | undefined;
type Node = jsep.Expression;

/** Tests callable as methods (`x.includes(y)`) or as functions (`contains(x, y)`). */
const METHODS: Record<string, (self: Value, args: Value[]) => Value> = {
  includes: (self, [needle]) => (typeof self === 'string' ? self.includes(text(needle)) : Array.isArray(self) ? self.some((v) => v === needle) : false),
  startsWith: (self, [prefix]) => typeof self === 'string' && self.startsWith(text(prefix)),
  endsWith: (self, [suffix]) => typeof self === 'string' && self.endsWith(text(suffix)),
  toLowerCase: (self) => text(self).toLowerCase(),
  toUpperCase: (self) => text(self).toUpperCase(),
  trim: (self) => text(self).trim(),
};
const FUNCTIONS: Record<string, (args: Value[]) => Value> = {
  contains: ([a, b]) => METHODS.includes?.(a, [b]) ?? false,
  startsWith: ([a, b]) => METHODS.startsWith?.(a, [b]) ?? false,
  endsWith: ([a, b]) => METHODS.endsWith?.(a, [b]) ?? false,
  lower: ([a]) => text(a).toLowerCase(),
  upper: ([a]) => text(a).toUpperCase(),
  len: ([a]) => (typeof a === 'string' || Array.isArray(a) ? a.length : 0),
  number: ([a]) => Number(a),
  isEmpty: ([a]) => a === undefined || a === null || a === '' || (Array.isArray(a) && a.length === 0),
};
const BINARY = new Set(['==', '!=', '===', '!==', '<', '<=', '>', '>=', '&&', '||', '+', '-', '*', '/', '%']);
const UNARY = new Set(['!', '-', '+']);
const FORBIDDEN_NAMES = new Set(['constructor', '__proto__', 'prototype']);

export interface ParsedExpression {
  readonly ast: Node;
  /** `$ref0`, `$ref1`, … → the reference each stands for. */
  readonly refs: ReturnType<typeof findReferences>;
}

/** Parses and checks an expression; throws ExpressionError in plain words for anything outside the whitelist. */
export function parseExpression(source: string): ParsedExpression {
  const refs = findReferences(source);
  let replaced = '';
  let at = 0;
  refs.forEach((ref, i) => {
    replaced += `${source.slice(at, ref.index)}$ref${i}`;
    at = ref.index + ref.raw.length;
  });
  replaced += source.slice(at);
  if (replaced.trim() === '') throw new ExpressionError('The expression is empty.');
  let ast: Node;
  try {
    ast = jsep(replaced);
  } catch (error) {
    throw new ExpressionError(`The expression cannot be read: ${error instanceof Error ? error.message : String(error)}.`);
  }
  const parsed = { ast, refs };
  walk(parsed, ast, undefined);
  return parsed;
}

/** Evaluates to a boolean (JavaScript truthiness of the result). */
export function evaluateCondition(source: string, scope: ReferenceScope): boolean {
  const parsed = parseExpression(source);
  return truthy(walk(parsed, parsed.ast, scope));
}

/**
 * One walker for both jobs: without a scope it only checks the shape (at save), with one it
 * computes the value. Unknown node types, names and methods are refused either way.
 */
function walk(parsed: ParsedExpression, node: Node, scope: ReferenceScope | undefined): Value {
  const at = (child: Node): Value => walk(parsed, child, scope);
  switch (node.type) {
    case 'Literal': {
      const { value } = node as jsep.Literal;
      if (value instanceof RegExp) throw new ExpressionError('Regular expressions are not allowed in conditions.');
      return value;
    }
    case 'Identifier':
      return identifier(parsed, (node as jsep.Identifier).name, scope);
    case 'ArrayExpression':
      return (node as jsep.ArrayExpression).elements.map((e) => (e === null ? null : (at(e) ?? null)));
    case 'UnaryExpression': {
      const { operator, argument } = node as jsep.UnaryExpression;
      if (!UNARY.has(operator)) throw new ExpressionError(`The operator "${operator}" is not allowed in conditions.`);
      const v = at(argument);
      return scope === undefined ? undefined : operator === '!' ? !truthy(v) : operator === '-' ? -Number(v) : Number(v);
    }
    case 'BinaryExpression':
      return binary(node as jsep.BinaryExpression, at, scope !== undefined);
    case 'ConditionalExpression': {
      const { test, consequent, alternate } = node as jsep.ConditionalExpression;
      if (scope === undefined) return (at(test), at(consequent), at(alternate), undefined);
      return truthy(at(test)) ? at(consequent) : at(alternate);
    }
    case 'MemberExpression':
      return member(node as jsep.MemberExpression, at, scope !== undefined);
    case 'CallExpression':
      return call(node as jsep.CallExpression, at, scope !== undefined);
    default:
      throw new ExpressionError(`"${node.type}" is not allowed in conditions: use comparisons, && || !, arithmetic and string tests.`);
  }
}

function identifier(parsed: ParsedExpression, name: string, scope: ReferenceScope | undefined): Value {
  const match = /^\$ref(\d+)$/.exec(name);
  const ref = match === null ? undefined : parsed.refs[Number(match[1])];
  if (ref === undefined) {
    throw new ExpressionError(`"${name}" is not something a condition can use: write a reference such as <agent.content>, or quote text as "${name}".`);
  }
  return scope === undefined ? undefined : resolveReference(ref, scope);
}

function binary(node: jsep.BinaryExpression, at: (n: Node) => Value, evaluating: boolean): Value {
  const { operator } = node;
  if (!BINARY.has(operator)) throw new ExpressionError(`The operator "${operator}" is not allowed in conditions.`);
  if (!evaluating) return (at(node.left), at(node.right), undefined);
  if (operator === '&&') return truthy(at(node.left)) && truthy(at(node.right));
  if (operator === '||') return truthy(at(node.left)) || truthy(at(node.right));
  const a = at(node.left);
  const b = at(node.right);
  switch (operator) {
    case '==':
    case '===':
      return looseEqual(a, b);
    case '!=':
    case '!==':
      return !looseEqual(a, b);
    case '<':
      return compare(a, b) < 0;
    case '<=':
      return compare(a, b) <= 0;
    case '>':
      return compare(a, b) > 0;
    case '>=':
      return compare(a, b) >= 0;
    case '+':
      return typeof a === 'number' && typeof b === 'number' ? a + b : text(a) + text(b);
    case '-':
      return Number(a) - Number(b);
    case '*':
      return Number(a) * Number(b);
    case '/':
      return Number(a) / Number(b);
    default:
      return Number(a) % Number(b);
  }
}

/** `x.length`, `obj.field`, `list[0]`: own fields of JSON values only, never a prototype's. */
function member(node: jsep.MemberExpression, at: (n: Node) => Value, evaluating: boolean): Value {
  const key = propertyKey(node, at, evaluating);
  const object = at(node.object);
  if (!evaluating) return undefined;
  if (key === 'length' && (typeof object === 'string' || Array.isArray(object))) return object.length;
  if (Array.isArray(object) && typeof key === 'number') return object[key];
  if (typeof object === 'object' && object !== null && !Array.isArray(object) && typeof key === 'string' && Object.hasOwn(object, key)) return object[key];
  return undefined;
}

function propertyKey(node: jsep.MemberExpression, at: (n: Node) => Value, evaluating: boolean): string | number | undefined {
  const key = node.computed ? at(node.property) : (node.property as jsep.Identifier).name;
  if (node.computed && !evaluating) return undefined;
  if (typeof key === 'string' && FORBIDDEN_NAMES.has(key)) throw new ExpressionError(`"${key}" cannot be read in a condition.`);
  if (typeof key !== 'string' && typeof key !== 'number') throw new ExpressionError('A field name must be text or a number.');
  return key;
}

function call(node: jsep.CallExpression, at: (n: Node) => Value, evaluating: boolean): Value {
  const { callee } = node;
  const args = (): Value[] => node.arguments.map(at);
  if (callee.type === 'Identifier') {
    const name = (callee as jsep.Identifier).name;
    const fn = Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
    if (fn === undefined) throw new ExpressionError(`"${name}()" cannot be called in a condition. Allowed: ${Object.keys(FUNCTIONS).join(', ')}.`);
    const values = args();
    return evaluating ? fn(values) : undefined;
  }
  if (callee.type === 'MemberExpression' && !(callee as jsep.MemberExpression).computed) {
    const target = callee as jsep.MemberExpression;
    const self = at(target.object);
    const name = (target.property as jsep.Identifier).name;
    const method = Object.hasOwn(METHODS, name) ? METHODS[name] : undefined;
    if (method === undefined) throw new ExpressionError(`".${name}()" cannot be called in a condition. Allowed: ${Object.keys(METHODS).join(', ')}.`);
    const values = args();
    return evaluating ? method(self, values) : undefined;
  }
  throw new ExpressionError('Only the listed tests can be called in a condition.');
}

function looseEqual(a: Value, b: Value): boolean {
  if (typeof a === 'number' && typeof b === 'string') return a === Number(b);
  if (typeof a === 'string' && typeof b === 'number') return Number(a) === b;
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) return JSON.stringify(a) === JSON.stringify(b);
  return a === b;
}

function compare(a: Value, b: Value): number {
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  const x = Number(a);
  const y = Number(b);
  return Number.isNaN(x) || Number.isNaN(y) ? Number.NaN : x - y;
}

function truthy(value: Value): boolean {
  return Boolean(value);
}

function text(value: Value): string {
  return typeof value === 'string' ? value : value === undefined || value === null ? '' : JSON.stringify(value);
}
