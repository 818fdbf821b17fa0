import { didYouMean } from '../config/suggest.js';

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

/**
 * Where a path leaves the record: the first step that is not there, with the keys that are there
 * instead (for "`lineitems` is not in the record; it has `line_items`"), or undefined when it is whole.
 */
function missingStep(value: unknown, steps: readonly string[]): { step: string; at: string; keys: string[] } | undefined {
  let current: unknown = value;
  for (const [i, step] of steps.entries()) {
    if (Array.isArray(current)) current = current[0];
    if (current === null || typeof current !== 'object') return undefined;
    const keys = Object.keys(current as object);
    if (!keys.includes(step)) return { step, at: steps.slice(0, i).join('/'), keys };
    current = (current as Record<string, unknown>)[step];
  }
  return undefined;
}

/** Where a path leaves a document, as people read it: "'items' is not in the record (it has 'order_id', …)". */
export function whereMissing(value: unknown, steps: readonly string[], document: 'record' | 'file'): string | undefined {
  const gone = missingStep(value, steps);
  if (!gone) return undefined;
  const there = gone.keys.map((k) => `'${k}'`).join(', ') || 'nothing';
  return `'${gone.step}' is not in the ${gone.at ? `${document}'s ${gone.at}` : document}${didYouMean(gone.step, gone.keys)} (it has ${there})`;
}

/** The items at a path: the last step may hold one item or an array of them. */
export function itemsAt(value: unknown, steps: readonly string[]): unknown[] {
  const found = steps.length === 0 ? value : getPath(value, steps);
  if (found === undefined || found === null || found === '') return [];
  return Array.isArray(found) ? found : [found];
}
