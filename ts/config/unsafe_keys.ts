/**
 * Keys that no config may hold: `__proto__`, `constructor` and `prototype`.
 *
 * Assigning them (`--set __proto__.x=1`, a YAML or JSON `__proto__:` key) would
 * reach `Object.prototype` or an object's prototype chain instead of the config,
 * so they are refused wherever a config enters: every {@link validate} call (file
 * text, library objects) and every `--set` path and value.
 */

/** The refused key names. */
export const UNSAFE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * The key path of the first unsafe key in `value` (own keys, depth-first,
 * arrays included), or undefined when there is none.
 * @param where the path of `value` itself (`job`, `--set a.b`; '' for the root).
 */
export function findUnsafeKey(value: unknown, where = ''): string | undefined {
  const stack: Array<[unknown, string]> = [[value, where]];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const [v, at] = stack.pop()!;
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    for (const key of Reflect.ownKeys(v)) {
      const name = String(key);
      const path = at === '' ? name : `${at}.${name}`;
      if (UNSAFE_KEYS.has(name)) return path;
      stack.push([(v as Record<string, unknown>)[name], path]);
    }
  }
  return undefined;
}
