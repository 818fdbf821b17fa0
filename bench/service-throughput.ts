/**
 * 10,000 single-invoice files dropped at once into a running gateway (child process, folder transport).
 * Prints files/s through the whole service and drop-to-archive latency p50/p99, stability wait excluded.
 *   node dist/bench/service-throughput.js [files]
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { benchGateway } from './support.js';

const files = Number(process.argv[2] ?? 10_000);
const stableMs = 200;
const gateway = benchGateway(
  'service',
  (root, base) => ({
    watch: { stableFor: `${stableMs}ms`, rescanEvery: '30s', concurrency: Number(process.env['BENCH_FILE_CONCURRENCY'] ?? 16) },
    outbox: { concurrency: 16, pollInterval: '100ms' },
    targets: { ...(base['targets'] as object), out: { kind: 'folder', path: join(root, 'out') } },
  }),
  { defaults: { paymentTermsDays: 30, routes: [{ format: 'json', transport: 'folder', target: 'out' }] } },
);
const root = gateway.root;

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
const child = await gateway.start(profile);
const ledgerFile = gateway.ledgerFile;

// Drop: rename each prepared file into the inbox (how most legacy software finishes a write).
const dropped = new Map<string, number>();
const dropStart = Date.now();
for (let i = 0; i < files; i++) {
  const name = `contributie_${i}.csv`;
  renameSync(join(staging, name), join(inbox, name));
  dropped.set(name, Date.now());
}
const dropEnd = Date.now();

const db = new Database(ledgerFile, { readonly: true });
const countSent = db.prepare("SELECT COUNT(*) AS n FROM deliveries WHERE state = 'sent'");
const countDone = db.prepare("SELECT COUNT(*) AS n FROM files WHERE state = 'done'");
const countFailed = db.prepare("SELECT COUNT(*) AS n FROM files WHERE state <> 'done' AND state <> 'processing'");
for (;;) {
  const done = (countDone.get() as { n: number }).n;
  const sent = (countSent.get() as { n: number }).n;
  if (done >= files && sent >= files) break;
  const failed = (countFailed.get() as { n: number }).n;
  if (failed > 0) throw new Error(`${failed} files were not processed cleanly; see ${join(root, 'data', 'gateway.log')}`);
  if (Date.now() - dropStart > 600_000) throw new Error(`timeout: ${done} files done, ${sent} sent`);
  await new Promise((r) => setTimeout(r, 100));
}
const rows = db.prepare('SELECT name, claimed_at, finished_at FROM files').all() as { name: string; claimed_at: string; finished_at: string }[];
const lastSent = Date.parse((db.prepare('SELECT MAX(sent_at) AS t FROM deliveries').get() as { t: string }).t);
db.close();
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
rmSync(root, { recursive: true, force: true });

const latencies = rows.map((r) => Date.parse(r.finished_at) - (dropped.get(r.name) ?? dropStart) - stableMs).sort((a, b) => a - b);
const processing = rows.map((r) => Date.parse(r.finished_at) - Date.parse(r.claimed_at)).sort((a, b) => a - b);
const pctOf = (list: number[], p: number) => list[Math.min(list.length - 1, Math.floor((p / 100) * list.length))]!;
const pct = (p: number) => pctOf(latencies, p);
const lastArchived = Math.max(...rows.map((r) => Date.parse(r.finished_at)));
const seconds = (lastArchived - dropStart - stableMs) / 1000;
process.stdout.write(
  `${JSON.stringify({ files, dropSeconds: (dropEnd - dropStart) / 1000, seconds, filesPerSecond: files / seconds, p50: pct(50), p99: pct(99), claimToArchiveP50: pctOf(processing, 50), claimToArchiveP99: pctOf(processing, 99), fileConcurrency: Number(process.env['BENCH_FILE_CONCURRENCY'] ?? 16), allSentSeconds: (lastSent - dropStart - stableMs) / 1000 })}\n`,
);
