import { mailPlan } from '../service/mail-plan.js';
import { releaseSummary } from './install-standards.js';
import { releaseLines } from '../validation/releases.js';
import { standardsHome } from '../validation/artefacts.js';
import { userInfo } from 'node:os';
import { processEnvironment } from '../environment.js';
import { Folders } from '../service/folders.js';
import { loadCommandConfig, type CommonOptions } from './options.js';
import type { Ledger, LedgerStatus } from '../ledger/ledger.js';
import { existsSync } from 'node:fs';
import { freeBytes, LOW_DISK_BYTES } from '../util/disk.js';
import { printable } from '../observability/log.js';
import { ConfigError, EnvironmentError } from '../errors.js';
import { LedgerLock } from '../ledger/sql/lock.js';
import { openLedger, type OpenLedger } from '../ledger/open.js';
import { isMailAddress } from '../mail/addresses.js';

/**
 * Opens the configured ledger for a command (the running service may have it open too: SQLite's
 * WAL and PostgreSQL allow it); the SQLite file must exist.
 */
export async function openCommandLedger(opts: CommonOptions & { demo?: boolean }): Promise<OpenLedger & { sqliteFile?: string }> {
  const config = loadCommandConfig(opts);
  const settings = opts.demo ? { ...config.service, dataDir: `${config.service.dataDir}/demo` } : config.service;
  const file = new Folders(settings).ledgerFile();
  if (settings.ledger.kind === 'sqlite' && !existsSync(file))
    throw new EnvironmentError(`no ledger at ${file}: the gateway has not run with this configuration yet (or give --demo for the demo's ledger)`, {});
  const opened = await openLedger(settings.ledger, file, 'command');
  return settings.ledger.kind === 'sqlite' ? { ...opened, sqliteFile: file } : opened;
}

/** Runs a command on the ledger and closes it, whatever happens. */
async function withLedger<T>(opts: CommonOptions & { demo?: boolean }, work: (ledger: Ledger, sqliteFile?: string) => Promise<T>): Promise<T> {
  const opened = await openCommandLedger(opts);
  try {
    return await work(opened.ledger, opened.sqliteFile);
  } finally {
    await opened.close();
  }
}

/** The state of the machine around the ledger: is a gateway running on it, and is there disk space. */
function environmentLines(dataDir: string, ledgerFile: string | undefined): string[] {
  const lines: string[] = [];
  if (ledgerFile) {
    try {
      LedgerLock.acquire(ledgerFile).release();
      lines.push('service: no gateway process is running on this ledger');
    } catch (err) {
      lines.push(err instanceof EnvironmentError ? 'service: a gateway process is running on this ledger' : `service: cannot tell (${(err as Error).message})`);
    }
  }
  const free = freeBytes(dataDir);
  if (free === undefined) return lines;
  const mb = (n: number) => `${Math.floor(n / 1024 / 1024)} MB`;
  if (free < LOW_DISK_BYTES) {
    lines.push(
      `disk: only ${mb(free)} free for the data folder; when it is full the gateway pauses taking files and sending (nothing is lost) until there is space`,
    );
  } else lines.push(`disk: ${mb(free)} free for the data folder`);
  return lines;
}

function ago(iso: string, now: number): string {
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

/** A duration in words: "12 s", "3 min", "2 h". */
function span(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

/**
 * One line per gateway node: when it was last heard from (on the database's clock, so the clock of
 * the machine asking does not matter), whether it said it was paused, and a clock that is off.
 */
function nodeLines(nodes: LedgerStatus['nodes'], leaseMs: number, now: number): string[] {
  return nodes.map((n) => {
    const age = n.heartbeatAgeMs ?? now - Date.parse(n.heartbeatAt);
    const state =
      age > leaseMs
        ? `not heard from for ${span(age)} (stopped, killed, or cut off from the ledger; its work is taken over when its leases expire)`
        : n.paused
          ? `paused: ${n.paused}`
          : `running (heard from ${span(age)} ago)`;
    // offset = the database's clock minus the node's: a node whose clock is ahead has a negative one
    const clock =
      n.clockOffsetMs !== undefined && Math.abs(n.clockOffsetMs) >= 2_000
        ? `; its clock is ${span(n.clockOffsetMs)} ${n.clockOffsetMs < 0 ? 'ahead of' : 'behind'} the database's (leases go by the database's, so this is harmless; fix its time sync)`
        : '';
    return `node ${n.id}${n.run ? ` run ${n.run}` : ''} (process ${n.pid} on ${n.host}): ${state}${clock}`;
  });
}

/** Progress and an ETA for a bulk run, from its sent count and the time since it started. */
function eta(run: LedgerStatus['runs'][number], _now: number): string {
  const left = run.total - run.done - run.dead;
  if (left <= 0) return 'complete';
  if (!run.done || !run.lastSentAt) return `${left} to go`;
  const elapsed = Date.parse(run.lastSentAt) - Date.parse(run.startedAt);
  const perItem = elapsed / run.done;
  return `${left} to go, ETA ${Math.max(1, Math.round((perItem * left) / 1000))} s`;
}

/** `invoice-gateway status`: counts per state, the oldest pending delivery, recent failures, bulk progress. */
export async function statusCommand(opts: CommonOptions & { json?: boolean; demo?: boolean }): Promise<number> {
  const now = Date.now();
  const config = loadCommandConfig(opts);
  const dataDir = opts.demo ? `${config.service.dataDir}/demo` : config.service.dataDir;
  const { st, file, where, mail } = await withLedger(opts, async (ledger, sqliteFile) => ({
    st: await ledger.status(now),
    file: sqliteFile,
    where: ledger.description,
    mail: await mailPlan(config.service, ledger, now),
  }));
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ ...st, validationReleases: releaseLines(), ...(mail ? { mail } : {}) }, null, 2)}\n`);
    return 0;
  }
  const counts = (r: Record<string, number>): string =>
    Object.entries(r)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none';
  const out: string[] = [];
  out.push(`files:      ${counts(st.files)}`);
  out.push(`invoices:   ${counts(st.invoices)}`);
  out.push(`deliveries: ${counts(st.deliveries)}`);
  if (mail) out.push(`e-mail:     ${mail.text}`);
  if (st.files['processing'])
    out.push(`files waiting in processing/: ${st.files['processing']} (the log says why: being processed, or waiting for the environment)`);
  out.push(`ledger:     ${where}`);
  out.push(...environmentLines(dataDir, file));
  out.push(...nodeLines(st.nodes, config.service.ledger.leaseMs, now));
  out.push(`validation rules (by invoice issue date; artefacts in ${standardsHome()}):`, ...releaseSummary());
  if (st.numberSeries.length) {
    out.push('number series (the last number taken; the next is one higher):');
    for (const series of st.numberSeries) out.push(`  ${series.seller} ${series.counter}: ${series.last}`);
  }
  if (st.oldestPending)
    out.push(`oldest pending delivery: #${st.oldestPending.id} (invoice ${st.oldestPending.invoiceNumber}), since ${ago(st.oldestPending.since, now)}`);
  if (st.runs.length) {
    out.push('', 'runs (files with deliveries):');
    for (const run of st.runs)
      out.push(`  #${run.fileId} ${printable(run.name)}: ${run.done}/${run.total} sent${run.dead ? `, ${run.dead} dead` : ''} (${eta(run, now)})`);
  }
  if (st.recentFailures.length) {
    out.push('', 'recent failures:');
    for (const f of st.recentFailures)
      out.push(`  delivery #${f.id} invoice ${f.invoiceNumber} ${f.routeId}: ${f.state} after ${f.attempts} attempt(s): ${f.error}`);
  }
  if (st.filesInError.length) {
    out.push('', 'files in error (reports beside them in the error folder):');
    for (const f of st.filesInError)
      out.push(`  #${f.id} ${f.source}/${printable(f.name)} (${f.at}): ${printable(f.error)}${f.finalPath ? `\n    ${f.finalPath}` : ''}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

/** Who ran a command, for the audit log: the operating-system user. */
function cliActor(): string {
  return `${processEnvironment().shellUser ?? userInfo().username} (cli)`;
}

/** `invoice-gateway retry <delivery|file>`: makes failed or dead deliveries due now. */
export async function retryCommand(what: string, opts: CommonOptions & { file?: boolean; to?: string; demo?: boolean }): Promise<number> {
  const id = Number(what.replace(/^#/, ''));
  if (!Number.isInteger(id)) throw new Error(`expected a delivery id (or a file id with --file), got "${what}"`);
  if (opts.to !== undefined && (opts.file || !isMailAddress(opts.to)))
    throw new ConfigError(opts.file ? '--to goes with one delivery, not a file' : `--to ${opts.to} is not an e-mail address`, { field: 'to' });
  const count = await withLedger(opts, async (ledger) => {
    const n = await ledger.retry(opts.file ? { fileId: id } : { deliveryId: id, ...(opts.to ? { to: opts.to } : {}) });
    await ledger.logEvent('retry', { [opts.file ? 'file' : 'delivery']: id, deliveries: n, by: cliActor(), ...(opts.to ? { to: opts.to } : {}) });
    return n;
  });
  process.stdout.write(`${count} deliver${count === 1 ? 'y' : 'ies'} due again; the running service sends ${count === 1 ? 'it' : 'them'} within seconds\n`);
  return count > 0 ? 0 : 1;
}

/**
 * The seller an invoice number a person gives belongs to: --seller, or the only seller that
 * issued that number; numbers are unique per seller, so two sellers with it need --seller.
 */
async function sellerOf(ledger: Ledger, number: string, given: string | undefined): Promise<string | undefined> {
  if (given) return given;
  const sellers = await ledger.sellersOfNumber(number);
  if (sellers.length > 1)
    throw new ConfigError(`invoice number ${number} was issued by ${sellers.length} sellers (${sellers.join(', ')}): say which with --seller`, {
      field: 'seller',
    });
  return sellers[0];
}

/** `invoice-gateway resend <invoice>`: sends an issued invoice again over its routes (explicit, logged). */
export async function resendCommand(number: string, opts: CommonOptions & { reason?: string; seller?: string; demo?: boolean }): Promise<number> {
  const count = await withLedger(opts, async (ledger) => {
    const seller = await sellerOf(ledger, number, opts.seller);
    return seller ? ledger.resend(seller, number, opts.reason ?? 'resend requested', cliActor()) : 0;
  });
  if (!count) {
    process.stderr.write(`invoice ${number} is not an issued invoice in the ledger\n`);
    return 1;
  }
  process.stdout.write(`invoice ${number}: ${count} new deliver${count === 1 ? 'y' : 'ies'} queued (logged as a resend)\n`);
  return 0;
}

/** `invoice-gateway reexport <invoice> --format <f> --administration <a>`: an explicit, logged re-issue of an accounting export. */
export async function reexportCommand(
  number: string,
  opts: CommonOptions & { format: string; administration: string; reason?: string; seller?: string; demo?: boolean },
): Promise<number> {
  const ok = await withLedger(opts, async (ledger) => {
    const seller = await sellerOf(ledger, number, opts.seller);
    return seller ? ledger.reexport(seller, number, opts.format, opts.administration, opts.reason ?? 'reexport requested', cliActor()) : false;
  });
  if (!ok) {
    process.stderr.write(`invoice ${number} has no ${opts.format} route to administration ${opts.administration}\n`);
    return 1;
  }
  process.stdout.write(`invoice ${number} will be in the next ${opts.format} file for ${opts.administration} (logged as a reexport)\n`);
  return 0;
}
