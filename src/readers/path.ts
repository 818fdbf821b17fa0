/** Splits a record path written as "a/b/c" or "a.b.c" into its steps. */
export function splitPath(path: string): string[] {
  return path
    .split(/[/.]/)
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== '$');
}

/** Follows a path of steps through nested objects; arrays on the way are entered at their first item. */
export function getPath(value: unknown, steps: readonly string[]): unknown {
  let current: unknown = value;
  for (const step of steps) {
    if (Array.isArray(current)) current = current[0];
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[step];
  }
  return current;
}

/** The items at a path: the last step may hold one item or an array of them. */
export function itemsAt(value: unknown, steps: readonly string[]): unknown[] {
  const found = steps.length === 0 ? value : getPath(value, steps);
  if (found === undefined || found === null || found === '') return [];
  return Array.isArray(found) ? found : [found];
}
