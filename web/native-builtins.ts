/**
 * The Parse SDK's browser build is compiled with @babel/runtime-corejs3, so it imports core-js polyfills for
 * Promise, Map, Array.prototype.includes and the like. Every browser this app supports (ES2022) has them, so this
 * plugin serves each such import as the native built-in instead: the same behaviour, ~25 KB gzip less to download
 * and parse. An import it does not know falls through to core-js itself.
 */
import type { Plugin } from 'vite';

const POLYFILL = /\/@babel\/runtime-corejs3\/core-js(?:-stable)?\/(.+?)(?:\/index)?(?:\.js)?$/;

const GLOBALS: Record<string, string> = {
  object: 'Object',
  array: 'Array',
  json: 'JSON',
  number: 'Number',
  symbol: 'Symbol',
  promise: 'Promise',
  reflect: 'Reflect',
  date: 'Date',
  math: 'Math',
  string: 'String',
  map: 'Map',
  set: 'Set',
  'weak-map': 'WeakMap',
  'weak-set': 'WeakSet',
  'parse-int': 'parseInt',
  'parse-float': 'parseFloat',
  'global-this': 'globalThis',
  url: 'URL',
  'url-search-params': 'URLSearchParams',
};
const TIMERS = ['set-timeout', 'set-interval', 'clear-timeout', 'clear-interval', 'queue-microtask'];

const camel = (s: string) => s.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());

export function nativeExpression(path: string): string | null {
  const [head, member, ...rest] = path.split('/');
  if (!head || rest.length) return null;
  if (head === 'instance' && member) return `function (it) { return it.${camel(member)}; }`;
  if (TIMERS.includes(head) && !member) return `function () { return ${camel(head)}.apply(globalThis, arguments); }`;
  const global = GLOBALS[head];
  if (!global) return null;
  return member ? `${global}.${camel(member)}` : global;
}

export function nativeBuiltins(): Plugin {
  return {
    name: 'native-builtins',
    enforce: 'pre',
    load(id) {
      const match = POLYFILL.exec(id.split('?')[0] ?? '');
      const expression = match ? nativeExpression(match[1] as string) : null;
      return expression ? `module.exports = ${expression};` : null;
    },
  };
}
