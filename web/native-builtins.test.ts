import { describe, expect, it } from 'vitest';
import { nativeExpression } from './native-builtins.ts';

describe('core-js imports served as built-ins', () => {
  it.each([
    ['promise', 'Promise'],
    ['object/define-property', 'Object.defineProperty'],
    ['array/is-array', 'Array.isArray'],
    ['json/stringify', 'JSON.stringify'],
    ['weak-map', 'WeakMap'],
    ['symbol/for', 'Symbol.for'],
    ['global-this', 'globalThis'],
  ])('%s → %s', (path, expression) => {
    expect(nativeExpression(path)).toBe(expression);
  });

  it('turns instance methods into property reads and keeps timers callable', () => {
    const includes = new Function(`return ${nativeExpression('instance/starts-with')}`)() as (it: unknown) => unknown;
    expect(includes('abc')).toBe(String.prototype.startsWith);
    const later = new Function(`return ${nativeExpression('set-timeout')}`)() as typeof setTimeout;
    expect(typeof later(() => undefined, 0)).not.toBe('undefined');
  });

  it('leaves what it does not know to core-js', () => {
    expect(nativeExpression('url-search-params/index/extra')).toBeNull();
    expect(nativeExpression('iterator/from')).toBeNull();
  });
});
