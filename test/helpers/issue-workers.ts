import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './paths.js';

/**
 * Runs `workers` processes that each issue `count` invoices into one series of one ledger (a SQLite
 * file or a postgres:// URL), all at once, as that many gateway nodes would; the numbers each got.
 */
export async function runIssueWorkers(where: string, workers: number, count: number): Promise<string[][]> {
  const script = join(ROOT, 'dist', 'test', 'support', 'issue-worker.js');
  const run = (id: number) =>
    new Promise<string[]>((resolve, reject) => {
      const child = spawn(process.execPath, [script, where, String(id), String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as string[]) : reject(new Error(err))));
    });
  return Promise.all(Array.from({ length: workers }, (_, i) => run(i + 1)));
}

/** The numbers a series gives out from its start: 2026-00001, 2026-00002, ... */
export function seriesOf(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `2026-${String(i + 1).padStart(5, '0')}`);
}
