import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Peak resident memory of this process so far, in MB. */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Runs a bench script in its own process (so its peak memory is its own) and returns its JSON result. */
export function runIsolated<T>(script: string, args: string[], env: NodeJS.ProcessEnv = {}): T {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const result = spawnSync(process.execPath, [path, ...args], { encoding: 'utf-8', env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${script} failed (${result.status}): ${result.stderr}`);
  const last = result.stdout.trim().split('\n').pop() ?? '{}';
  return JSON.parse(last) as T;
}

/** A number with thousands separators, for printing. */
export function fmt(n: number, decimals = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: decimals, minimumFractionDigits: decimals });
}
