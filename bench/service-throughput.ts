/**
 * 10,000 single-invoice files dropped at once into running gateways (child processes, folder transport).
 * Prints files/s through the whole service and drop-to-archive latency p50/p99, stability wait excluded.
 *   node dist/bench/service-throughput.js [files] [sqlite | postgres] [nodes] [console-polled]
 * postgres starts its own server (Debian postgresql) in a temp folder, as the tests do. With
 * console-polled, the first node serves its console and a signed-in client loads the overview page
 * and the deliveries list every second while the files go through (an operator watching).
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import pg from 'pg';
import { benchGateway, settled } from './support.js';
import { startPostgres, type PgServer } from '../test/helpers/postgres.js';
import { ApiClient } from '../test/helpers/console.js';
import { freePort } from '../test/helpers/net.js';
import { UserStore } from '../src/web/users.js';

const files = Number(process.argv[2] ?? 10_000);
const kind = (process.argv[3] ?? 'sqlite') as 'sqlite' | 'postgres';
const nodeCount = Number(process.argv[4] ?? 1);
const polled = process.argv[5] === 'console-polled';
const consolePort = polled ? await freePort() : undefined;
const stableMs = 200;

let server: PgServer | undefined;
let url: string | undefined;
if (kind === 'postgres') {
  // pg_stat_statements counts the statements the nodes send (the bench's own polling is taken off)
  server = await startPostgres({ settings: ['shared_preload_libraries=pg_stat_statements', 'pg_stat_statements.track=all'] });
  url = await server.createDatabase();
  // BENCH_PG_SOCKET: the node connects over the server's Unix socket, as a gateway on the database's own machine would
  if (process.env['BENCH_PG_SOCKET'])
    url = url.replace(/@127\.0\.0\.1:(\d+)\/(\w+)$/, (_all, port: string, db: string) => `@/${db}?host=${server!.socketDir}&port=${port}`);
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  await setup.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  await setup.query('SELECT pg_stat_statements_reset()');
  await setup.end();
}
/** statements and transactions the bench sends itself, taken off the database's counts */
let ownQueries = 0;

const gateway = benchGateway(
  `service-${kind}-${nodeCount}`,
  (root, base) => ({
    ...(url ? { ledger: { kind: 'postgres', url, poolSize: 8 } } : {}),
    ...(consolePort ? { console: { port: consolePort } } : {}),
    watch: {
      ...(nodeCount > 1 ? { mode: 'scan', rescanEvery: '1s' } : { rescanEvery: '30s' }),
      stableFor: `${stableMs}ms`,
      // the gateway's default unless asked: 16 files at a time on SQLite, 32 on PostgreSQL
      ...(process.env['BENCH_FILE_CONCURRENCY'] ? { concurrency: Number(process.env['BENCH_FILE_CONCURRENCY']) } : {}),
    },
    outbox: { concurrency: 16, pollInterval: '100ms' },
    targets: { ...(base['targets'] as object), out: { kind: 'folder', path: join(root, 'out') } },
  }),
  { defaults: { paymentTermsDays: 30, routes: [{ format: 'json', transport: 'folder', target: 'out' }] } },
);
const root = gateway.root;

/** The ledger's answers, from SQLite or PostgreSQL. */
interface Reader {
  rows<T>(sql: string): Promise<T[]>;
  close(): Promise<void>;
}
async function reader(): Promise<Reader> {
  if (url) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return {
      rows: async (sql) => {
        ownQueries++;
        return (await client.query(sql)).rows;
      },
      close: () => client.end(),
    };
  }
  const db = new Database(gateway.ledgerFile, { readonly: true });
  return { rows: async (sql) => db.prepare(sql).all() as never[], close: async () => void db.close() };
}
const count = async (r: Reader, sql: string): Promise<number> => Number(Object.values((await r.rows<object>(sql))[0]!)[0]);

const staging = join(root, 'staging');
const inbox = join(root, 'inbox', 'members');
mkdirSync(staging, { recursive: true });
mkdirSync(inbox, { recursive: true });
const header = 'Lidnummer;Voorletters;Tussenvoegsel;Achternaam;Straat;Huisnummer;Postcode;Woonplaats;E-mail;Soort lid;Contributie;Seizoen;Factuurdatum\n';
for (let i = 0; i < files; i++) {
  writeFileSync(
    join(staging, `contributie_${i}.csv`),
    `${header}${20000 + i};A.;;Lid ${i};Dorpsstraat;1;3811 AB;Amersfoort;lid${i}@example.nl;Senior;215,00;2027;02-01-2027\n`,
  );
}

const profile = process.env['BENCH_PROFILE'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_PROFILE']}`] : [];
const children: ChildProcess[] = [];
for (let n = 1; n <= nodeCount; n++) {
  const ready = url
    ? async () => {
        const r = await reader();
        try {
          return (await count(r, `SELECT COUNT(*) FROM nodes WHERE id = 'bench-${n}'`)) === 1;
        } catch {
          return false; // the schema is not there yet
        } finally {
          await r.close();
        }
      }
    : undefined;
  children.push(await gateway.start(profile, { IGW_NODE_ID: `bench-${n}` }, ready));
}
const db = await reader();
await settled();

// the operator watching: the overview page and the deliveries list, every second
const polls: number[] = [];
let polling = false;
let poller: Promise<void> | undefined;
if (consolePort) {
  await new UserStore(join(gateway.config, 'console-users.yaml')).set('watcher', { role: 'viewer', password: 'watcher-password-1' });
  const client = new ApiClient(`http://127.0.0.1:${consolePort}`);
  while ((await client.login('watcher', 'watcher-password-1').catch(() => 0)) !== 200) await new Promise((r) => setTimeout(r, 100));
  polling = true;
  poller = (async () => {
    while (polling) {
      const started = performance.now();
      for (const path of ['/', '/deliveries']) {
        const response = await client.request('GET', path);
        await response.text();
        if (response.status !== 200) throw new Error(`console ${path}: ${response.status}`);
      }
      polls.push(performance.now() - started);
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
}

// Drop: rename each prepared file into the inbox (how most legacy software finishes a write).
const dropped = new Map<string, number>();
const dropStart = Date.now();
for (let i = 0; i < files; i++) {
  const name = `contributie_${i}.csv`;
  renameSync(join(staging, name), join(inbox, name));
  dropped.set(name, Date.now());
}
const dropEnd = Date.now();

for (;;) {
  const done = await count(db, "SELECT COUNT(*) AS n FROM files WHERE state = 'done'");
  const sent = await count(db, "SELECT COUNT(*) AS n FROM deliveries WHERE state = 'sent'");
  if (done >= files && sent >= files) break;
  const failed = await count(db, "SELECT COUNT(*) AS n FROM files WHERE state <> 'done' AND state <> 'processing'");
  if (failed > 0) throw new Error(`${failed} files were not processed cleanly; see ${join(root, 'data', 'gateway.log')}`);
  if (Date.now() - dropStart > 900_000) throw new Error(`timeout: ${done} files done, ${sent} sent`);
  // the times come from the ledger's rows, not from this loop: it only needs to notice the end
  await new Promise((r) => setTimeout(r, 250));
}
polling = false;
await poller;
const rows = await db.rows<{ name: string; claimed_at: string; finished_at: string }>('SELECT name, claimed_at, finished_at FROM files');
const lastSent = Date.parse((await db.rows<{ t: string }>('SELECT MAX(sent_at) AS t FROM deliveries'))[0]!.t);
await db.close();
for (const child of children) child.kill('SIGTERM');
await Promise.all(children.map((child) => new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)))));
let perFile: { statements: number; transactions: number } | undefined;
if (url) {
  // the nodes' sessions have ended, so their transaction counts are in the statistics
  const stats = new pg.Client({ connectionString: url });
  await stats.connect();
  const [st] = (
    await stats.query(`SELECT SUM(calls) AS n FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`)
  ).rows as { n: string }[];
  const [tx] = (await stats.query('SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()')).rows as { n: string }[];
  if (process.env['BENCH_PG_TOP']) {
    // where the server's time went, for whoever tunes the ledger's statements
    const top = await stats.query(
      `SELECT calls, round(total_exec_time) AS ms, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS q FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 10`,
    );
    for (const r of top.rows as { calls: unknown; ms: unknown; q: string }[])
      process.stderr.write(`${String(r.ms).padStart(7)} ms ${String(r.calls).padStart(7)}× ${r.q}\n`);
  }
  await stats.end();
  perFile = { statements: (Number(st!.n) - ownQueries) / files, transactions: (Number(tx!.n) - ownQueries) / files };
}
await server?.stop();
rmSync(root, { recursive: true, force: true });

const latencies = rows.map((r) => Date.parse(r.finished_at) - (dropped.get(r.name) ?? dropStart) - stableMs).sort((a, b) => a - b);
const processing = rows.map((r) => Date.parse(r.finished_at) - Date.parse(r.claimed_at)).sort((a, b) => a - b);
const pctOf = (list: number[], p: number) => list[Math.min(list.length - 1, Math.floor((p / 100) * list.length))]!;
const pct = (p: number) => pctOf(latencies, p);
const lastArchived = Math.max(...rows.map((r) => Date.parse(r.finished_at)));
const seconds = (lastArchived - dropStart - stableMs) / 1000;
process.stdout.write(
  `${JSON.stringify({ files, kind, nodes: nodeCount, dropSeconds: (dropEnd - dropStart) / 1000, seconds, filesPerSecond: files / seconds, p50: pct(50), p99: pct(99), claimToArchiveP50: pctOf(processing, 50), claimToArchiveP99: pctOf(processing, 99), fileConcurrency: Number(process.env['BENCH_FILE_CONCURRENCY'] ?? (url ? 32 : 16)), allSentSeconds: (lastSent - dropStart - stableMs) / 1000, consolePolls: polls.length, consolePollP95: polls.sort((a, b) => a - b)[Math.floor(polls.length * 0.95)] ?? 0, ...(perFile ? { perFile } : {}) })}\n`,
);
