/** Condition expressions: what they can do, and the attacks they must refuse. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateCondition, ExpressionError, parseExpression } from '../../extensions/ai-sidecar/src/workflow/expressions.js';
import type { JsonObject } from '../../extensions/ai-sidecar/src/workflow/model.js';

const outputs: Record<string, JsonObject> = {
  judge: { score: 8, label: 'Spam', tags: ['a', 'b'], nested: { ok: true } },
  start: { input: 'Hello World' },
  variable: { threshold: '5' },
};
const scope = (root: string) => outputs[root];
const check = (expression: string) => evaluateCondition(expression, scope);

describe('condition expressions', () => {
  it('compare, combine, compute and test strings over resolved references', () => {
    expect(check('<judge.score> > 5')).toBe(true);
    expect(check('<judge.score> >= 9')).toBe(false);
    expect(check('<judge.score> > <variable.threshold>')).toBe(true);
    expect(check('<judge.score> * 2 - 1 == 15 && !(<judge.score> % 2 == 1)')).toBe(true);
    expect(check('<judge.label> === "Spam" || false')).toBe(true);
    expect(check("<judge.label>.toLowerCase().includes('spa')")).toBe(true);
    expect(check("<start.input>.startsWith('Hello') && <start.input>.endsWith('World')")).toBe(true);
    expect(check('contains(<start.input>, "lo W") && len(<judge.tags>) == 2 && <judge.tags>.includes("b")')).toBe(true);
    expect(check('<judge.nested.ok> ? <start.input>.length == 11 : false')).toBe(true);
    expect(check('<judge.score> == "8"')).toBe(true);
    expect(check('["x", "Spam"].includes(<judge.label>)')).toBe(true);
  });

  it('a reference to a missing field fails in plain words, it does not evaluate to something', () => {
    expect(() => check('<judge.missing> > 1')).toThrow(/<judge.missing> has no value/);
    expect(() => check('<nobody.content> > 1')).toThrow(/points at no block/);
    // A block on a branch not taken reads as empty, as in Sim.
    expect(evaluateCondition('isEmpty(<skipped.content>) && <skipped.content> == null', (root) => (root === 'skipped' ? null : undefined))).toBe(true);
  });

  it.each([
    ['constructor access', '<start.input>.constructor'],
    ['constructor via computed key', '<start.input>["constructor"]'],
    ['__proto__', '<judge.nested>.__proto__'],
    ['prototype', '<judge.nested>.prototype'],
    ['constructor chain to Function', '<start.input>.constructor.constructor("return process")()'],
    ['a global function', 'eval("1")'],
    ['Function', 'Function("return 1")()'],
    ['require', 'require("fs")'],
    ['process', 'process.exit(1)'],
    ['globalThis', 'globalThis'],
    ['this', 'this'],
    ['an unlisted method', '<start.input>.replace("a", "b")'],
    ['a method on a computed key', '<start.input>["includes"]("H")'],
    ['a call of a call result', 'lower("x")()'],
    ['a bare name', 'foo == 1'],
    ['a regular expression literal', '<start.input> == /x/'],
    ['assignment-like operators', '<judge.score> = 1'],
    ['a sequence', '1, 2'],
  ])('refuses %s', (_what, expression) => {
    let refused: unknown;
    try {
      parseExpression(expression);
      check(expression);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(ExpressionError);
    // Whatever it was, it never reached the prototype or ran code.
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  });

  it('refuses at parse time (when saving), before any value exists', () => {
    expect(() => parseExpression('<a.b>.constructor')).toThrow(ExpressionError);
    expect(() => parseExpression('eval("x")')).toThrow(/"eval\(\)" cannot be called/);
    expect(() => parseExpression('<a.b>.replace("x", "y")')).toThrow(/"\.replace\(\)" cannot be called/);
    expect(() => parseExpression('')).toThrow(/empty/);
    expect(() => parseExpression('<a.b> > ')).toThrow(/cannot be read/);
  });

  it('an object from a model answer cannot smuggle a prototype in', () => {
    const hostile = JSON.parse('{"__proto__": {"polluted": true}, "safe": 1}') as JsonObject;
    expect(evaluateCondition('<h.safe> == 1', (root) => (root === 'h' ? hostile : undefined))).toBe(true);
    expect(() => evaluateCondition('<h.x>.__proto__', (root) => (root === 'h' ? { x: {} } : undefined))).toThrow(ExpressionError);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('no workflow source uses eval, Function or vm', () => {
    const folder = path.resolve(import.meta.dirname, '../../extensions/ai-sidecar/src/workflow');
    const files = readdirSync(folder, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const source = readFileSync(path.join(folder, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      expect(source, file).not.toMatch(/\beval\s*\(|new\s+Function\b|\bFunction\s*\(|node:vm|from 'vm'/);
    }
  });
});
