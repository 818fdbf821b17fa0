/**
 * The value stored under `key` in a plain map read from YAML or a file, and only one stored there:
 * never an inherited member such as `constructor`, `__proto__` or `toString`.
 */
export function own<T>(map: Record<string, T> | undefined, key: string | undefined): T | undefined {
  return map !== undefined && key !== undefined && Object.hasOwn(map, key) ? map[key] : undefined;
}
