/**
 * `npm run bench`: the speed and memory targets of the issues, measured on this machine and printed.
 * Each measurement runs in its own process so that its peak RSS is its own. BENCH_ONLY=csv,... selects some.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/paths.js';
import { fmt, runIsolated } from './support.js';

const only = process.env['BENCH_ONLY']?.split(',');
const want = (name: string): boolean => !only || only.includes(name);
const work = join(PROJECT_ROOT, '.bench-tmp');
mkdirSync(work, { recursive: true });

function target(ok: boolean): string {
  return ok ? 'target met' : 'TARGET MISSED';
}

if (want('csv')) {
  const file = join(work, 'orders_1m.csv');
  console.log('== CSV → canonical invoices (1,000,000 lines, 100,000 invoices, Windows-1252, Dutch decimals)');
  runIsolated('./csv-mapping.js', ['generate', file, '100000', '10']);
  const base = runIsolated<{ linesPerSecond: number; peakRssMb: number }>('./csv-mapping.js', ['baseline', file]);
  const gw = runIsolated<{ lines: number; invoices: number; rejected: number; seconds: number; linesPerSecond: number; invoicesPerSecond: number; peakRssMb: number }>('./csv-mapping.js', ['gateway', file]);
  console.log(`  csv-parse + iconv-lite alone : ${fmt(base.linesPerSecond)} lines/s, peak RSS ${fmt(base.peakRssMb)} MB`);
  console.log(`  gateway read+map+check+route : ${fmt(gw.linesPerSecond)} lines/s, ${fmt(gw.invoicesPerSecond)} invoices/s, peak RSS ${fmt(gw.peakRssMb)} MB (${fmt(gw.invoices)} invoices, ${gw.rejected} rejected, ${fmt(gw.seconds, 1)} s)`);
  console.log(`  ratio gateway / parser alone : ${fmt(gw.linesPerSecond / base.linesPerSecond, 2)}`);
  console.log(`  target ≥ 100,000 lines/s and < 200 MB: ${target(gw.linesPerSecond >= 100000 && gw.peakRssMb < 200)}`);
  rmSync(file, { force: true });
}

if (want('service')) {
  console.log('== Service: 10,000 single-invoice files dropped at once, folder transport (child process)');
  const r = runIsolated<{ files: number; seconds: number; filesPerSecond: number; p50: number; p99: number; claimToArchiveP50: number; claimToArchiveP99: number; allSentSeconds: number; fileConcurrency: number }>('./service-throughput.js', ['10000']);
  console.log(`  ${fmt(r.filesPerSecond)} files/s (${fmt(r.files)} files archived in ${fmt(r.seconds, 1)} s, all delivered after ${fmt(r.allSentSeconds, 1)} s; watch.concurrency ${r.fileConcurrency})`);
  console.log(`  drop-to-archive latency, stability wait excluded: p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms (includes waiting behind the other files of the burst)`);
  console.log(`  claim-to-archive latency (one file's own processing): p50 ${fmt(r.claimToArchiveP50)} ms, p99 ${fmt(r.claimToArchiveP99)} ms`);
  console.log(`  target ≥ 300 files/s: ${target(r.filesPerSecond >= 300)}; p99 < 2 s: drop-to-archive ${target(r.p99 < 2000)}, claim-to-archive ${target(r.claimToArchiveP99 < 2000)}`);
}
